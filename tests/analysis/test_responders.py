"""Responder definitions on hand-made edge cases; RD/OR/CMH against statsmodels and R; the exact
conditional odds ratio against R's fisher.test and the exact roots of its defining equations."""

from __future__ import annotations

import math
import warnings
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats
import statsmodels.formula.api as smf
from statsmodels.stats.contingency_tables import StratifiedTable

from oasim.analysis import mcid_responder, omeract_oarsi_responder, responders
from oasim.analysis.responders import exact_conditional_odds_ratio
from oasim.errors import FieldError

from .conftest import read_reference

NAN = np.nan

# columns: pain0, pain1, func0, func1, glob0, glob1, expected
CASES = [
    (60, 30, 50, 50, 50, 50, True),     # pain -50 % and -30 points: high improvement
    (30, 16, 50, 50, 50, 50, False),    # pain -53 % but only 14 points: not high; 1 of 3 moderate
    (60, 30.1, 50, 50, 50, 50, False),  # pain 49.8 %: not high; only pain moderate
    (50, 50, 40, 20, 50, 50, True),     # function exactly -50 % and -20 points: boundary counts
    (50, 40, 50, 40, 50, 50, True),     # pain and function exactly -20 % and -10: two of three
    (50, 41, 50, 40, 50, 40, True),     # pain 9 points (fails) but function and global pass
    (50, 41, 50, 41, 50, 40, False),    # only global passes
    (40, 31, 60, 48, 70, 56, True),     # pain 22.5 % but 9 pts fails; function 20 %/12 and global 20 %/14 pass
    (10, 2, 12, 4, 90, 90, False),      # 80 % relative but < 10 points absolute everywhere
    (0, 0, 50, 40, 50, 40, True),       # zero baseline pain cannot improve; function + global pass
    (60, 30, NAN, NAN, NAN, NAN, True),  # high pain improvement decides despite missing others
    (50, 40, 50, 40, NAN, NAN, True),   # two of three known to pass
    (50, 45, 50, 40, NAN, NAN, None),   # one passes, global unknown: undetermined
    (50, 55, 50, 60, 50, 60, False),    # worsening everywhere
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_omeract_oarsi_edge_cases(case):
    *values, expected = case
    status = omeract_oarsi_responder(*[[v] for v in values]).iloc[0]
    if expected is None:
        assert pd.isna(status)
    else:
        assert bool(status) is expected


def test_omeract_oarsi_vectorised_and_range_checked():
    values = list(zip(*[c[:6] for c in CASES[:8]]))
    status = omeract_oarsi_responder(*values)
    assert status.tolist() == [c[6] for c in CASES[:8]]
    with pytest.raises(FieldError):
        omeract_oarsi_responder([150], [10], [50], [50], [50], [50])


def test_mcid_responder():
    status = mcid_responder([50, 50, 50, NAN], [40.9, 41, 60, 20], mcid=9.1)
    assert status.iloc[:3].tolist() == [True, False, False]
    assert pd.isna(status.iloc[3])
    assert mcid_responder([10], [20], mcid=9.1, lower_is_better=False).iloc[0]
    with pytest.raises(FieldError):
        mcid_responder([1], [1], mcid=0)


def _trial(seed=4, n=120):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"TRT01P": rng.choice(["Placebo", "MSC"], n), "BASE": rng.normal(60, 10, n),
                       "SITE": rng.choice(["A", "B", "C"], n)})
    logit = -0.5 + 1.0 * (df["TRT01P"] == "MSC") + 0.03 * (df["BASE"] - 60)
    df["RESPFL"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Y", "N")
    return df


def test_rates_risk_difference_and_adjusted_odds_ratio():
    df = _trial()
    res = responders(df, baseline="BASE", strata="SITE")
    y = (df["RESPFL"] == "Y").astype(float)
    for arm in ("Placebo", "MSC"):
        assert res.rates.loc[arm, "rate"] == pytest.approx(y[df["TRT01P"] == arm].mean())
    rd = res.rates.loc["MSC", "rate"] - res.rates.loc["Placebo", "rate"]
    assert res.comparisons.loc["MSC", "risk_difference"] == pytest.approx(rd)
    lo, hi = res.comparisons.loc["MSC", ["rd_ci_lower", "rd_ci_upper"]]
    # Newcombe (1998) method 10, by hand: Wilson limits of each rate, combined in quadrature
    z = stats.norm.ppf(0.975)

    def wilson(k, n):
        p = k / n
        centre, half = p + z**2 / (2 * n), z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return p, (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)

    p1, l1, u1 = wilson(y[df["TRT01P"] == "MSC"].sum(), (df["TRT01P"] == "MSC").sum())
    p0, l0, u0 = wilson(y[df["TRT01P"] == "Placebo"].sum(), (df["TRT01P"] == "Placebo").sum())
    assert lo == pytest.approx(rd - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), abs=1e-10)
    assert hi == pytest.approx(rd + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2), abs=1e-10)
    direct = smf.logit("y ~ C(TRT01P, Treatment('Placebo')) + BASE", df.assign(y=y)).fit(disp=False)
    name = "C(TRT01P, Treatment('Placebo'))[T.MSC]"
    assert res.comparisons.loc["MSC", "odds_ratio"] == pytest.approx(np.exp(direct.params[name]), rel=1e-8)
    assert res.comparisons.loc["MSC", "or_method"] == "logistic (adjusted for BASE)"
    assert res.cmh.loc["MSC", "n_strata"] == 3
    assert "Cochran-Mantel-Haenszel" in str(res.summary())
    assert res.to_frame().shape[0] == 1


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%")])
def test_summary_says_its_level(alpha, level):
    df = _trial()
    res = responders(df, baseline="BASE", alpha=alpha)
    y = df.loc[df["TRT01P"] == "MSC", "RESPFL"] == "Y"
    exact = stats.binomtest(int(y.sum()), y.size).proportion_ci(confidence_level=1 - alpha, method="exact")
    assert res.rates.loc["MSC", ["ci_lower", "ci_upper"]].tolist() == pytest.approx([exact.low, exact.high],
                                                                                    abs=1e-12)
    text = str(res.summary())
    assert f"CI level         {level} (two-sided)" in text and ({"90%", "95%"} - {level}).pop() not in text


