"""In-vitro IL-1β chondrocyte assay (± exosomes / MSC-conditioned medium, ± macrophages) and the
human chondrocyte toxicity experiment.

Readouts at the chosen hours: relative expression (2^-ΔΔCt vs the control wells of the same
culture) of MMP13, ADAMTS5, COL2A1, ACAN, IL6, NOS2 (iNOS), defined in
:mod:`oasim.experiments.measures`, and CCK-8-style viability (% of control). Statistics: ANOVA,
then Dunnett against the reference group (IL-1β alone by default) or Tukey HSD.

References: He2020, Wang2017, Zhou2021 (directions), MarreroBerrios2024 (co-culture),
ISO10993part5 (cytotoxicity threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from . import bench, measures
from .systems import System
from .wells import WellGroup, at_times, simulate_groups

VIABILITY = "viability_pct"


def _is_untreated(g: WellGroup) -> bool:
    return g.exosome_particles_per_ml == 0 and g.conditioned_medium_fraction == 0


def control_of(group: WellGroup, groups: tuple[WellGroup, ...]) -> WellGroup:
    """The control wells of ``group``'s culture type (no IL-1β, no treatment, same macrophages)."""
    for g in groups:
        if g.macrophages == group.macrophages and g.il1b_ng_per_ml == 0 and _is_untreated(g):
            return g
    return next(g for g in groups if g.macrophages == group.macrophages)


@dataclass(frozen=True)
class AssayDesign:
    """An IL-1β chondrocyte assay: groups of wells, readout times, n and the comparison."""

    groups: tuple[WellGroup, ...]
    system: str = "invitro_mouse_chondrocyte"
    readout_hours: tuple[float, ...] = (24.0, 48.0, 72.0)
    n_wells: int = 3
    pretreatment_h: float = 0.0
    reference_group: str | None = None
    method: Literal["dunnett", "tukey"] = "dunnett"
    genes: tuple[str, ...] = measures.GENES

    @property
    def reference(self) -> str:
        """Named reference, else the first IL-1β-only group, else the first group."""
        if self.reference_group:
            return self.reference_group
        stimulated = [g for g in self.groups if g.il1b_ng_per_ml > 0 and _is_untreated(g)]
        return (stimulated or list(self.groups))[0].name


@dataclass(frozen=True)
class AssayResult:
    """Simulated bench data of an assay: noise-free expectations, wells and statistics."""

    design: AssayDesign
    expected: pd.DataFrame  # group, hour, readout, value (noise-free fold change or % viability)
    wells: pd.DataFrame  # group, hour, readout, well, value
    stats: pd.DataFrame  # hour, readout, group, reference, mean_difference, p_value, test, anova_p
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.wells

    def group_table(self) -> pd.DataFrame:
        """Mean ± SD per group, hour and readout, with the p-value against the reference."""
        g = self.wells.groupby(["hour", "readout", "group"], sort=False)["value"]
        table = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.size()}).reset_index()
        p = self.stats[["hour", "readout", "group", "p_value"]]
        return table.merge(p, on=["hour", "readout", "group"], how="left")

    def summary(self) -> str:
        table = self.group_table()
        lines = [f"IL-1β assay on {self.design.system}: n = {self.design.n_wells} wells per group; "
                 f"fold change 2^-ΔΔCt vs control, viability % of control; "
                 f"p vs '{self.design.reference}' ({self.design.method} on log2 fold / %)"]
        for (hour, readout), block in table.groupby(["hour", "readout"], sort=False):
            lines.append(f"  {readout} at {hour:g} h")
            for _, r in block.iterrows():
                p = "" if pd.isna(r.p_value) else f"  p = {r.p_value:.3g} {bench.stars(r.p_value)}"
                lines.append(f"    {r.group:<28s} {r['mean']:8.3g} ± {r.sd:.2g}{p}")
        return "\n".join(lines)


