"""Responder analyses: OMERACT-OARSI and MCID responders, risk difference, odds ratio, CMH.

OMERACT-OARSI set of responder criteria (Pham T et al. 2003, J Rheumatol 30:1648; Pham T et al.
2004, Osteoarthritis Cartilage 12:389), on 0–100 scales where lower is better. A subject is a
responder if

1. **high improvement** in pain **or** in function: ≥ 50 % **and** ≥ 20 points absolute, or
2. improvement in **at least two** of pain, function and patient global assessment, each
   ≥ 20 % **and** ≥ 10 points absolute.

(Relative improvement = (baseline − follow-up) / baseline; a zero baseline cannot improve.)
MCID responders improve by at least a minimal clinically important difference (e.g. WOMAC
function MCII 9.1 points, pain VAS 19.9 mm; Tubach et al. 2005, Ann Rheum Dis 64:29).
Between-arm comparisons: risk difference with Newcombe hybrid-score CI (Newcombe 1998), odds
ratio from a logistic regression adjusted for baseline (statsmodels ``Logit``), and the
Cochran–Mantel–Haenszel test with Mantel–Haenszel pooled odds ratio across strata
(statsmodels ``StratifiedTable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import confint_proportions_2indep

from oasim.analysis._common import ConvergenceError, inputs_hash, make_summary, require_columns, require_levels
from oasim.analysis.safety import clopper_pearson
from oasim.errors import FieldError

__all__ = ["ResponderResult", "mcid_responder", "omeract_oarsi_responder", "responders"]


def _improvement(baseline, follow_up) -> tuple[np.ndarray, np.ndarray]:
    baseline = np.asarray(baseline, dtype=float)
    follow_up = np.asarray(follow_up, dtype=float)
    absolute = baseline - follow_up
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(baseline > 0, absolute / baseline, np.where(np.isnan(baseline), np.nan, 0.0))
    return absolute, relative


def omeract_oarsi_responder(pain_baseline, pain, function_baseline, function, global_baseline, global_assessment):
    """OMERACT-OARSI responder status (0–100 scales, lower is better).

    Parameters
    ----------
    pain_baseline, pain, function_baseline, function, global_baseline, global_assessment : array-like
        Baseline and follow-up values of pain (e.g. WOMAC pain or VAS), function (WOMAC
        function) and patient global assessment, normalised to 0–100.

    Returns
    -------
    pandas.Series of boolean (nullable)
        ``True`` for responders; ``<NA>`` when a missing value leaves the status undetermined.
    """
    pain_abs, pain_rel = _improvement(pain_baseline, pain)
    func_abs, func_rel = _improvement(function_baseline, function)
    glob_abs, glob_rel = _improvement(global_baseline, global_assessment)
    for values in (pain_abs, func_abs, glob_abs):
        if np.any(np.abs(values[np.isfinite(values)]) > 100):
            raise FieldError("omeract_oarsi_responder", "values outside 0-100", "scores normalised to 0-100")

    def meets(absolute, relative, rel_cut, abs_cut):
        out = (relative >= rel_cut) & (absolute >= abs_cut)
        return np.where(np.isnan(absolute) | np.isnan(relative), np.nan, out.astype(float))

    high = np.fmax(meets(pain_abs, pain_rel, 0.5, 20.0), meets(func_abs, func_rel, 0.5, 20.0))
    high = np.where(np.isnan(high), np.where(
        (meets(pain_abs, pain_rel, 0.5, 20.0) == 1) | (meets(func_abs, func_rel, 0.5, 20.0) == 1), 1.0, np.nan), high)
    moderate = np.vstack([meets(pain_abs, pain_rel, 0.2, 10.0), meets(func_abs, func_rel, 0.2, 10.0),
                          meets(glob_abs, glob_rel, 0.2, 10.0)])
    met = np.nansum(moderate, axis=0)
    unknown = np.isnan(moderate).sum(axis=0)
    two_of_three = np.where(met >= 2, 1.0, np.where(met + unknown >= 2, np.nan, 0.0))
    status = np.where((high == 1) | (two_of_three == 1), 1.0,
                      np.where(np.isnan(high) | np.isnan(two_of_three), np.nan, 0.0))
    return pd.Series(status, dtype="float").map({1.0: True, 0.0: False}).astype("boolean")


def mcid_responder(baseline, follow_up, mcid: float, lower_is_better: bool = True):
    """True where the improvement from baseline is at least ``mcid`` points (``<NA>`` if missing)."""
    if not mcid > 0:
        raise FieldError("mcid", mcid, "> 0")
    absolute, _ = _improvement(baseline, follow_up)
    improvement = absolute if lower_is_better else -absolute
    status = np.where(np.isnan(improvement), np.nan, (improvement >= mcid).astype(float))
    return pd.Series(status).map({1.0: True, 0.0: False}).astype("boolean")


@dataclass(frozen=True, eq=False)
class ResponderResult:
    """Responder rates by arm and comparisons versus control.

    Attributes
    ----------
    rates : DataFrame
        Per arm: ``n``, ``responders``, ``rate`` with Clopper–Pearson CI.
    comparisons : DataFrame
        Per non-control arm: ``risk_difference`` (+ Newcombe CI), ``odds_ratio`` (+ Wald CI,
        from the logistic model) and its ``p_value``.
    cmh : DataFrame
        Per non-control arm, when strata are given: Mantel–Haenszel odds ratio with CI,
        CMH statistic and p-value, Breslow–Day p-value for homogeneity.
    model_results : dict
        The statsmodels logistic fit (``"logit"``) and ``StratifiedTable`` per arm.
    """

    rates: pd.DataFrame = field(repr=False)
    comparisons: pd.DataFrame = field(repr=False)
    cmh: pd.DataFrame = field(repr=False)
    model_results: dict = field(repr=False)
    control: object
    alpha: float
    inputs_hash: str

    def to_frame(self) -> pd.DataFrame:
        """Comparisons joined with the CMH results (one row per non-control arm)."""
        return self.comparisons.join(self.cmh) if len(self.cmh) else self.comparisons.copy()

    def summary(self):
        """Printable summary."""
        tables = {"Responder rates": self.rates, f"Versus {self.control}": self.comparisons}
        if len(self.cmh):
            tables["Cochran-Mantel-Haenszel"] = self.cmh
        return make_summary("Responder analysis", tables, {"Control": self.control,
                                                           "Inputs hash": self.inputs_hash[:16]})


def responders(
    df: pd.DataFrame,
    response: str = "RESPFL",
    treatment: str = "TRT01P",
    control: object = "Placebo",
    baseline: str | None = None,
    strata: str | None = None,
    alpha: float = 0.05,
) -> ResponderResult:
    """Compare responder proportions between arms.

    Parameters
    ----------
    df : DataFrame
        One row per subject. ``response``: responder flag (bool, 0/1 or ``"Y"``/``"N"``, as in
        an ADaM ``CRIT1FL``-style column); rows with a missing flag are dropped (use
        non-responder imputation upstream if wanted). ``treatment``: arm. ``baseline``: numeric
        covariate for the logistic model. ``strata``: stratification factor for CMH.
    control : object
        Comparator arm.
    alpha : float
        Confidence intervals are ``1 - alpha`` two-sided.

    Returns
    -------
    ResponderResult
    """
    require_columns(df, [response, treatment, baseline, strata])
    require_levels(df, treatment, [control])
    data = df[[c for c in (response, treatment, baseline, strata) if c]].dropna().copy()
    flag = data[response]
    if flag.dtype == object:
        flag = flag.map({"Y": 1, "N": 0, "y": 1, "n": 0})
    if flag.isna().any() or not set(pd.unique(flag.astype(float))) <= {0.0, 1.0}:
        raise FieldError(f"df.{response}", sorted(map(str, pd.unique(data[response])))[:5], "True/False, 0/1 or 'Y'/'N'")
    data["_y"] = flag.astype(float)
    arms = [control] + [a for a in sorted(pd.unique(data[treatment]), key=str) if a != control]
    counts = data.groupby(treatment)["_y"].agg(["size", "sum"]).reindex(arms)
    lower, upper = clopper_pearson(counts["sum"].to_numpy(int), counts["size"].to_numpy(int), alpha)
    rates = pd.DataFrame({"n": counts["size"].astype(int), "responders": counts["sum"].astype(int),
                          "rate": counts["sum"] / counts["size"], "ci_lower": lower, "ci_upper": upper})

    formula = f"_y ~ C(Q({treatment!r}), Treatment({control!r}))" + (f" + Q({baseline!r})" if baseline else "")
    try:
        logit = smf.logit(formula, data).fit(disp=False, maxiter=200)
    except Exception as exc:  # perfect separation, singular Hessian
        raise ConvergenceError(f"logistic regression of {response} failed: {exc}") from exc
    ci = logit.conf_int(alpha)
    rows, cmh_rows, tables = {}, {}, {}
    for arm in arms[1:]:
        name = f"C(Q({treatment!r}), Treatment({control!r}))[T.{arm}]"
        lo, hi = confint_proportions_2indep(rates.loc[arm, "responders"], rates.loc[arm, "n"],
                                            rates.loc[control, "responders"], rates.loc[control, "n"],
                                            method="newcomb", compare="diff", alpha=alpha)
        rows[arm] = {"risk_difference": rates.loc[arm, "rate"] - rates.loc[control, "rate"],
                     "rd_ci_lower": lo, "rd_ci_upper": hi, "odds_ratio": np.exp(logit.params[name]),
                     "or_ci_lower": np.exp(ci.loc[name, 0]), "or_ci_upper": np.exp(ci.loc[name, 1]),
                     "p_value": logit.pvalues[name]}
        if strata:
            cmh_rows[arm], tables[arm] = _cmh(data[data[treatment].isin([arm, control])], treatment, arm, strata, alpha)
    digest = inputs_hash(data, [response, treatment, baseline, strata], control=control, alpha=alpha,
                         model="responders")
    return ResponderResult(rates=rates, comparisons=pd.DataFrame.from_dict(rows, orient="index"),
                           cmh=pd.DataFrame.from_dict(cmh_rows, orient="index"),
                           model_results={"logit": logit, **{f"cmh[{k}]": v for k, v in tables.items()}},
                           control=control, alpha=alpha, inputs_hash=digest)


def _cmh(data: pd.DataFrame, treatment: str, arm: object, strata: str, alpha: float):
    tables = []
    for _, group in data.groupby(strata, observed=True):
        treated = group[treatment] == arm
        tables.append(np.array([[np.sum(treated & (group["_y"] == 1)), np.sum(treated & (group["_y"] == 0))],
                                [np.sum(~treated & (group["_y"] == 1)), np.sum(~treated & (group["_y"] == 0))]]))
    table = StratifiedTable(tables)
    lo, hi = table.oddsratio_pooled_confint(alpha=alpha)
    test = table.test_null_odds(correction=False)
    homogeneity = table.test_equal_odds()
    return {"mh_odds_ratio": table.oddsratio_pooled, "mh_ci_lower": lo, "mh_ci_upper": hi,
            "cmh_statistic": test.statistic, "cmh_p_value": test.pvalue,
            "breslow_day_p_value": homogeneity.pvalue, "n_strata": len(tables)}, table