def test_cmh_matches_r_mantelhaen_on_adcibc(adcibc):
    data = adcibc[(adcibc["TRTPN"] != 54) & (adcibc["AGEGR1"] != ">80")].assign(RESP=lambda d: d["SEX"] == "M")
    assert len(data) == 111
    res = responders(data, response="RESP", treatment="TRTP", control="Placebo", strata="AGEGR1")
    row = res.cmh.loc["Xanomeline High Dose"]
    for ref in read_reference("cmh_adcibc_r.csv").to_dict("records"):
        assert row[ref["quantity"]] == pytest.approx(ref["value"], abs=ref["abs_tol"])


def test_bad_flags_raise():
    df = _trial().assign(RESPFL="maybe")
    with pytest.raises(FieldError, match="RESPFL"):
        responders(df)


def _exact_by_roots(table, alpha):
    """Conditional MLE and exact CI of a 2x2 table from their definitions, solved as polynomials.

    Given the margins, the count x = table[0][0] follows Fisher's noncentral hypergeometric
    distribution, P(X = k) proportional to w_k psi^k with w_k = C(m1, k) C(m2, t - k). The MLE solves
    E[X] = x, i.e. sum (k - x) w_k psi^k = 0; the lower limit P(X >= x) = alpha/2, i.e.
    sum_{k>=x} w_k psi^k - alpha/2 sum_k w_k psi^k = 0; the upper P(X <= x) = alpha/2 likewise. Each is
    a polynomial in psi with a single positive root (numpy.roots, machine precision).
    """
    (a, b), (c, d) = table
    m1, m2, t = a + b, c + d, a + c
    ks = np.arange(max(0, t - m2), min(m1, t) + 1)
    w = np.array([comb(m1, k) * comb(m2, t - k) for k in ks], dtype=float)

    def root(coef_by_k):
        coeffs = np.zeros(ks.max() + 1)
        coeffs[ks] = coef_by_k
        r = np.roots(coeffs[::-1])
        r = r[(np.abs(r.imag) < 1e-12) & (r.real > 0)].real
        assert len(r) == 1
        return r[0]

    lo = 0.0 if a == ks.min() else root(w * (ks >= a) - alpha / 2 * w)
    hi = np.inf if a == ks.max() else root(w * (ks <= a) - alpha / 2 * w)
    mle = 0.0 if a == ks.min() else np.inf if a == ks.max() else root((ks - a) * w)
    return mle, lo, hi