def expected_readouts(system: System, design: AssayDesign, solver=None) -> pd.DataFrame:
    """Noise-free readouts of every group: fold change vs its culture's control and viability."""
    groups = design.groups
    t_end = max(design.readout_hours) / 24.0
    sol, params = simulate_groups(system, groups, t_end, design.pretreatment_h, solver=solver)
    readouts = {k: p.value for k, p in system.readouts.items()}
    days = np.asarray(design.readout_hours) / 24.0
    index = {g.name: i for i, g in enumerate(groups)}
    rows = []
    values = {gene: at_times(sol, measures.mrna_rel(gene, sol, params, readouts), days) for gene in design.genes}
    toxicity = measures.exosome_viability_factor([g.exosome_particles_per_ml for g in groups],
                                                 readouts["exosome_tc50_particles_per_ml"],
                                                 readouts["exosome_toxicity_hill"])
    values[VIABILITY] = at_times(sol, measures.viable_cells_rel(sol), days) * toxicity[:, None]
    for g in groups:
        c = index[control_of(g, groups).name]
        for readout, v in values.items():
            for j, hour in enumerate(design.readout_hours):
                rel = v[index[g.name], j] / v[c, j]
                rows.append((g.name, float(hour), readout, 100.0 * rel if readout == VIABILITY else rel))
    return pd.DataFrame(rows, columns=["group", "hour", "readout", "value"])


def run_il1b_assay(design: AssayDesign, rng: np.random.Generator, seed: int | None = None,
                   solver=None) -> AssayResult:
    """Simulate the assay: expectations from the model, wells with bench noise, statistics."""
    system = System.load(design.system)
    expected = expected_readouts(system, design, solver)
    r = system.value
    n, n_tech = design.n_wells, int(r("qpcr_technical_replicates"))
    well_rows, stat_frames = [], []
    lookup = expected.set_index(["group", "hour", "readout"])["value"]
    for hour in design.readout_hours:
        for readout in (*design.genes, VIABILITY):
            per_group, control_ct = {}, {}
            for g in sorted(design.groups, key=lambda g: g is not control_of(g, design.groups)):
                value = lookup[(g.name, float(hour), readout)]
                if readout == VIABILITY:
                    raw = bench.viability_pct(value, n, r("viability_biological_cv"),
                                              r("viability_technical_cv"), n_tech, rng)
                    per_group[g.name] = raw
                else:
                    ctrl = control_of(g, design.groups).name
                    fold, dct = bench.qpcr_log2_fold(value, 1.0, n, r("well_biological_sd_log2"),
                                                     r("qpcr_technical_sd_ct"), n_tech, rng, control_ct.get(ctrl))
                    if g.name == ctrl:
                        control_ct[ctrl] = dct
                    per_group[g.name] = fold
            if readout == VIABILITY:  # % of the mean control well of the same culture
                for g in design.groups:
                    ctrl = per_group[control_of(g, design.groups).name]
                    per_group[g.name] = per_group[g.name] * (100.0 / np.mean(ctrl))
            comparison = bench.compare_groups(per_group, design.reference, design.method)
            comparison.insert(0, "readout", readout)
            comparison.insert(0, "hour", float(hour))
            stat_frames.append(comparison)
            for name, vals in per_group.items():
                shown = vals if readout == VIABILITY else 2.0 ** vals
                for w, v in enumerate(shown):
                    well_rows.append((name, float(hour), readout, w + 1, float(v)))
    wells = pd.DataFrame(well_rows, columns=["group", "hour", "readout", "well", "value"])
    order = {g.name: i for i, g in enumerate(design.groups)}
    wells = wells.sort_values(["hour", "readout", "group"], key=lambda s: s.map(order) if s.name == "group" else s,
                              kind="stable").reset_index(drop=True)
    return AssayResult(design, expected, wells, pd.concat(stat_frames, ignore_index=True), seed)


