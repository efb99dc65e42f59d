"""Adverse-event summary tables with exact (Clopper–Pearson) and Poisson confidence intervals.

Standard safety tables of a trial report (ICH E3 §12.2; FDA Standard Safety Tables and Figures
Integrated Guide 2022): subjects with at least one AE, subjects by preferred term, subjects by
maximum grade, the same by dose level, and exposure-adjusted incidence rates (subjects with an
event per 100 subject-years, exact Poisson CI; Garwood 1936). Proportions carry Clopper–Pearson
intervals (Clopper & Pearson 1934) from statsmodels ``proportion_confint(method="beta")``.
Counts are of subjects, not events; the denominator is the safety population in ``adsl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from oasim.analysis._common import inputs_hash, level_text, make_summary, require_columns
from oasim.errors import FieldError

__all__ = ["SafetyTables", "clopper_pearson", "poisson_rate_ci", "safety_table"]


def clopper_pearson(count, nobs, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial (Clopper–Pearson) confidence limits of ``count / nobs``.

    Thin wrapper of ``statsmodels.stats.proportion.proportion_confint(method="beta")``; agrees
    with ``scipy.stats.binomtest(count, nobs).proportion_ci(method="exact")``.
    """
    count = np.asarray(count)
    nobs = np.asarray(nobs)
    if np.any(nobs <= 0) or np.any(count < 0) or np.any(count > nobs):
        raise FieldError("count/nobs", (count.tolist(), nobs.tolist()), "0 <= count <= nobs, nobs > 0")
    lower, upper = proportion_confint(count, nobs, alpha=alpha, method="beta")
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


