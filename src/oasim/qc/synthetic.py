"""Synthetic lot data with known answers: FCS tubes (written by flowio), NTA, BCA, Western.

Used by ``examples/make_lot_demo.py`` and the tests. Every number here is made up to exercise
the QC code, not taken from a real lot.

Flow model: each tube has FSC-A, SSC-A and fluorescence channels. Per channel, exactly
``round(fraction * n_events)`` events are drawn from a bright log-normal (positive) and the
rest from the dim log-normal an isotype control also uses, plus Gaussian electronic noise.
True intensities are mixed through the spillover matrix (observed = true @ S) and the matrix
is stored as ``$SPILLOVER``, so compensation recovers them. Gating at the control's 99th
percentile therefore reports about ``100 * (f + (1 - f) * 0.01)`` % positive.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from oasim.extras import require

#: Fluorochrome detectors and a plausible spillover matrix (row: dye, column: detector).
DETECTORS = ("FITC-A", "PE-A", "PerCP-Cy5-5-A", "APC-A", "BV421-A")
SPILLOVER = np.array([
    [1.000, 0.180, 0.030, 0.000, 0.010],
    [0.010, 1.000, 0.120, 0.005, 0.000],
    [0.000, 0.020, 1.000, 0.080, 0.000],
    [0.000, 0.000, 0.060, 1.000, 0.000],
    [0.020, 0.005, 0.000, 0.000, 1.000],
])
#: Two tubes: {marker: detector}. Positive panel in 3 colours, negative panel in 5.
POSITIVE_TUBE = {"CD90": "FITC-A", "CD105": "PE-A", "CD73": "APC-A"}
NEGATIVE_TUBE = {"CD45": "FITC-A", "CD34": "PE-A", "CD14": "PerCP-Cy5-5-A", "CD19": "APC-A",
                 "HLA-DR": "BV421-A"}
NEGATIVE_MEDIAN, NEGATIVE_SIGMA = 120.0, 0.6
POSITIVE_MEDIAN, POSITIVE_SIGMA = 2.5e4, 0.45
NOISE_SD = 20.0


def write_tube(
    path: str | Path,
    fractions: Mapping[str, float],
    rng: np.random.Generator,
    n_events: int = 3000,
    labels: Mapping[str, str] | None = None,
    spillover: bool = True,
) -> Path:
    """Write one synthetic FCS 3.1 tube with known positive fractions per detector.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file.
    fractions : mapping
        {detector $PnN: fraction of events positive}; 0 for an isotype/FMO control.
    rng : numpy.random.Generator
    n_events : int
    labels : mapping, optional
        {detector: $PnS label}, e.g. ``{"PE-A": "CD105 PE"}``.
    spillover : bool, default True
        Mix channels through :data:`SPILLOVER` and store it as ``$SPILLOVER``.
    """
    flowio = require("flowio", "writing FCS files")

    detectors = [d for d in DETECTORS if d in fractions]
    idx = [DETECTORS.index(d) for d in detectors]
    true = np.empty((n_events, len(detectors)))
    for j, det in enumerate(detectors):
        n_pos = int(round(fractions[det] * n_events))
        values = np.concatenate([
            rng.lognormal(np.log(POSITIVE_MEDIAN), POSITIVE_SIGMA, n_pos),
            rng.lognormal(np.log(NEGATIVE_MEDIAN), NEGATIVE_SIGMA, n_events - n_pos),
        ])
        true[:, j] = rng.permutation(values)
    matrix = SPILLOVER[np.ix_(idx, idx)] if spillover else np.eye(len(idx))
    observed = true @ matrix + rng.normal(0.0, NOISE_SD, true.shape)
    scatter = np.column_stack([rng.normal(9e4, 1.5e4, n_events), rng.normal(4e4, 8e3, n_events)])
    events = np.column_stack([np.clip(scatter, 1.0, None), observed]).astype(np.float32)
    names = ["FSC-A", "SSC-A", *detectors]
    labels = dict(labels or {})
    meta = {}
    if spillover:
        cells = ",".join(f"{v:.4f}" for v in matrix.ravel())
        meta["SPILLOVER"] = f"{len(detectors)},{','.join(detectors)},{cells}"
    path = Path(path)
    with open(path, "wb") as handle:
        flowio.create_fcs(handle, events.ravel().tolist(), names,
                          opt_channel_names=[labels.get(n, n) for n in names], metadata_dict=meta)
    return path


def nta_table(rng: np.random.Generator, particles_per_ml_measured: float,
              median_nm: float = 115.0, sigma: float = 0.35) -> pd.DataFrame:
    """Log-normal NTA distribution in 5-nm bins (2.5-797.5 nm) with 3 % counting noise."""
    size = np.arange(2.5, 800.0, 5.0)
    density = np.exp(-((np.log(size) - np.log(median_nm)) ** 2) / (2 * sigma**2)) / size
    conc = density / density.sum() * particles_per_ml_measured
    conc *= np.clip(1 + 0.03 * rng.standard_normal(size.size), 0, None)
    return pd.DataFrame({"size_nm": size, "concentration_particles_per_ml": conc.round(0)})


def bca_table(rng: np.random.Generator, protein_ug_per_ml: float, dilution: float) -> pd.DataFrame:
    """BCA plate: BSA standards in duplicate and the exosome sample in triplicate."""
    slope, blank = 0.00105, 0.095
    std = np.repeat([0, 25, 125, 250, 500, 750, 1000, 1500, 2000], 2).astype(float)
    rows = [("standard", "BSA", c, blank + slope * c + rng.normal(0, 0.004), 1) for c in std]
    rows += [("sample", "exosome", np.nan,
              blank + slope * protein_ug_per_ml / dilution + rng.normal(0, 0.004), dilution)
             for _ in range(3)]
    frame = pd.DataFrame(rows, columns=["kind", "name", "protein_ug_per_ml", "absorbance_562nm",
                                        "dilution_factor"])
    frame["absorbance_562nm"] = frame["absorbance_562nm"].round(4)
    return frame


def western_table(rng: np.random.Generator, calnexin_in_exosome: float = 1.4) -> pd.DataFrame:
    """Densitometry: exosome, cell lysate and blank lanes for CD9, CD63, TSG101, calnexin.

    ``calnexin_in_exosome`` is the calnexin exosome-lane signal over blank.
    """
    spec = {"CD9": (37.5, 8.0), "CD63": (38.7, 5.5), "TSG101": (18.7, 11.8),
            "calnexin": (calnexin_in_exosome, 30.3)}
    rows = []
    for protein, (exo, lysate) in spec.items():
        blank = rng.uniform(900, 1200)
        rows += [(protein, "exosome", round(blank * exo), 10),
                 (protein, "cell_lysate", round(blank * lysate), 10),
                 (protein, "blank", round(blank), 0)]
    return pd.DataFrame(rows, columns=["protein", "lane", "intensity", "loaded_ug"])


def trilineage_table(rng: np.random.Generator, fold_scale: float = 1.0) -> pd.DataFrame:
    """Three wells per condition; ``fold_scale`` < 1 shrinks the induced-over-control effect."""
    spec = [("osteogenic", "Alizarin Red S (OD405)", 0.85, 0.12),
            ("adipogenic", "Oil Red O (OD510)", 0.62, 0.09),
            ("chondrogenic", "Alcian Blue (OD620)", 0.48, 0.11),
            ("chondrogenic", "COL2 immunofluorescence (% area)", 34.0, 3.0)]
    rows = []
    for lineage, stain, induced, control in spec:
        induced = control + (induced - control) * fold_scale
        for condition, mean in (("induced", induced), ("control", control)):
            for rep in (1, 2, 3):
                value = max(mean * (1 + 0.08 * rng.standard_normal()), 0.0)
                rows.append((lineage, stain, condition, rep, round(value, 4)))
    return pd.DataFrame(rows, columns=["lineage", "stain", "condition", "replicate", "value"])


_LOT_TOML = """\
# Lot description for `oasim qc` (layout: see oasim.qc.lot). Synthetic demo lot written by
# examples/make_lot_demo.py; every number is made up.
[lot]
id = "{lot_id}"
product = "exosome"
msc_lot = "{msc_lot}"
source = "hUC-MSC, Wharton's jelly, passage 4 (synthetic)"
potency_relative = {potency}
potency_assay = "suppression of IL-1b-induced MMP-13 in human chondrocytes, EC50 ratio vs reference lot EXO-REF-01"