@dataclass(frozen=True)
class ToxicityResult:
    """Viability across an exosome concentration range."""

    system: str
    hours: float
    table: pd.DataFrame  # concentration_per_ml, well, viability_pct
    stats: pd.DataFrame  # Dunnett vs vehicle on % viability
    highest_non_toxic_per_ml: float | None
    ic50_per_ml: float | None
    threshold_pct: float = 70.0
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        g = self.table.groupby("concentration_per_ml")["viability_pct"]
        lines = [f"Toxicity on {self.system} at {self.hours:g} h (cytotoxic below {self.threshold_pct:g}% "
                 "of vehicle, ISO 10993-5; Dunnett vs vehicle)"]
        p = dict(zip(self.stats["group"], self.stats["p_value"]))
        for c, v in g:
            pv = p.get(f"{c:.3g}")
            lines.append(f"  {c:10.3g} /mL  {v.mean():6.1f} ± {v.std(ddof=1):4.1f} %"
                         + ("" if pv is None else f"  p = {pv:.3g}"))
        hnt = "none" if self.highest_non_toxic_per_ml is None else f"{self.highest_non_toxic_per_ml:.3g} particles/mL"
        ic = "not reached" if self.ic50_per_ml is None else f"{self.ic50_per_ml:.3g} particles/mL"
        lines.append(f"  highest non-toxic concentration: {hnt}; IC50: {ic}")
        return "\n".join(lines)


def run_toxicity(concentrations_per_ml, rng: np.random.Generator, system: str = "invitro_human_chondrocyte",
                 hours: float = 48.0, n_wells: int = 6, seed: int | None = None, solver=None) -> ToxicityResult:
    """Viability of unstimulated chondrocytes across exosome concentrations (vehicle = 0).

    Highest non-toxic concentration: the highest tested concentration whose mean viability is
    at least the ISO 10993-5 threshold and not significantly below vehicle (Dunnett, p ≥ 0.05),
    with every lower concentration non-toxic too. IC50: log-linear interpolation where the mean
    crosses 50 %, if it does.
    """
    conc = sorted({0.0, *map(float, concentrations_per_ml)})
    groups = tuple(WellGroup(f"{c:.3g}", exosome_particles_per_ml=c) for c in conc)
    design = AssayDesign(groups, system, (hours,), n_wells, genes=())
    sysobj = System.load(system)
    expected = expected_readouts(sysobj, design, solver)
    r = sysobj.value
    values = {}
    for g in groups:
        v = expected[(expected.group == g.name) & (expected.readout == VIABILITY)]["value"].iloc[0]
        values[g.name] = bench.viability_pct(v, n_wells, r("viability_biological_cv"), r("viability_technical_cv"),
                                             int(r("qpcr_technical_replicates")), rng)
    scale = 100.0 / np.mean(values[groups[0].name])
    values = {k: v * scale for k, v in values.items()}
    stats_frame = bench.compare_groups(values, groups[0].name, "dunnett")
    p = dict(zip(stats_frame["group"], stats_frame["p_value"]))
    threshold = r("cytotoxic_viability_pct")
    highest = None
    for c, g in zip(conc[1:], groups[1:]):
        significant_drop = p.get(g.name, 1.0) < 0.05 and np.mean(values[g.name]) < 100.0
        if np.mean(values[g.name]) < threshold or significant_drop:
            break
        highest = c
    means = np.array([np.mean(values[g.name]) for g in groups])
    ic50 = None
    below = np.flatnonzero(means < 50.0)
    if below.size and below[0] > 0:
        k = below[0]
        x0, x1 = np.log10(max(conc[k - 1], conc[1] / 10)), np.log10(conc[k])
        ic50 = float(10 ** (x0 + (means[k - 1] - 50.0) / (means[k - 1] - means[k]) * (x1 - x0)))
    table = pd.DataFrame([(c, w + 1, float(v)) for c, g in zip(conc, groups) for w, v in enumerate(values[g.name])],
                         columns=["concentration_per_ml", "well", "viability_pct"])
    return ToxicityResult(system, hours, table, stats_frame, highest, ic50, threshold, seed)
