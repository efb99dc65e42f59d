"""Within-arm pre/post comparison: paired t-test and Wilcoxon signed-rank with effect sizes.

This is what single-arm and seed studies report (score before vs after treatment). For each arm
the change ``post - pre`` is tested with :func:`scipy.stats.ttest_rel` and
:func:`scipy.stats.wilcoxon`. Effect sizes: Cohen's d_z = mean(change) / sd(change) with an
exact CI by inverting the non-central t distribution (Cumming & Finch 2001, Educ Psychol Meas
61:532), Hedges' g = J·d_z with J = 1 − 3/(4(n−1)−1) (Hedges 1981) and its CI scaled by J, and
the matched-pairs rank-biserial correlation for the Wilcoxon test (Kerby 2014). Between-arm
comparisons belong in :func:`oasim.analysis.ancova` or :func:`oasim.analysis.repeated`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from oasim.analysis._common import inputs_hash, level_text, make_summary, require_columns
from oasim.errors import FieldError

__all__ = ["PrePostResult", "prepost", "cohens_dz_ci"]


def cohens_dz_ci(d_z: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact confidence interval of Cohen's d_z from the non-central t distribution.

    ``t = d_z * sqrt(n)`` has a non-central t distribution with ``n - 1`` df and non-centrality
    ``delta * sqrt(n)``; the limits are the non-centralities putting ``t`` at the upper and
    lower ``alpha/2`` quantiles.
    """
    df = n - 1
    t_obs = d_z * np.sqrt(n)

    def cdf(ncp: float) -> float:
        # scipy's nct.cdf returns NaN far in a tail (seen for n = 95, t = -6.5, ncp = t + 10);
        # there the cdf is 0 (ncp far above t) or 1 (far below), which keeps the bracket valid
        value = stats.nct.cdf(t_obs, df, ncp)
        return float(value) if np.isfinite(value) else (0.0 if ncp > t_obs else 1.0)

    def solve(prob: float) -> float:
        func = lambda ncp: cdf(ncp) - prob  # noqa: E731
        lo, hi = t_obs - 10.0, t_obs + 10.0
        while func(lo) < 0:
            lo -= 10.0
        while func(hi) > 0:
            hi += 10.0
        return optimize.brentq(func, lo, hi, xtol=1e-12)

    return solve(1 - alpha / 2) / np.sqrt(n), solve(alpha / 2) / np.sqrt(n)


@dataclass(frozen=True, eq=False)
class PrePostResult:
    """Per-arm pre/post tests and effect sizes.

    Attributes
    ----------
    table : DataFrame
        Indexed by arm: ``n``, ``mean_pre``, ``mean_post``, ``mean_change``, ``sd_change``,
        ``ci_lower``/``ci_upper`` (of the mean change), ``t``, ``df``, ``p_ttest``,
        ``cohens_dz`` (+ ``dz_ci_lower``/``dz_ci_upper``), ``hedges_g`` (+ CI),
        ``wilcoxon_stat``, ``p_wilcoxon``, ``rank_biserial``, ``median_change``.
    alpha : float
    inputs_hash : str
    """

    table: pd.DataFrame = field(repr=False)
    pre: str
    post: str
    alpha: float
    inputs_hash: str

    def to_frame(self) -> pd.DataFrame:
        """The per-arm table (a copy)."""
        return self.table.copy()

    def summary(self):
        """Printable summary."""
        info = {"Pre": self.pre, "Post": self.post, "CI level": f"{level_text(self.alpha)} (two-sided)",
                "Inputs hash": self.inputs_hash[:16]}
        return make_summary("Pre/post: paired t-test and Wilcoxon signed-rank", {"By arm": self.table.T}, info)


def prepost(
    df: pd.DataFrame,
    pre: str = "BASE",
    post: str = "AVAL",
    arm: str | None = "TRT01P",
    alpha: float = 0.05,
) -> PrePostResult:
    """Paired t-test and Wilcoxon signed-rank of ``post - pre`` within each arm.

    Parameters
    ----------
    df : DataFrame
        One row per subject (e.g. ADaM rows at the post-treatment visit), with numeric ``pre``
        (e.g. ``BASE``) and ``post`` (e.g. ``AVAL``) columns and an ``arm`` column. Subjects
        missing either value are dropped (complete pairs only).
    pre, post : str
        Column names of the before and after values.
    arm : str or None
        Arm column; ``None`` analyses all rows as one group labelled ``"all"``.
    alpha : float
        Confidence intervals are ``1 - alpha`` two-sided.

    Returns
    -------
    PrePostResult

    Raises
    ------
    FieldError
        Missing column, non-numeric values, or an arm with fewer than 2 complete pairs.
    """
    require_columns(df, [pre, post, arm])
    if not 0 < alpha < 1:
        raise FieldError("alpha", alpha, "0 < alpha < 1")
    for name in (pre, post):
        if not pd.api.types.is_numeric_dtype(df[name]):
            raise FieldError(f"df.{name}", str(df[name].dtype), "a numeric column")
    data = df[[c for c in (pre, post, arm) if c is not None]].dropna()
    groups = data.groupby(arm, sort=True, observed=True) if arm is not None else [("all", data)]
    rows = {}
    for label, group in groups:
        rows[label] = _one_group(group[pre].to_numpy(float), group[post].to_numpy(float), alpha, label, arm)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = arm or "group"
    return PrePostResult(
        table=table, pre=pre, post=post, alpha=alpha,
        inputs_hash=inputs_hash(data, [pre, post, arm], alpha=alpha, model="prepost"),
    )


def _one_group(before: np.ndarray, after: np.ndarray, alpha: float, label: object, arm: str | None) -> dict:
    n = len(before)
    if n < 2:
        raise FieldError(f"df.{arm or 'rows'}", label, "at least 2 complete pre/post pairs per arm")
    change = after - before
    mean, sd = float(change.mean()), float(change.std(ddof=1))
    ttest = stats.ttest_rel(after, before)
    t_ci = ttest.confidence_interval(confidence_level=1 - alpha)
    d_z = mean / sd if sd > 0 else np.nan
    dz_lo, dz_hi = cohens_dz_ci(d_z, n, alpha) if np.isfinite(d_z) else (np.nan, np.nan)
    correction = 1 - 3 / (4 * (n - 1) - 1)
    nonzero = change[change != 0]
    if len(nonzero) > 0:
        wil = stats.wilcoxon(after, before, zero_method="wilcox")
        ranks = stats.rankdata(np.abs(nonzero))
        total = ranks.sum()
        rank_biserial = float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / total)
        wil_stat, wil_p = float(wil.statistic), float(wil.pvalue)
    else:
        wil_stat, wil_p, rank_biserial = np.nan, 1.0, 0.0
    return {
        "n": n, "mean_pre": float(before.mean()), "mean_post": float(after.mean()),
        "mean_change": mean, "sd_change": sd, "ci_lower": float(t_ci.low), "ci_upper": float(t_ci.high),
        "t": float(ttest.statistic), "df": n - 1, "p_ttest": float(ttest.pvalue),
        "cohens_dz": d_z, "dz_ci_lower": dz_lo, "dz_ci_upper": dz_hi,
        "hedges_g": correction * d_z, "g_ci_lower": correction * dz_lo, "g_ci_upper": correction * dz_hi,
        "median_change": float(np.median(change)), "wilcoxon_stat": wil_stat, "p_wilcoxon": wil_p,
        "rank_biserial": rank_biserial,
    }