[flow]
gating = "control_p99"
control_percentile = 99.0

[flow.markers]
{markers}

[nta]
dilution_factor = {nta_dilution}

[misev]
{misev}
"""

_MISEV_FULL = {
    "source_and_culture": "hUC-MSC P4, 48 h serum-free conditioning, viability 96% at harvest",
    "starting_material": "500 mL conditioned medium from 1.2e8 cells",
    "separation_method": "differential centrifugation + 100,000 g x 70 min ultracentrifugation",
    "single_ev_imaging": "TEM negative stain: cup-shaped vesicles, wide field and close up",
    "storage": "PBS, -80 C, single freeze-thaw before use",
    "non_vesicular_particles": "",
    "data_sharing": "",
}


def write_demo_lot(folder: str | Path, lot_id: str, seed: int, cd105_fraction: float = 0.985,
                   particles_per_ml: float = 2.4e12, protein_ug_per_ml: float = 200.0,
                   potency: float = 1.0, misev: Mapping[str, str] | None = None) -> Path:
    """Write a complete synthetic lot folder (lot.toml, flow/, CSVs) with one seeded rng.

    Parameters
    ----------
    folder : str or pathlib.Path
        Created if needed; existing files are overwritten.
    lot_id : str
    seed : int
        Seed of the single ``numpy.random.default_rng`` used for every file.
    cd105_fraction : float
        True CD105-positive fraction (0.93 gives the ISCT failure).
    particles_per_ml, protein_ug_per_ml : float
        Undiluted NTA concentration and BCA protein; their ratio is the lot's purity.
    potency : float
        ``potency_relative`` written to lot.toml.
    misev : mapping, optional
        Declared MISEV items (default: a typical set, lacking two items).
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    flow = folder / "flow"
    flow.mkdir(parents=True, exist_ok=True)
    positive = {"CD90": 0.992, "CD105": cd105_fraction, "CD73": 0.996}
    negative = {"CD45": 0.001, "CD34": 0.002, "CD14": 0.002, "CD19": 0.001, "HLA-DR": 0.003}
    tubes = {
        "msc_positive_panel.fcs": (POSITIVE_TUBE, positive),
        "isotype_positive_panel.fcs": (POSITIVE_TUBE, {m: 0.0 for m in positive}),
        "msc_negative_panel.fcs": (NEGATIVE_TUBE, negative),
        "isotype_negative_panel.fcs": (NEGATIVE_TUBE, {m: 0.0 for m in negative}),
    }
    lines = []
    for name, (tube, fractions) in tubes.items():
        labels = {tube[m]: f"{'isotype' if name.startswith('iso') else m} {tube[m][:-2]}"
                  for m in tube}
        write_tube(flow / name, {tube[m]: f for m, f in fractions.items()}, rng, labels=labels)
        if name.startswith("msc_"):
            control = name.replace("msc_", "isotype_")
            lines += [f'{m} = {{ file = "{name}", channel = "{tube[m]}", control = "{control}" }}'
                      for m in tube]
    nta_dilution = 1000.0
    nta_table(rng, particles_per_ml / nta_dilution).to_csv(folder / "nta.csv", index=False)
    bca_table(rng, protein_ug_per_ml, dilution=2.0).to_csv(folder / "bca.csv", index=False)
    western_table(rng).to_csv(folder / "western.csv", index=False)
    trilineage_table(rng).to_csv(folder / "trilineage.csv", index=False)
    declared = _MISEV_FULL if misev is None else misev
    text = _LOT_TOML.format(
        lot_id=lot_id, msc_lot=lot_id.replace("EXO", "MSC"), potency=potency,
        markers="\n".join(lines), nta_dilution=nta_dilution,
        misev="\n".join(f'{k} = "{v}"' for k, v in declared.items()),
    )
    (folder / "lot.toml").write_text(text, encoding="utf-8")
    return folder
