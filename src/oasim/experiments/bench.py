"""Bench-like readout noise and the usual statistics.

qPCR (2^-ΔΔCt, Livak & Schmittgen): per well, ΔCt = −log2(relative expression) + biological
noise (between-well SD in log2 units) + the mean of the technical replicates' Ct noise for the
target minus that for the reference gene. ΔΔCt is relative to the mean ΔCt of the control wells;
fold change = 2^−ΔΔCt. Statistics are computed on −ΔΔCt (log2 fold change), as usual.
Viability (CCK-8): absorbance ∝ viable cells × (1 + biological noise) × mean technical factor,
reported as % of the mean control well.

Comparisons: one-way ANOVA across groups, then Dunnett's test of every group against one
reference group (scipy.stats.dunnett) or Tukey HSD for all pairs (scipy.stats.tukey_hsd); a
two-group comparison is Welch's t-test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats


def qpcr_log2_fold(expression_rel: np.ndarray, control_rel: float, n_wells: int, sd_bio_log2: float,
                   sd_tech_ct: float, n_tech: int, rng: np.random.Generator,
                   control_delta_ct: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simulated wells of one group: (log2 fold change vs control, ΔCt) each of shape (n_wells,).

    ``expression_rel`` is the group's noise-free expression (scalar); ``control_delta_ct`` the
    control wells' ΔCt (None when this *is* the control group).
    """
    tech = rng.normal(0.0, sd_tech_ct, (n_wells, 2, n_tech)).mean(axis=2)
    delta_ct = (-np.log2(expression_rel / control_rel) + rng.normal(0.0, sd_bio_log2, n_wells)
                + tech[:, 0] - tech[:, 1])
    reference = delta_ct if control_delta_ct is None else control_delta_ct
    return -(delta_ct - reference.mean()), delta_ct


def viability_pct(signal_rel: np.ndarray, n_wells: int, cv_bio: float, cv_tech: float, n_tech: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Simulated CCK-8 signals of one group (relative units, noise-free value ``signal_rel``)."""
    tech = 1.0 + rng.normal(0.0, cv_tech, (n_wells, n_tech)).mean(axis=1)
    return signal_rel * (1.0 + rng.normal(0.0, cv_bio, n_wells)) * tech


def compare_groups(values: dict[str, np.ndarray], reference: str, method: str = "dunnett") -> pd.DataFrame:
    """Every group against ``reference`` (Dunnett) or all pairs (Tukey), with ANOVA p.

    Returns one row per comparison: group, reference, difference of means, p_value, test,
    anova_p. Where the compared groups have no within-group variance (e.g. two mice with the
    same OARSI score in each group) the test statistic is undefined: p_value and anova_p are NaN
    and ``test`` says so, rather than a p from a 0/0 that scipy flags as unreliable.
    """
    names = [k for k in values if len(values[k]) > 1]
    if reference not in names or len(names) < 2:
        return pd.DataFrame(columns=["group", "reference", "mean_difference", "p_value", "test", "anova_p"])
    samples = [np.asarray(values[k], float) for k in names]
    if len(names) > 2 and method not in ("dunnett", "tukey"):
        raise ValueError(f"method {method!r}: allowed 'dunnett' or 'tukey'")
    if all(_no_spread(x) for x in samples):
        pairs = ([(a, b) for i, a in enumerate(names) for b in names[i + 1:]] if len(names) > 2 and method == "tukey"
                 else [(k, reference) for k in names if k != reference])
        rows = [(a, b, float(np.mean(values[a]) - np.mean(values[b])), np.nan, "undefined: no within-group variance")
                for a, b in pairs]
        frame = pd.DataFrame(rows, columns=["group", "reference", "mean_difference", "p_value", "test"])
        frame["anova_p"] = np.nan
        return frame
    with warnings.catch_warnings():
        if any(_no_spread(x) for x in samples):
            # a group with all values equal has variance exactly 0, which scipy's moment check
            # flags as "precision loss"; with another group's variance the tests are well defined
            warnings.filterwarnings("ignore", "Precision loss occurred in moment calculation", RuntimeWarning)
        return _compare(values, names, samples, reference, method)


def _compare(values, names, samples, reference, method) -> pd.DataFrame:
    anova_p = float(stats.f_oneway(*samples).pvalue) if len(names) > 2 else np.nan
    rows = []
    if len(names) == 2:
        other = names[1 - names.index(reference)]
        p = float(stats.ttest_ind(values[other], values[reference], equal_var=False).pvalue)
        rows.append((other, reference, np.mean(values[other]) - np.mean(values[reference]), p, "welch_t"))
    elif method == "dunnett":
        others = [k for k in names if k != reference]
        # Dunnett's p integrates a multivariate t by quasi-Monte Carlo: a fixed generator makes the
        # same data give the same p (unseeded, repeated calls differed in the third digit)
        res = stats.dunnett(*[values[k] for k in others], control=values[reference], rng=np.random.default_rng(0))
        for k, p in zip(others, res.pvalue):
            rows.append((k, reference, np.mean(values[k]) - np.mean(values[reference]), float(p), "dunnett"))
    else:  # tukey (the method was checked by compare_groups)
        res = stats.tukey_hsd(*samples)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i < j:
                    rows.append((a, b, np.mean(values[a]) - np.mean(values[b]), float(res.pvalue[i, j]), "tukey"))
    frame = pd.DataFrame(rows, columns=["group", "reference", "mean_difference", "p_value", "test"])
    frame["anova_p"] = anova_p
    return frame


def _no_spread(x: np.ndarray) -> bool:
    """All values equal, to rounding (relative 1e-12 of the largest magnitude)."""
    return bool(np.ptp(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x)))))


def describe(values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Group mean, SD and n."""
    return pd.DataFrame([{"group": k, "mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
                          "n": len(v)} for k, v in values.items()])


def stars(p: float) -> str:
    """Significance stars as in figures: * < 0.05, ** < 0.01, *** < 0.001, ns."""
    return "ns" if not np.isfinite(p) or p >= 0.05 else "*" if p >= 0.01 else "**" if p >= 0.001 else "***"
