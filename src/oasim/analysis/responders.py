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

With small arms a responder table is often (quasi-)completely separated (e.g. 6/6 responders in
one arm): the logistic MLE does not exist, the fit diverges and its Wald CI overflows. Such a
comparison gets instead the exact conditional odds ratio (conditional MLE, exact CI by inverting
two one-sided tests, as R's ``fisher.test``) and Fisher's exact p, unadjusted for baseline, from
scipy (``odds_ratio(kind="conditional")``, ``fisher_exact``); the column ``or_method`` says which
method each row used and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy.stats import fisher_exact
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from oasim.analysis._common import (ConvergenceError, inputs_hash, level_text, make_summary, require_columns,
                                    require_levels)
from oasim.analysis.safety import clopper_pearson
from oasim.errors import FieldError

__all__ = ["ResponderResult", "exact_conditional_odds_ratio", "mcid_responder", "omeract_oarsi_responder",
           "responders"]

# A fitted probability this close to 0 or 1 marks a (quasi-)separated logistic fit: the absolute
# tolerance statsmodels' own perfect-prediction check uses (np.allclose's default atol, in
# statsmodels.discrete.discrete_model.BinaryModel._check_perfect_pred), applied per subject.
FITTED_PROBABILITY_ATOL = 1e-8
# Newton iterations of the logistic fit (statsmodels' default is 35); assumed: a well-conditioned
# fit converges in < 10, so reaching 200 means divergence, which is then reported, not used.
LOGIT_MAXITER = 200


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
        Per non-control arm: ``risk_difference`` (+ Newcombe CI), ``odds_ratio`` with CI and
        ``p_value``, and ``or_method``: ``"logistic (adjusted for <baseline>)"`` (Wald CI and
        p of the logistic model), or, where the logistic model is not estimable (separation,
        non-convergence), ``"exact conditional (unadjusted; logistic not estimable: <reason>)"``
        (conditional MLE, exact CI, Fisher's exact p; the OR may be 0 or ``inf``).
    cmh : DataFrame
        Per non-control arm, when strata are given: Mantel–Haenszel odds ratio with CI,
        CMH statistic and p-value, Breslow–Day p-value for homogeneity, over the ``n_strata``
        informative strata (``n_strata_excluded``: strata with a zero row or column total, which
        carry no information and are left out; ``cmh_note`` says so, or why the results are NaN
        when no stratum is informative, or why the CI and Breslow–Day are NaN when the MH odds
        ratio is ``inf`` or 0).
    model_results : dict
        The statsmodels logistic fit the logistic rows come from (``"logit"``, absent when no
        row does) and ``StratifiedTable`` of the informative strata per arm (absent when none is).
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
                                                           "CI level": f"{level_text(self.alpha)} (two-sided)",
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
    logistic = f"logistic (adjusted for {baseline})" if baseline else "logistic (unadjusted)"
    logit, exact = _estimable_logit(formula, data, treatment, control, arms, rates)
    if logit is not None:
        ci = logit.conf_int(alpha)
    rows, cmh_rows, tables = {}, {}, {}
    for arm in arms[1:]:
        lo, hi = confint_proportions_2indep(rates.loc[arm, "responders"], rates.loc[arm, "n"],
                                            rates.loc[control, "responders"], rates.loc[control, "n"],
                                            method="newcomb", compare="diff", alpha=alpha)
        rows[arm] = {"risk_difference": rates.loc[arm, "rate"] - rates.loc[control, "rate"],
                     "rd_ci_lower": lo, "rd_ci_upper": hi}
        if arm in exact:
            table = [[rates.loc[arm, "responders"], rates.loc[arm, "n"] - rates.loc[arm, "responders"]],
                     [rates.loc[control, "responders"], rates.loc[control, "n"] - rates.loc[control, "responders"]]]
            rows[arm] |= exact_conditional_odds_ratio(table, alpha)
            rows[arm]["or_method"] = f"exact conditional (unadjusted; logistic not estimable: {exact[arm]})"
        else:
            name = f"C(Q({treatment!r}), Treatment({control!r}))[T.{arm}]"
            rows[arm] |= {"odds_ratio": np.exp(logit.params[name]), "or_ci_lower": np.exp(ci.loc[name, 0]),
                          "or_ci_upper": np.exp(ci.loc[name, 1]), "p_value": logit.pvalues[name],
                          "or_method": logistic}
        if strata:
            cmh_rows[arm], tables[arm] = _cmh(data[data[treatment].isin([arm, control])], treatment, arm, strata, alpha)
    digest = inputs_hash(data, [response, treatment, baseline, strata], control=control, alpha=alpha,
                         model="responders")
    return ResponderResult(rates=rates, comparisons=pd.DataFrame.from_dict(rows, orient="index"),
                           cmh=pd.DataFrame.from_dict(cmh_rows, orient="index"),
                           model_results={**({"logit": logit} if logit is not None else {}),
                                          **{f"cmh[{k}]": v for k, v in tables.items() if v is not None}},
                           control=control, alpha=alpha, inputs_hash=digest)


def exact_conditional_odds_ratio(table, alpha: float = 0.05) -> dict:
    """Exact conditional odds ratio of a 2x2 table ``[[a, b], [c, d]]`` (rows: arm, control;
    columns: responders, non-responders), as R's ``fisher.test``.

    Returns ``odds_ratio`` (conditional MLE: 0 or ``inf`` when a cell is 0; ``nan`` when no
    one or everyone responds), ``or_ci_lower``/``or_ci_upper`` (exact ``1 - alpha`` CI) and
    ``p_value`` (Fisher's exact test, two-sided), from scipy.
    """
    table = np.asarray(table, dtype=np.int64)
    result = scipy_odds_ratio(table, kind="conditional")
    ci = result.confidence_interval(confidence_level=1 - alpha)
    return {"odds_ratio": float(result.statistic), "or_ci_lower": float(ci.low), "or_ci_upper": float(ci.high),
            "p_value": float(fisher_exact(table).pvalue)}


def _fit_logit(formula: str, data: pd.DataFrame):
    """The logistic fit and ``None``, or ``None``/the fit and why its estimates do not exist.

    statsmodels signals separation with ``PerfectSeparationWarning`` (complete) or, when the
    Newton steps diverge, ``ConvergenceWarning`` and ``mle_retvals["converged"] = False``
    (quasi-complete); both are caught here, in this fit only, and turned into the reason.
    Other warnings are passed on.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", PerfectSeparationWarning)
        try:
            fit = smf.logit(formula, data).fit(disp=False, maxiter=LOGIT_MAXITER)
        except (PerfectSeparationError, np.linalg.LinAlgError) as exc:
            fit, reason = None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # not a property of the data's separation: fail loudly, as before
            raise ConvergenceError(f"logistic regression {formula} failed: {exc}") from exc
    for w in caught:
        if not issubclass(w.category, (ConvergenceWarning, PerfectSeparationWarning)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if fit is None:
        return None, reason
    fitted = np.asarray(fit.predict())
    if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
        return None, "perfect separation"
    if not fit.mle_retvals.get("converged", False):
        return None, f"no convergence in {LOGIT_MAXITER} Newton steps"
    if np.any((fitted < FITTED_PROBABILITY_ATOL) | (fitted > 1 - FITTED_PROBABILITY_ATOL)):
        return None, "fitted probability 0 or 1"
    if not (np.all(np.isfinite(fit.params)) and np.all(np.isfinite(fit.bse))):
        return None, "non-finite estimate or standard error"
    return fit, None


def _estimable_logit(formula, data, treatment, control, arms, rates):
    """The logistic fit to report, or ``None``, and ``{arm: reason}`` for the arms it cannot serve.

    An arm whose responders are none or all (a zero cell against any control) has an infinite
    coefficient; its subjects then add nothing to the likelihood of the other parameters, so the
    MLE of the others is the fit without that arm, which is refitted. A control with none or all
    responders, or a fit that fails otherwise (separation along the baseline covariate), leaves
    no arm estimable.
    """
    fit, reason = _fit_logit(formula, data)
    if fit is not None:
        return fit, {}

    def degenerate(arm):
        k, n = int(rates.loc[arm, "responders"]), int(rates.loc[arm, "n"])
        return f"{k}/{n} responders on {arm}" if k in (0, n) else None

    if degenerate(control):
        return None, {arm: degenerate(control) for arm in arms[1:]}
    separated = {arm: degenerate(arm) for arm in arms[1:] if degenerate(arm)}
    rest = [arm for arm in arms[1:] if arm not in separated]
    if separated and rest:
        fit, reason = _fit_logit(formula, data[~data[treatment].isin(list(separated))])
    if fit is None:
        return None, separated | {arm: reason for arm in rest}
    return fit, separated


def _cmh(data: pd.DataFrame, treatment: str, arm: object, strata: str, alpha: float):
    """Mantel–Haenszel odds ratio, CMH test and Breslow–Day test of one arm vs control over strata.

    A stratum with a zero row or column total (empty, one subject, one arm only, or all or no
    responders) has a fixed first cell and adds 0 to every sum of the MH odds ratio, its
    variance and the CMH statistic (R's ``mantelhaen.test`` formulas, which stop on a stratum of
    one subject, whose term is 0/0), and no information to Breslow–Day; such strata are left out
    and counted in ``n_strata_excluded``. With no informative stratum every result is NaN and
    ``cmh_note`` says why. When b·c = 0 (or a·d = 0) in every informative stratum the MH odds
    ratio Σ(a d / n) / Σ(b c / n) is infinite (or 0): it is reported as such, the CMH test is
    computed as usual, and the CI (the Robins–Breslow–Greenland variance of the log odds ratio
    divides by both sums) and Breslow–Day (which fits cells at the common odds ratio) are NaN,
    with ``cmh_note`` saying why; statsmodels would warn and return NaN there.
    """
    tables = []
    for _, group in data.groupby(strata, observed=True):
        treated = group[treatment] == arm
        tables.append(np.array([[np.sum(treated & (group["_y"] == 1)), np.sum(treated & (group["_y"] == 0))],
                                [np.sum(~treated & (group["_y"] == 1)), np.sum(~treated & (group["_y"] == 0))]]))
    informative = [t for t in tables if t.sum(axis=0).all() and t.sum(axis=1).all()]
    excluded = len(tables) - len(informative)
    notes = [f"{excluded} of {len(tables)} strata left out (a zero row or column total: no information)"] if excluded \
        else []
    if not informative:
        notes.append("undefined: no stratum has subjects of both arms and both outcomes")
        return {"mh_odds_ratio": np.nan, "mh_ci_lower": np.nan, "mh_ci_upper": np.nan, "cmh_statistic": np.nan,
                "cmh_p_value": np.nan, "breslow_day_p_value": np.nan, "n_strata": 0,
                "n_strata_excluded": excluded, "cmh_note": "; ".join(notes)}, None
    table = StratifiedTable(informative)
    test = table.test_null_odds(correction=False)
    ad = sum(t[0, 0] * t[1, 1] / t.sum() for t in informative)  # an informative stratum has ad > 0 or bc > 0
    bc = sum(t[0, 1] * t[1, 0] / t.sum() for t in informative)
    if ad > 0 and bc > 0:
        odds_ratio = table.oddsratio_pooled
        lo, hi = table.oddsratio_pooled_confint(alpha=alpha)
        homogeneity_p = table.test_equal_odds().pvalue
        if len(informative) == 1:
            notes.append("Breslow-Day undefined: one informative stratum")
    else:
        odds_ratio, lo, hi, homogeneity_p = (np.inf if bc == 0 else 0.0), np.nan, np.nan, np.nan
        notes.append(f"MH odds ratio {'infinite' if bc == 0 else '0'}: {'b·c' if bc == 0 else 'a·d'} = 0 in every "
                     "informative stratum; its CI (Robins-Breslow-Greenland variance of the log odds ratio) and "
                     "Breslow-Day are undefined (NaN)")
    return {"mh_odds_ratio": odds_ratio, "mh_ci_lower": lo, "mh_ci_upper": hi,
            "cmh_statistic": test.statistic, "cmh_p_value": test.pvalue,
            "breslow_day_p_value": homogeneity_p, "n_strata": len(informative),
            "n_strata_excluded": excluded, "cmh_note": "; ".join(notes)}, table