def poisson_rate_ci(events, exposure, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence limits of the rate ``events / exposure``."""
    events = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    lower = np.where(events > 0, stats.chi2.ppf(alpha / 2, 2 * events) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    return lower / exposure, upper / exposure


@dataclass(frozen=True, eq=False)
class SafetyTables:
    """Subject-level AE summaries by arm (and dose level).

    Attributes
    ----------
    any_ae : DataFrame
        Per arm: ``N`` (safety population), ``n`` (subjects with >= 1 AE), ``pct``,
        ``ci_lower``, ``ci_upper`` (Clopper–Pearson; all three in percent).
    by_term : DataFrame
        Rows (term, arm) with the same columns, sorted by overall frequency.
    by_max_grade : DataFrame
        Rows (max grade, arm): subjects whose worst AE has that grade; empty without a grade column.
    by_dose : DataFrame
        Rows per dose level; empty without a dose column.
    exposure_adjusted : DataFrame
        Per arm: ``n``, ``subject_years``, ``rate_per_100sy`` with exact Poisson CI; empty
        without an exposure column.
    """

    any_ae: pd.DataFrame = field(repr=False)
    by_term: pd.DataFrame = field(repr=False)
    by_max_grade: pd.DataFrame = field(repr=False)
    by_dose: pd.DataFrame = field(repr=False)
    exposure_adjusted: pd.DataFrame = field(repr=False)
    alpha: float
    inputs_hash: str

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked with a ``table`` column."""
        parts = []
        for name in ("any_ae", "by_term", "by_max_grade", "by_dose", "exposure_adjusted"):
            frame = getattr(self, name)
            if len(frame):
                parts.append(frame.reset_index().assign(table=name))
        return pd.concat(parts, ignore_index=True)

    def summary(self):
        """Printable summary."""
        tables = {"Subjects with >= 1 AE": self.any_ae, "By preferred term": self.by_term}
        for title, frame in (("By maximum grade", self.by_max_grade), ("By dose level", self.by_dose),
                             ("Exposure-adjusted incidence", self.exposure_adjusted)):
            if len(frame):
                tables[title] = frame
        info = {"CI": f"{level_text(self.alpha)} Clopper-Pearson", "Inputs hash": self.inputs_hash[:16]}
        return make_summary("Adverse events (subjects)", tables, info, float_format="{:.3f}")


def _proportions(n: pd.Series, big_n: pd.Series, alpha: float) -> pd.DataFrame:
    n = n.astype(int)
    big_n = big_n.astype(int)
    lower, upper = clopper_pearson(n.to_numpy(), big_n.to_numpy(), alpha)
    return pd.DataFrame(
        {"N": big_n, "n": n, "pct": 100.0 * n / big_n, "ci_lower": 100.0 * lower, "ci_upper": 100.0 * upper}, index=n.index
    )


def safety_table(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    subject: str = "USUBJID",
    arm: str = "TRT01A",
    term: str = "AEDECOD",
    grade: str | None = "AETOXGR",
    dose: str | None = None,
    exposure_days: str | None = None,
    onset_day: str | None = None,
    alpha: float = 0.05,
) -> SafetyTables:
    """Summarise adverse events as numbers of subjects by arm, term, maximum grade and dose.

    Parameters
    ----------
    adae : DataFrame
        One row per AE (ADaM ADAE-like): ``subject``, ``term`` (preferred term, e.g.
        ``AEDECOD``), optionally ``grade`` (numeric CTCAE grade, e.g. ``AETOXGR``) and
        ``onset_day`` (study day of onset, for exposure-adjusted rates).
    adsl : DataFrame
        One row per subject in the safety population (ADSL-like): ``subject``, ``arm``
        (actual treatment, e.g. ``TRT01A``), optionally ``dose`` (dose level) and
        ``exposure_days`` (days on study/at risk).
    subject, arm, term, grade, dose, exposure_days, onset_day : str or None
        Column names; ``None`` skips the corresponding table.
    alpha : float
        Confidence intervals are ``1 - alpha`` two-sided.

    Returns
    -------
    SafetyTables

    Raises
    ------
    FieldError
        Missing columns, duplicate subjects in ``adsl``, or AEs of subjects not in ``adsl``.

    Notes
    -----
    Exposure-adjusted incidence rate (EAIR) = subjects with >= 1 event / total time at risk,
    where time at risk ends at the first event's onset when ``onset_day`` is given (otherwise
    the whole exposure is used, i.e. an exposure-adjusted rate of subjects).
    """
    require_columns(adsl, [subject, arm, dose, exposure_days], "adsl")
    require_columns(adae, [subject, term, grade, onset_day], "adae")
    if adsl[subject].duplicated().any():
        dup = adsl.loc[adsl[subject].duplicated(), subject].iloc[0]
        raise FieldError(f"adsl.{subject}", dup, "one row per subject")
    unknown = set(adae[subject]) - set(adsl[subject])
    if unknown:
        raise FieldError(f"adae.{subject}", sorted(map(str, unknown))[:5], "subjects present in adsl")
    population = adsl.set_index(subject)
    events = adae.merge(adsl[[subject, arm] + ([dose] if dose else [])], on=subject, how="left")
    big_n = population.groupby(arm, observed=True).size()

    with_ae = events.groupby(arm, observed=True)[subject].nunique().reindex(big_n.index, fill_value=0)
    any_ae = _proportions(with_ae, big_n, alpha)

    term_counts = events.groupby([term, arm], observed=True)[subject].nunique()
    grid = pd.MultiIndex.from_product([sorted(events[term].dropna().unique(), key=str), big_n.index],
                                      names=[term, arm])
    term_counts = term_counts.reindex(grid, fill_value=0)
    by_term = _proportions(term_counts, big_n.reindex(grid.get_level_values(arm)).set_axis(grid), alpha)
    order = term_counts.groupby(level=0).sum().sort_values(ascending=False, kind="stable").index
    by_term = by_term.reindex(order, level=0)

    by_max_grade = pd.DataFrame()
    if grade is not None:
        worst = events.groupby([subject], observed=True).agg(max_grade=(grade, "max"), arm_=(arm, "first"))
        counts = worst.groupby(["max_grade", "arm_"]).size()
        grades = sorted(worst["max_grade"].dropna().unique())
        grid = pd.MultiIndex.from_product([grades, big_n.index], names=["max_grade", arm])
        counts = counts.rename_axis(["max_grade", arm]).reindex(grid, fill_value=0)
        by_max_grade = _proportions(counts, big_n.reindex(grid.get_level_values(arm)).set_axis(grid), alpha)

    by_dose = pd.DataFrame()
    if dose is not None:
        dose_n = population.groupby(dose, observed=True).size()
        dose_ae = events.groupby(dose, observed=True)[subject].nunique().reindex(dose_n.index, fill_value=0)
        by_dose = _proportions(dose_ae, dose_n, alpha)

    exposure_adjusted = pd.DataFrame()
    if exposure_days is not None:
        at_risk = population[exposure_days].astype(float).copy()
        if onset_day is not None:
            first = adae.groupby(subject)[onset_day].min()
            at_risk.loc[first.index] = np.minimum(at_risk.loc[first.index], first.astype(float))
        years = (at_risk / 365.25).groupby(population[arm], observed=True).sum()
        lower, upper = poisson_rate_ci(with_ae.to_numpy(), years.reindex(with_ae.index).to_numpy(), alpha)
        exposure_adjusted = pd.DataFrame(
            {"n": with_ae, "subject_years": years.reindex(with_ae.index),
             "rate_per_100sy": 100 * with_ae / years.reindex(with_ae.index),
             "ci_lower": 100 * lower, "ci_upper": 100 * upper}
        )

    used_adsl = [c for c in (subject, arm, dose, exposure_days) if c]
    used_adae = [c for c in (subject, term, grade, onset_day) if c]
    digest = inputs_hash(adsl, used_adsl, adae=inputs_hash(adae, used_adae), alpha=alpha, model="safety")
    return SafetyTables(any_ae=any_ae, by_term=by_term, by_max_grade=by_max_grade, by_dose=by_dose,
                        exposure_adjusted=exposure_adjusted, alpha=alpha, inputs_hash=digest)


def dlt_events(adverse_events: pd.DataFrame, min_grade: int = 3, window_days: float = 28.0,
               related_only: bool = True) -> np.ndarray:
    """Which AEs are dose-limiting (bool per row): the one DLT rule of oasim.

    An AE is a DLT when its grade is >= ``min_grade``, 0 <= onset_day - dose_day <=
    ``window_days`` and (with ``related_only``) it is related; columns as in
    :func:`dlt_from_adverse_events`. A missing day is never within the window.
    """
    require_columns(adverse_events, ["subject_id", "grade", "related", "onset_day", "dose_day"], "adverse_events")
    ae = adverse_events
    delay = ae["onset_day"].to_numpy(float, na_value=np.nan) - ae["dose_day"].to_numpy(float, na_value=np.nan)
    counts = (ae["grade"].to_numpy(float, na_value=np.nan) >= min_grade) & (delay >= 0) & (delay <= window_days)
    if related_only:
        counts &= ae["related"].to_numpy(bool)
    return counts
