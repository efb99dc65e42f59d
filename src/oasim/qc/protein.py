"""Exosome protein assays: BCA total protein (→ particles per µg) and Western blot markers.

BCA table (``bca.csv``), one row per well::

    kind,name,protein_ug_per_ml,absorbance_562nm,dilution_factor
    standard,BSA,0,0.095,1
    standard,BSA,250,0.331,1
    sample,exosome,,0.290,10

Standards (known ``protein_ug_per_ml``) give a least-squares straight line; each sample's
replicate-mean absorbance is read off it and multiplied by its dilution factor.

Western blot densitometry (``western.csv``), one row per band::

    protein,lane,intensity,loaded_ug
    CD9,exosome,41250,10
    CD9,cell_lysate,8800,10
    CD9,blank,1100,0

A band is *detected* when its intensity is at least 3x the blank lane of the same protein
(see :data:`oasim.qc.criteria.WESTERN_MIN_SIGNAL_TO_BACKGROUND`). CD9, CD63 and TSG101 must be
detected in the exosome lane; calnexin must not be, while being detected in the cell-lysate
lane (the positive control that shows the antibody works).

References
----------
WebberClayton2013, Thery2018 (see :mod:`oasim.qc.criteria`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oasim.errors import DataError
from oasim.qc.files import read_csv_table
from oasim.qc.criteria import (
    WESTERN_MIN_SIGNAL_TO_BACKGROUND,
    WESTERN_NEGATIVE_MARKERS,
    WESTERN_POSITIVE_MARKERS,
)


@dataclass(frozen=True)
class BcaResult:
    """Total protein of the exosome sample from a BCA assay.

    Attributes
    ----------
    protein_ug_per_ml : float
        Undiluted sample protein [µg/mL].
    slope_per_ug_per_ml, intercept : float
        Standard curve: absorbance = intercept + slope * protein.
    r_squared : float
        Fit of the standard curve.
    """

    protein_ug_per_ml: float
    slope_per_ug_per_ml: float
    intercept: float
    r_squared: float

    def to_frame(self) -> pd.DataFrame:
        """One-row table."""
        return pd.DataFrame([self.__dict__])


def read_bca(path: str | Path, sample: str | None = None) -> BcaResult:
    """Fit the BCA standard curve and quantify the exosome sample.

    Parameters
    ----------
    path : str or pathlib.Path
        ``bca.csv`` (layout in the module docstring).
    sample : str, optional
        Sample ``name`` to quantify; default: the only sample in the file.

    Returns
    -------
    BcaResult

    Raises
    ------
    oasim.errors.DataError
        Fewer than two standard concentrations, a non-increasing curve, no (or several)
        samples, or a sample protein ≤ 0.
    """
    path = Path(path)
    cols = ("kind", "name", "protein_ug_per_ml", "absorbance_562nm")
    frame = read_csv_table(path, cols, "BCA")
    kind = frame["kind"].astype(str).str.strip().str.lower()
    std = frame[kind == "standard"]
    conc = pd.to_numeric(std["protein_ug_per_ml"], errors="coerce").to_numpy()
    absorb = pd.to_numeric(std["absorbance_562nm"], errors="coerce").to_numpy()
    if np.isnan(conc).any() or np.isnan(absorb).any() or np.unique(conc).size < 2:
        raise DataError(path, "need numeric standards at >= 2 protein concentrations")
    slope, intercept = np.polyfit(conc, absorb, 1)
    if slope <= 0:
        raise DataError(path, "standard curve does not increase with protein")
    fitted = intercept + slope * conc
    r2 = 1.0 - np.sum((absorb - fitted) ** 2) / np.sum((absorb - absorb.mean()) ** 2)
    samples = frame[kind == "sample"]
    names = samples["name"].astype(str).str.strip().unique().tolist()
    if sample is None:
        if len(names) != 1:
            raise DataError(path, f"expected exactly one sample, found {names}")
        sample = names[0]
    rows = samples[samples["name"].astype(str).str.strip() == sample]
    if rows.empty:
        raise DataError(path, f"no sample named {sample!r}; samples are {names}")
    a = pd.to_numeric(rows["absorbance_562nm"], errors="coerce").mean()
    dil = 1.0
    if "dilution_factor" in rows:
        dil = float(pd.to_numeric(rows["dilution_factor"], errors="coerce").fillna(1.0).iloc[0])
    protein = (a - intercept) / slope * dil
    if not protein > 0:
        raise DataError(path, f"sample {sample!r} protein {protein:.3g} ug/mL is not > 0")
    return BcaResult(float(protein), float(slope), float(intercept), float(r2))


@dataclass(frozen=True)
class WesternResult:
    """EV marker calls from Western blot densitometry.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per protein: exosome/lysate/blank intensity, signal-to-background ratios,
        ``expected`` ("positive"/"negative"), ``detected`` and ``passed``.
    """

    table: pd.DataFrame

    @property
    def passed(self) -> bool:
        """True when every expected marker is present in the blot and called as expected."""
        return bool(self.table["passed"].all())

    def to_frame(self) -> pd.DataFrame:
        """The call table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text calls."""
        rows = [
            f"{r.protein:<9} exo S/B {r.exosome_signal_to_background:6.2f}  expected "
            f"{r.expected:<8} {'PASS' if r.passed else 'FAIL'} {r.note}".rstrip()
            for r in self.table.itertuples()
        ]
        return "\n".join(rows + [f"Western blot markers: {'PASS' if self.passed else 'FAIL'}"])


def read_western(path: str | Path) -> WesternResult:
    """Call EV markers from a Western densitometry table.

    Parameters
    ----------
    path : str or pathlib.Path
        ``western.csv`` (layout in the module docstring). Lanes: ``exosome``,
        ``cell_lysate``, ``blank``.

    Returns
    -------
    WesternResult

    Raises
    ------
    oasim.errors.DataError
        Missing columns, unknown lanes, non-positive blank intensity, or a negative intensity.
    """
    path = Path(path)
    frame = read_csv_table(path, ("protein", "lane", "intensity"), "Western blot")
    frame["lane"] = frame["lane"].astype(str).str.strip().str.lower()
    frame["key"] = frame["protein"].astype(str).str.strip().str.lower()
    unknown = set(frame["lane"]) - {"exosome", "cell_lysate", "blank"}
    if unknown:
        raise DataError(path, f"unknown lane(s) {sorted(unknown)}; use exosome, cell_lysate, blank")
    frame["intensity"] = pd.to_numeric(frame["intensity"], errors="coerce")
    if frame["intensity"].isna().any() or (frame["intensity"] < 0).any():
        raise DataError(path, "intensities must be numbers >= 0")
    wide = frame.pivot_table(index="key", columns="lane", values="intensity", aggfunc="mean")
    limit = WESTERN_MIN_SIGNAL_TO_BACKGROUND.value
    rows = []
    expected = {m.lower(): (m, "positive") for m in WESTERN_POSITIVE_MARKERS}
    expected |= {m.lower(): (m, "negative") for m in WESTERN_NEGATIVE_MARKERS}
    for key, (name, call) in expected.items():
        if key not in wide.index or np.isnan(wide.loc[key].get("exosome", np.nan)):
            rows.append(dict(protein=name, expected=call, detected=False, passed=False,
                             exosome_signal_to_background=np.nan,
                             lysate_signal_to_background=np.nan, note="not measured"))
            continue
        blank = wide.loc[key].get("blank", np.nan)
        if not blank > 0:
            raise DataError(path, f"{name}: blank lane intensity must be > 0")
        exo_sb = wide.loc[key]["exosome"] / blank
        lys_sb = wide.loc[key].get("cell_lysate", np.nan) / blank
        detected = bool(exo_sb >= limit)
        note = ""
        if call == "positive":
            passed = detected
        else:
            control_ok = bool(lys_sb >= limit)
            passed = (not detected) and control_ok
            note = "" if control_ok else "not detected in cell lysate either (antibody control fails)"
        rows.append(dict(protein=name, expected=call, detected=detected, passed=passed,
                         exosome_signal_to_background=float(exo_sb),
                         lysate_signal_to_background=float(lys_sb), note=note))
    return WesternResult(pd.DataFrame(rows))