def test_exact_conditional_odds_ratio_matches_r_fisher_test_tea_tasting():
    # R: fisher.test(TeaTasting), TeaTasting = [[3, 1], [1, 3]] (R documentation of fisher.test;
    # output as printed in the Penn State STAT 504 lesson 4 TeaLady.out):
    # p-value = 0.4857, 95 percent CI 0.2117329 621.9337505, odds ratio 6.408309; with
    # alternative = "greater" the one-sided 95 % lower limit (= the two-sided 90 % one) is 0.3135693.
    table = [[3, 1], [1, 3]]
    res = exact_conditional_odds_ratio(table, alpha=0.05)
    mle, lo, hi = _exact_by_roots(table, 0.05)
    for key, exact in (("odds_ratio", mle), ("or_ci_lower", lo), ("or_ci_upper", hi)):
        assert res[key] == pytest.approx(exact, rel=1e-9)
    assert res["p_value"] == pytest.approx(34 / 70, rel=1e-12)  # (1 + 16 + 16 + 1) / C(8, 4), the two tails
    assert res["odds_ratio"] == pytest.approx(6.408309, rel=1e-5)
    assert res["p_value"] == pytest.approx(0.4857, abs=5e-5)
    # R finds the limits with uniroot at its default tol = .Machine$double.eps^0.25 = 1.22e-4, on
    # psi for the lower limit and on 1/psi for the upper one (fisher.test source, ncp.L / ncp.U),
    # so its printed limits are that far from the exact roots (upper: 621.93 vs 626.24)
    r_tol = np.finfo(float).eps ** 0.25
    assert res["or_ci_lower"] == pytest.approx(0.2117329, abs=r_tol)
    assert 1 / res["or_ci_upper"] == pytest.approx(1 / 621.9337505, abs=r_tol)
    assert exact_conditional_odds_ratio(table, alpha=0.10)["or_ci_lower"] == pytest.approx(0.3135693, abs=r_tol)


def _two_arm(k_control, k_active, n=6, seed=11):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"TRT01P": ["Placebo"] * n + ["MSC"] * n, "BASE": rng.normal(60, 10, 2 * n),
                         "RESPFL": [1] * k_control + [0] * (n - k_control) + [1] * k_active + [0] * (n - k_active)})


@pytest.mark.parametrize("k_control, k_active", [(0, 6), (6, 0), (3, 0), (0, 3), (3, 6)],
                         ids=["complete", "complete-reversed", "quasi-active-none", "quasi-control-none",
                              "quasi-active-all"])
