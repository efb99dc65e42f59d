"""Fit time of oasim's MMRM on R mmrm's fev_data and on a larger simulated trial.

Run as ``python -m benchmarks.mmrm``. Prints wall-clock seconds per fit (best of 3) for the
full fev_data model (FEV1 ~ RACE + SEX + ARMCD * AVISIT, unstructured) with Satterthwaite and
Kenward–Roger df, the simple model FEV1 ~ ARMCD with Kenward–Roger df per covariance structure
of SAS's reference table (tests/analysis/test_mmrm_reference.py), and for 1000 subjects x 6
visits with baseline x visit.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from oasim.analysis import mmrm

FEV_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "fev_data.csv"


def _fev() -> pd.DataFrame:
    data = pd.read_csv(FEV_DATA)
    order = {"AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"], "ARMCD": ["PBO", "TRT"],
             "RACE": ["Asian", "Black or African American", "White"], "SEX": ["Male", "Female"]}
    for column, levels in order.items():
        data[column] = pd.Categorical(data[column], categories=levels)
    return data


def _simulated(n_subjects: int = 1000, n_visits: int = 6, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lag = np.abs(np.subtract.outer(np.arange(n_visits), np.arange(n_visits)))
    cov = 80.0 * 0.6**lag
    visits = [f"W{4 * (v + 1)}" for v in range(n_visits)]
    arm = rng.choice(["Placebo", "MSC"], n_subjects)
    base = rng.normal(60, 10, n_subjects)
    chg = -0.3 * (base[:, None] - 60) - np.where(arm == "MSC", 5.0, 0.0)[:, None] \
        + rng.multivariate_normal(np.zeros(n_visits), cov, n_subjects)
    chg[rng.random(chg.shape) < 0.1] = np.nan
    return pd.DataFrame({"USUBJID": np.repeat(np.arange(n_subjects), n_visits),
                         "AVISIT": pd.Categorical(np.tile(visits, n_subjects), categories=visits),
                         "TRT01P": np.repeat(arm, n_visits), "BASE": np.repeat(base, n_visits), "CHG": chg.ravel()})


def _best_of(func, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    fev = _fev()
    spec = dict(response="FEV1", treatment="ARMCD", visit="AVISIT", subject="USUBJID", baseline=None,
                covariates=["RACE", "SEX"], formula="RACE + SEX + ARMCD * AVISIT")
    for method in ("satterthwaite", "kenward-roger"):
        seconds = _best_of(lambda: mmrm(fev, df_method=method, **spec))
        print(f"fev_data, unstructured, {method:<14} {seconds:6.3f} s")
    simple = dict(response="FEV1", treatment="ARMCD", visit="AVISIT", subject="USUBJID", baseline=None, formula="ARMCD")
    for covariance in ("us", "ar1h", "toeph", "cs"):
        seconds = _best_of(lambda: mmrm(fev, covariance=covariance, df_method="kenward-roger", **simple))
        print(f"fev_data, FEV1 ~ ARMCD, {covariance:<5} kenward-roger  {seconds:6.3f} s")
    big = _simulated()
    for covariance in ("us", "toeph", "ar1h", "cs"):
        seconds = _best_of(lambda: mmrm(big, covariance=covariance, control="Placebo"), repeats=1)
        print(f"1000 subjects x 6 visits, {covariance:<5} kenward-roger  {seconds:6.3f} s")


if __name__ == "__main__":
    main()
