"""Trilineage differentiation of an MSC lot: stain quantification vs undifferentiated control.

Input ``trilineage.csv``, one row per well (replicate)::

    lineage,stain,condition,replicate,value
    osteogenic,Alizarin Red S (OD405),induced,1,0.84
    osteogenic,Alizarin Red S (OD405),control,1,0.12

``lineage`` is ``osteogenic``, ``adipogenic`` or ``chondrogenic``; ``condition`` is
``induced`` (differentiation medium) or ``control`` (growth medium, same culture time).

Pass rule (``assumed:``, see :mod:`oasim.qc.criteria`): for every stain, the mean of the
induced wells is at least ``TRILINEAGE_MIN_FOLD`` (2x) the control mean **and** a one-sided
Welch t-test (induced > control) gives p ≤ 0.05. A lineage passes when all its stains pass;
the lot passes when all three lineages are present and pass. Dominici et al. (2006) require
differentiation "demonstrated by staining of in vitro cell culture" (osteo: Alizarin Red or
von Kossa; adipo: Oil Red O; chondro: Alcian Blue or collagen II immunostaining) but give no
number, hence the assumed fold and test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from oasim.errors import DataError
from oasim.qc.criteria import TRILINEAGE_MAX_P_VALUE, TRILINEAGE_MIN_FOLD
from oasim.qc.files import read_csv_table

LINEAGES = ("osteogenic", "adipogenic", "chondrogenic")


@dataclass(frozen=True)
class TrilineageResult:
    """Per-stain fold over control, one-sided p-value and pass/fail.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns: lineage, stain, n_induced, n_control, mean_induced, mean_control,
        fold_over_control, p_value_one_sided, passed.
    """

    table: pd.DataFrame

    @property
    def lineages_passed(self) -> dict[str, bool]:
        """{lineage: passed} for the three ISCT lineages (absent lineage = False)."""
        done = self.table.groupby("lineage")["passed"].all().to_dict()
        return {lineage: bool(done.get(lineage, False)) for lineage in LINEAGES}

    @property
    def passed(self) -> bool:
        """True when osteogenic, adipogenic and chondrogenic all pass."""
        return all(self.lineages_passed.values())

    def to_frame(self) -> pd.DataFrame:
        """The per-stain table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table."""
        lines = [
            f"{r.lineage:<13} {r.stain:<28} fold {r.fold_over_control:6.2f}  "
            f"p {r.p_value_one_sided:.2g}  {'PASS' if r.passed else 'FAIL'}"
            for r in self.table.itertuples()
        ]
        missing = [lin for lin, ok in self.lineages_passed.items() if lin not in set(self.table.lineage)]
        lines += [f"{lin:<13} not measured  FAIL" for lin in missing]
        return "\n".join(lines + [f"Trilineage differentiation: {'PASS' if self.passed else 'FAIL'}"])


def evaluate_trilineage(frame: pd.DataFrame, source: str | Path = "trilineage table") -> TrilineageResult:
    """Apply the trilineage pass rule to a long table of stain values.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns lineage, stain, condition, value (layout in the module docstring).
    source : str or pathlib.Path
        Named in errors.

    Returns
    -------
    TrilineageResult

    Raises
    ------
    oasim.errors.DataError
        Unknown lineage or condition, non-numeric or negative values, or a stain with fewer
        than two wells in a condition.
    """
    frame = frame.copy()
    frame["lineage"] = frame["lineage"].astype(str).str.strip().str.lower()
    frame["condition"] = frame["condition"].astype(str).str.strip().str.lower()
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    bad = set(frame["lineage"]) - set(LINEAGES)
    if bad:
        raise DataError(source, f"unknown lineage(s) {sorted(bad)}; allowed {LINEAGES}")
    bad = set(frame["condition"]) - {"induced", "control"}
    if bad:
        raise DataError(source, f"unknown condition(s) {sorted(bad)}; allowed induced, control")
    if frame["value"].isna().any() or (frame["value"] < 0).any():
        raise DataError(source, "stain values must be numbers >= 0")
    rows = []
    for (lineage, stain), group in frame.groupby(["lineage", "stain"], sort=False):
        induced = group.loc[group.condition == "induced", "value"].to_numpy(float)
        control = group.loc[group.condition == "control", "value"].to_numpy(float)
        if induced.size < 2 or control.size < 2:
            raise DataError(source, f"{lineage}/{stain}: need >= 2 induced and >= 2 control wells")
        fold = induced.mean() / control.mean() if control.mean() > 0 else np.inf
        p = stats.ttest_ind(induced, control, equal_var=False, alternative="greater").pvalue
        rows.append(dict(
            lineage=lineage, stain=stain, n_induced=induced.size, n_control=control.size,
            mean_induced=induced.mean(), mean_control=control.mean(),
            fold_over_control=float(fold), p_value_one_sided=float(p),
            passed=bool(fold >= TRILINEAGE_MIN_FOLD.value and p <= TRILINEAGE_MAX_P_VALUE.value),
        ))
    return TrilineageResult(pd.DataFrame(rows))


def read_trilineage(path: str | Path) -> TrilineageResult:
    """Read ``trilineage.csv`` and apply the pass rule (see :func:`evaluate_trilineage`)."""
    path = Path(path)
    frame = read_csv_table(path, ("lineage", "stain", "condition", "value"), "trilineage")
    return evaluate_trilineage(frame, source=path)