def test_separated_table_gives_exact_conditional_without_warnings(k_control, k_active):
    df = _two_arm(k_control, k_active)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that leaks fails the test
        res = responders(df, baseline="BASE", control="Placebo")
    row = res.comparisons.loc["MSC"]
    degenerate = "Placebo" if k_control in (0, 6) else "MSC"
    k = k_control if degenerate == "Placebo" else k_active
    assert row["or_method"] == ("exact conditional (unadjusted; logistic not estimable: "
                                f"{k}/6 responders on {degenerate})")
    table = [[k_active, 6 - k_active], [k_control, 6 - k_control]]
    mle, lo, hi = _exact_by_roots(table, 0.05)
    for key, exact in (("odds_ratio", mle), ("or_ci_lower", lo), ("or_ci_upper", hi)):
        assert row[key] == pytest.approx(exact, rel=1e-9)
    assert row["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    if (k_control, k_active) in ((0, 6), (6, 0)):
        assert row["p_value"] == pytest.approx(2 / comb(12, 6), rel=1e-12)  # the two extreme tables of 924
    assert "logit" not in res.model_results


def test_separated_arm_leaves_the_others_logistic():
    # arm "A" 6/6 responders: its coefficient is infinite and its subjects drop out of the
    # likelihood of the rest, so arm "B" gets the fit without "A"
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"TRT01P": ["Placebo"] * 8 + ["A"] * 6 + ["B"] * 8, "BASE": rng.normal(60, 10, 22),
                       "RESPFL": [1, 0, 0, 1, 0, 1, 0, 0] + [1] * 6 + [1, 1, 0, 1, 0, 1, 1, 0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = responders(df, baseline="BASE")
    assert res.comparisons.loc["A", "or_method"].startswith("exact conditional (unadjusted; logistic not "
                                                            "estimable: 6/6 responders on A")
    assert res.comparisons.loc["B", "or_method"] == "logistic (adjusted for BASE)"
    rest = df[df["TRT01P"] != "A"].assign(y=lambda d: d["RESPFL"].astype(float))
    direct = smf.logit("y ~ C(TRT01P, Treatment('Placebo')) + BASE", rest).fit(disp=False)
    name = "C(TRT01P, Treatment('Placebo'))[T.B]"
    assert res.comparisons.loc["B", "odds_ratio"] == pytest.approx(np.exp(direct.params[name]), rel=1e-8)
    assert res.comparisons.loc["B", "p_value"] == pytest.approx(direct.pvalues[name], rel=1e-8)


def test_separation_by_the_covariate_makes_every_row_exact():
    # no zero cell, but BASE > 60 predicts response perfectly: the adjusted model has no MLE
    df = pd.DataFrame({"TRT01P": ["Placebo"] * 6 + ["MSC"] * 6,
                       "BASE": [50, 52, 54, 66, 68, 70, 51, 53, 65, 67, 69, 71]})
    df["RESPFL"] = (df["BASE"] > 60).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = responders(df, baseline="BASE")
    row = res.comparisons.loc["MSC"]
    assert row["or_method"].startswith("exact conditional (unadjusted; logistic not estimable: ")
    assert row["odds_ratio"] == pytest.approx(_exact_by_roots([[4, 2], [3, 3]], 0.05)[0], rel=1e-9)


def _stratified(strata):
    """One row per subject from ``{stratum: [[a, b], [c, d]]}`` (rows: MSC, Placebo; columns:
    responders, non-responders)."""
    rows = []
    for name, ((a, b), (c, d)) in strata.items():
        for arm, k, n in (("MSC", a, a + b), ("Placebo", c, c + d)):
            rows += [{"TRT01P": arm, "SITE": name, "RESPFL": "Y" if i < k else "N"} for i in range(n)]
    return pd.DataFrame(rows)


# Two informative strata, by hand (n = 10 each):
#   A [[3, 2], [1, 4]]: row totals 5, 5, column totals 4, 6; B [[4, 1], [2, 3]]: 5, 5 and 6, 4.
#   MH OR = sum(a d / n) / sum(b c / n) = (12/10 + 12/10) / (2/10 + 2/10) = 6.
#   CMH (no continuity correction, as R's mantelhaen.test(correct = FALSE)):
#   sum(a - r1 c1 / n) = (3 - 2) + (4 - 3) = 2; variance sum(r1 r2 c1 c2 / (n^2 (n - 1)))
#   = 600/900 + 600/900 = 4/3; statistic 2^2 / (4/3) = 3, p = P(chi2_1 > 3) = erfc(sqrt(1.5)).
#   Breslow-Day: each stratum's OR is 12/2 = 6 = the MH OR, so the fitted first cells equal the
#   observed (3 and 4): statistic 0, p = 1.
# Degenerate strata add nothing: C has one subject (R's mantelhaen.test stops on it, "sample size
# in each stratum must be > 1"; in its formulas the term is 0/0, with limit 0: the first cell is
# fixed); D has all responders, E only MSC subjects: a zero column/row total makes a d = b c = 0
# and a - r1 c1 / n = 0 and r1 r2 c1 c2 = 0, so R gives for A, B, D, E exactly the A, B result.
INFORMATIVE = {"A": [[3, 2], [1, 4]], "B": [[4, 1], [2, 3]]}
DEGENERATE = {"C": [[1, 0], [0, 0]], "D": [[3, 0], [2, 0]], "E": [[2, 1], [0, 0]]}


def test_cmh_leaves_out_strata_with_a_zero_margin():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 inside statsmodels
        res = responders(_stratified(INFORMATIVE | DEGENERATE), strata="SITE")
    row = res.cmh.loc["MSC"]
    assert row["mh_odds_ratio"] == pytest.approx(6.0, rel=1e-12)
    assert row["cmh_statistic"] == pytest.approx(3.0, rel=1e-12)
    assert row["cmh_p_value"] == pytest.approx(math.erfc(math.sqrt(1.5)), rel=1e-12)
    assert row["breslow_day_p_value"] == pytest.approx(1.0, abs=1e-12)
    assert (row["n_strata"], row["n_strata_excluded"]) == (2, 3)
    assert "3 of 5 strata left out" in row["cmh_note"]
    ref = StratifiedTable([np.array(t) for t in INFORMATIVE.values()])
    assert (row["mh_ci_lower"], row["mh_ci_upper"]) == pytest.approx(ref.oddsratio_pooled_confint(), rel=1e-12)
    alone = responders(_stratified(INFORMATIVE), strata="SITE").cmh.loc["MSC"]
    assert alone["n_strata_excluded"] == 0 and alone["cmh_note"] == ""
    cols = ["mh_odds_ratio", "mh_ci_lower", "mh_ci_upper", "cmh_statistic", "cmh_p_value", "breslow_day_p_value"]
    assert row[cols].tolist() == alone[cols].tolist()


def test_cmh_stratum_without_the_pair_does_not_count():
    df = pd.concat([_stratified(INFORMATIVE), pd.DataFrame({"TRT01P": "Other", "SITE": "F", "RESPFL": ["Y", "N"]})])
    row = responders(df, strata="SITE").cmh.loc["MSC"]
    assert (row["n_strata"], row["n_strata_excluded"]) == (2, 0)
    assert row["cmh_statistic"] == pytest.approx(3.0, rel=1e-12)


def test_cmh_undefined_when_no_stratum_is_informative():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = responders(_stratified(DEGENERATE | {"G": [[0, 2], [0, 3]]}), strata="SITE")
    row = res.cmh.loc["MSC"]
    for col in ("mh_odds_ratio", "mh_ci_lower", "mh_ci_upper", "cmh_statistic", "cmh_p_value",
                "breslow_day_p_value"):
        assert np.isnan(row[col]), col
    assert (row["n_strata"], row["n_strata_excluded"]) == (0, 4)
    assert "undefined: no stratum has subjects of both arms and both outcomes" in row["cmh_note"]
    assert "cmh[MSC]" not in res.model_results


def test_cmh_one_informative_stratum():
    # A alone: CMH 1^2 / (2/3) = 1.5 (R mantelhaen.test(correct = FALSE) on A); Breslow-Day has 0 df.
    row = responders(_stratified({"A": INFORMATIVE["A"], "D": DEGENERATE["D"]}), strata="SITE").cmh.loc["MSC"]
    assert row["cmh_statistic"] == pytest.approx(1.5, rel=1e-12)
    assert row["mh_odds_ratio"] == pytest.approx(6.0, rel=1e-12)
    assert np.isnan(row["breslow_day_p_value"])
    assert "Breslow-Day undefined: one informative stratum" in row["cmh_note"]


def test_cmh_infinite_pooled_odds_ratio_is_reported_without_warnings():
    # By hand: A [[3, 0], [1, 4]] and B [[4, 1], [0, 3]] (n = 8 each) have b c = 0 in both strata:
    # MH OR = sum(a d / n) / sum(b c / n) = (12/8 + 12/8) / 0 = inf. CMH: A has r1 3, r2 5, c1 4,
    # c2 4, E[a] = 1.5, var = 3·5·4·4 / (64·7) = 15/28; B has r1 5, r2 3, E[a] = 2.5, var 15/28;
    # sum(a - E[a]) = 1.5 + 1.5 = 3, statistic 9 / (30/28) = 8.4, p = P(chi2_1 > 8.4) = erfc(sqrt(4.2)).
    strata = {"A": [[3, 0], [1, 4]], "B": [[4, 1], [0, 3]]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' divide-by-zero RuntimeWarnings do not leak
        res = responders(_stratified(strata), strata="SITE")
    row = res.cmh.loc["MSC"]
    assert row["mh_odds_ratio"] == np.inf
    assert row["cmh_statistic"] == pytest.approx(8.4, rel=1e-12)
    assert row["cmh_p_value"] == pytest.approx(math.erfc(math.sqrt(4.2)), rel=1e-12)
    for col in ("mh_ci_lower", "mh_ci_upper", "breslow_day_p_value"):
        assert np.isnan(row[col]), col
    assert "MH odds ratio infinite: b·c = 0 in every informative stratum" in row["cmh_note"]
    assert (row["n_strata"], row["n_strata_excluded"]) == (2, 0)
    # the mirror image (arms swapped in every stratum: a d = 0) gives OR 0 and the same test
    mirror = {k: [t[1], t[0]] for k, t in strata.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = responders(_stratified(mirror), strata="SITE").cmh.loc["MSC"]
    assert row["mh_odds_ratio"] == 0.0 and row["cmh_statistic"] == pytest.approx(8.4, rel=1e-12)
    assert np.isnan(row["mh_ci_lower"]) and "MH odds ratio 0: a·d = 0" in row["cmh_note"]
