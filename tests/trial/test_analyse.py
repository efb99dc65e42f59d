"""The trial analysis gives the same numbers as statsmodels / scipy on a hand-built table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from oasim.data import TrialDataset
from oasim.trial.analyse import analyse


def hand_built_dataset(effect: float = 0.0, n_per_arm: int = 12, seed: int = 1) -> TrialDataset:
    rng = np.random.default_rng(seed)
    arms = ["Placebo"] * n_per_arm + ["1e+11 particles"] * n_per_arm
    n = len(arms)
    usubjid = [f"S-{i:03d}" for i in range(n)]
    base = rng.normal(40, 10, n).round()
    rows = []
    for i in range(n):
        rows.append((usubjid[i], "WOMAC_TOTAL", "BASELINE", 0, base[i]))
        for v, name in ((1, "MONTH 3"), (2, "MONTH 6")):
            shift = -5 - (effect if arms[i] != "Placebo" else 0.0)
            rows.append((usubjid[i], "WOMAC_TOTAL", name, v, round(base[i] + shift + rng.normal(0, 6), 0)))
    adqs = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVISIT", "AVISITN", "AVAL"])
    adqs["BASE"] = adqs.groupby("USUBJID")["AVAL"].transform("first")
    adqs["CHG"] = np.where(adqs["AVISITN"] > 0, adqs["AVAL"] - adqs["BASE"], np.nan)
    adqs["TRT01P"] = adqs["USUBJID"].map(dict(zip(usubjid, arms)))
    adsl = pd.DataFrame({"USUBJID": usubjid, "TRT01P": arms, "TRT01A": arms,
                         "TRTDOSE": [0.0 if a == "Placebo" else 1e11 for a in arms], "TRTDURD": 365.0})
    adae = pd.DataFrame({"USUBJID": usubjid[:3], "AEDECOD": ["Arthralgia"] * 3, "AETOXGR": [1, 2, 1],
                         "AESTDY": [3.0, 10.0, 40.0]})
    return TrialDataset("HAND", {"ADSL": adsl, "ADQS": adqs, "ADAE": adae}, blinded=False)


def test_ancova_and_paired_tests_equal_statsmodels_and_scipy():
    ds = hand_built_dataset(effect=4.0)
    res = analyse(ds, "WOMAC_TOTAL", 2, fit_mmrm=False)
    rows = ds["ADQS"][ds["ADQS"]["AVISITN"] == 2]
    fit = smf.ols("CHG ~ C(TRT01P, Treatment('Placebo')) + BASE", data=rows).fit()
    term = "C(TRT01P, Treatment('Placebo'))[T.1e+11 particles]"
    diff = res.ancova["WOMAC_TOTAL"].differences.loc["1e+11 particles"]
    assert diff["estimate"] == pytest.approx(fit.params[term], rel=1e-10)
    assert diff["se"] == pytest.approx(fit.bse[term], rel=1e-10)
    assert diff["p_value"] == pytest.approx(fit.pvalues[term], rel=1e-8)
    for arm, g in rows.groupby("TRT01P"):
        t = stats.ttest_rel(g["AVAL"], g["BASE"])
        row = res.prepost["WOMAC_TOTAL"].table.loc[arm]
        assert row["p_ttest"] == pytest.approx(t.pvalue, rel=1e-10)
        ch = res.change[(res.change["arm"] == arm) & (res.change["visitnum"] == 2)].iloc[0]
        assert ch["mean_chg"] == pytest.approx(g["CHG"].mean())
        half = stats.t.ppf(0.975, len(g) - 1) * g["CHG"].std(ddof=1) / np.sqrt(len(g))
        assert ch["ci_high"] - ch["mean_chg"] == pytest.approx(half)


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%")])
def test_summary_says_the_analysis_level(alpha, level):
    ds = hand_built_dataset(effect=4.0)
    res = analyse(ds, "WOMAC_TOTAL", 2, alpha=alpha)
    assert res.alpha == alpha and res.mmrm is not None
    g = ds["ADQS"][(ds["ADQS"]["AVISITN"] == 2) & (ds["ADQS"]["TRT01P"] == "Placebo")]["CHG"]
    ch = res.change[(res.change["arm"] == "Placebo") & (res.change["visitnum"] == 2)].iloc[0]
    half = stats.t.ppf(1 - alpha / 2, g.size - 1) * g.std(ddof=1) / np.sqrt(g.size)
    assert ch["ci_high"] - ch["mean_chg"] == pytest.approx(half, rel=1e-10)
    text = res.summary()
    assert text.startswith(f"Change from baseline (mean [{level} CI]) by arm:")
    assert text.count(f"{level} (two-sided, t)") == 2  # ANCOVA and MMRM
    assert f"{level} Clopper-Pearson" in text  # safety
    assert ({"90%", "95%"} - {level}).pop() not in text


def test_mmrm_runs_on_the_trial_tables():
    # Known answer: with complete data, unstructured covariance and every term by visit, the
    # MMRM contrast at a visit is that visit's ANCOVA (OLS) contrast, with its SE and df = n - 3
    ds = hand_built_dataset(effect=6.0, n_per_arm=20)
    res = analyse(ds, "WOMAC_TOTAL", 2)
    c = res.mmrm.contrasts.set_index("visit")
    assert list(c.index) == ["MONTH 3", "MONTH 6"]
    adqs = ds["ADQS"]
    term = "C(TRT01P, Treatment('Placebo'))[T.1e+11 particles]"
    for visitn, visit in ((1, "MONTH 3"), (2, "MONTH 6")):
        ols = smf.ols("CHG ~ C(TRT01P, Treatment('Placebo')) + BASE", adqs[adqs["AVISITN"] == visitn]).fit()
        assert c.loc[visit, "estimate"] == pytest.approx(ols.params[term], abs=1e-6)
        assert c.loc[visit, "se"] == pytest.approx(ols.bse[term], rel=1e-5)  # REML optimum to ~1e-6
        assert c.loc[visit, "df"] == pytest.approx(ols.df_resid, abs=1e-3)
        assert c.loc[visit, "p_value"] == pytest.approx(ols.pvalues[term], rel=1e-4)


@pytest.mark.parametrize("change, match", [
    (lambda ds: ds["ADSL"].assign(TRT01P=ds["ADSL"]["TRT01P"].replace("Placebo", "PLACEBO")),
     r"ADSL\.TRT01P = 'Placebo'.*have \['PLACEBO'"),
    (lambda ds: ds["ADSL"].iloc[1:], r"ADQS\.USUBJID = \['S-000'\].*absent from ADSL"),
])
def test_real_data_adsl_problems_are_named_errors(change, match):
    """Issue 11 item 5: a control arm spelled 'PLACEBO' or subjects absent from ADSL stop the analysis."""
    from oasim.errors import AdamError

    ds = hand_built_dataset()
    bad = TrialDataset("HAND", {**ds.tables, "ADSL": change(ds)}, blinded=False)
    with pytest.raises(AdamError, match=match):
        analyse(bad, "WOMAC_TOTAL", 2, fit_mmrm=False)


def test_duplicated_records_and_wrong_chg_are_named_errors():
    from oasim.errors import AdamError

    ds = hand_built_dataset()
    adqs = ds["ADQS"]
    doubled = TrialDataset("HAND", {**ds.tables, "ADQS": pd.concat([adqs, adqs.iloc[[4]]])}, blinded=False)
    with pytest.raises(AdamError, match=r"USUBJID/PARAMCD/AVISITN = \('S-001', 'WOMAC_TOTAL', 1\)"):
        analyse(doubled, "WOMAC_TOTAL", 2, fit_mmrm=False)
    wrong = adqs.copy()
    wrong.loc[wrong.index[2], "CHG"] += 2.0
    with pytest.raises(AdamError, match=r"ADQS\.CHG = .*CHG must equal AVAL - BASE"):
        analyse(TrialDataset("HAND", {**ds.tables, "ADQS": wrong}, blinded=False), "WOMAC_TOTAL", 2, fit_mmrm=False)
