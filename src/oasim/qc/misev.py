"""MISEV2018 / MISEV2023 reporting checklist for an exosome (small EV) lot.

The items paraphrase the characterisation and reporting asks of MISEV2018 (Théry et al. 2018;
its checklist and Table 3: quantification by two methods and their ratio, a transmembrane
and a cytosolic EV protein, a contaminant check, single-EV imaging plus a non-imaging
single-particle method) and MISEV2023 (Welsh et al. 2024: the same core, plus emphasis on
source and culture reporting, non-vesicular co-isolates, storage, and data sharing such as
EV-TRACK). They are a reading aid, not the guidelines' wording; check the papers for the full
text. Items the lot folder's data prove are filled in automatically; the rest are taken
from the ``[misev]`` table of ``lot.toml`` (``key = "evidence"``; empty or ``false`` = lacks).
The checklist informs the release report; it does not gate release.

References
----------
Thery2018, Welsh2024 (see :mod:`oasim.qc.criteria`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from oasim.qc.nta import NtaResult
from oasim.qc.protein import BcaResult, WesternResult

#: (key, guideline, topic, requirement); keys without auto evidence are read from lot.toml.
ITEMS = (
    ("source_and_culture", "MISEV2018/2023", "Collection",
     "EV source described: cell type, passage, donor, conditioning medium (EV-depleted or "
     "serum-free), time and cell viability at harvest"),
    ("starting_material", "MISEV2018/2023", "Collection",
     "Amount of starting material: volume of conditioned medium and/or number of producing cells"),
    ("separation_method", "MISEV2018/2023", "Separation",
     "Separation/concentration method with parameters (e.g. g-force, time, rotor; SEC column; TFF)"),
    ("particle_quantification", "MISEV2018/2023", "Quantification",
     "Particle number per volume (e.g. NTA, TRPS)"),
    ("protein_quantification", "MISEV2018/2023", "Quantification",
     "Total protein (e.g. BCA) per volume"),
    ("quantification_ratio", "MISEV2018/2023", "Quantification",
     "Ratio of two quantification metrics as a purity indicator (particles/ug protein)"),
    ("transmembrane_marker", "MISEV2018/2023", "Protein markers",
     "At least one transmembrane/GPI-anchored EV protein (e.g. CD9, CD63, CD81)"),
    ("cytosolic_marker", "MISEV2018/2023", "Protein markers",
     "At least one cytosolic EV protein (e.g. TSG101, ALIX, syntenin)"),
    ("contaminant_marker", "MISEV2018/2023", "Protein markers",
     "Presence/absence of expected non-EV contaminants (e.g. calnexin, GRP94; lipoproteins)"),
    ("single_particle_analysis", "MISEV2018/2023", "Single EVs",
     "Non-imaging single-particle method over many EVs (e.g. NTA, TRPS, high-resolution flow)"),
    ("single_ev_imaging", "MISEV2018/2023", "Single EVs",
     "Images of single EVs, wide field and close up (e.g. TEM, cryo-EM, AFM)"),
    ("non_vesicular_particles", "MISEV2023", "Separation",
     "Assessment of co-isolated non-vesicular extracellular particles (e.g. lipoproteins, "
     "protein aggregates)"),
    ("storage", "MISEV2023", "Storage",
     "Storage conditions: buffer, temperature, duration, freeze-thaw cycles before use"),
    ("functional_controls", "MISEV2018/2023", "Function",
     "Functional/potency assay with dose-response and negative controls"),
    ("data_sharing", "MISEV2023", "Reporting",
     "Methods and data deposited/shared (e.g. EV-TRACK, EV-specific repositories)"),
)


@dataclass(frozen=True)
class MisevChecklist:
    """The checklist with what this lot has and lacks.

    Attributes
    ----------
    table : pandas.DataFrame
        key, guideline, topic, requirement, status ("has"/"lacks"), evidence.
    """

    table: pd.DataFrame

    @property
    def lacking(self) -> list[str]:
        """Keys of the items this lot lacks."""
        return self.table.loc[self.table.status == "lacks", "key"].tolist()

    def to_frame(self) -> pd.DataFrame:
        """The checklist table."""
        return self.table.copy()

    def summary(self) -> str:
        """Counts and the lacking items."""
        n = len(self.table)
        return f"MISEV checklist: {n - len(self.lacking)}/{n} reported; lacks: " + (
            ", ".join(self.lacking) or "nothing"
        )


def _western_evidence(western: WesternResult | None, names: tuple[str, ...], want: bool) -> str:
    if western is None:
        return ""
    t = western.table
    rows = t[t.protein.str.lower().isin([n.lower() for n in names]) & t.note.ne("not measured")]
    if want:
        hits = rows.loc[rows.detected, "protein"].tolist()
        return f"Western: {', '.join(hits)} detected" if hits else ""
    return "; ".join(
        f"Western: {r.protein} {'DETECTED' if r.detected else 'not detected'}"
        for r in rows.itertuples()
    )


def build_checklist(
    declared: dict,
    nta: NtaResult | None = None,
    bca: BcaResult | None = None,
    western: WesternResult | None = None,
    potency_assay: str = "",
) -> MisevChecklist:
    """Fill the MISEV checklist from the lot's measurements and declared items.

    Parameters
    ----------
    declared : dict
        The ``[misev]`` table of ``lot.toml``: {item key: evidence text}.
    nta, bca, western : optional
        The lot's results; an absent one leaves its items lacking unless declared.
    potency_assay : str
        The lot's potency assay (fills ``functional_controls`` when not declared).

    Returns
    -------
    MisevChecklist
    """
    auto = {
        "particle_quantification": f"NTA: {nta.particles_per_ml:.3g} particles/mL" if nta else "",
        "protein_quantification": f"BCA: {bca.protein_ug_per_ml:.3g} ug/mL" if bca else "",
        "quantification_ratio": (
            f"{nta.particles_per_ml / bca.protein_ug_per_ml:.3g} particles/ug" if nta and bca else ""
        ),
        "transmembrane_marker": _western_evidence(western, ("CD9", "CD63", "CD81"), True),
        "cytosolic_marker": _western_evidence(western, ("TSG101", "ALIX", "syntenin"), True),
        "contaminant_marker": _western_evidence(western, ("calnexin", "GRP94", "ApoA1"), False),
        "single_particle_analysis": "NTA size distribution" if nta else "",
    }
    if potency_assay and potency_assay != "not stated":
        auto["functional_controls"] = f"potency assay: {potency_assay}"
    rows = []
    for key, guideline, topic, requirement in ITEMS:
        evidence = auto.get(key) or declared.get(key) or ""
        evidence = {False: "", True: "declared in lot.toml"}.get(evidence, evidence)
        evidence = str(evidence)
        rows.append(dict(key=key, guideline=guideline, topic=topic, requirement=requirement,
                         status="has" if evidence else "lacks", evidence=evidence))
    return MisevChecklist(pd.DataFrame(rows))
