"""Pre/post tests with effect sizes, Clopper–Pearson intervals and AE tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oasim.analysis import clopper_pearson, cohens_dz_ci, poisson_rate_ci, prepost, safety_table
from oasim.errors import FieldError


@pytest.mark.parametrize("count,nobs", [(0, 10), (1, 10), (7, 12), (12, 12), (3, 250), (45, 90)])
def test_clopper_pearson_equals_scipy_exact(count, nobs):
    lower, upper = clopper_pearson(count, nobs, alpha=0.05)
    ci = stats.binomtest(count, nobs).proportion_ci(confidence_level=0.95, method="exact")
    assert float(lower) == pytest.approx(ci.low, abs=1e-12)
    assert float(upper) == pytest.approx(ci.high, abs=1e-12)


def test_clopper_pearson_rejects_bad_counts():
    with pytest.raises(FieldError):
        clopper_pearson(5, 3)


def test_poisson_rate_ci_is_exact():
    lower, upper = poisson_rate_ci(4, 2.0)
    # the limits are the means at which P(X >= 4) and P(X <= 4) equal 2.5 %
    assert stats.poisson.sf(3, float(lower) * 2.0) == pytest.approx(0.025, abs=1e-10)
    assert stats.poisson.cdf(4, float(upper) * 2.0) == pytest.approx(0.025, abs=1e-10)


def _prepost_data(seed=3):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"TRT01P": np.repeat(["MSC", "Placebo"], 15), "BASE": rng.normal(60, 10, 30)})
    df["AVAL"] = df["BASE"] - np.where(df["TRT01P"] == "MSC", 12, 4) + rng.normal(0, 8, 30)
    return df


def test_prepost_matches_scipy_and_hand_effect_sizes():
    df = _prepost_data()
    res = prepost(df)
    for arm, group in df.groupby("TRT01P"):
        change = group["AVAL"] - group["BASE"]
        row = res.table.loc[arm]
        assert row["p_ttest"] == pytest.approx(stats.ttest_1samp(change, 0).pvalue, rel=1e-12)
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(change).pvalue, rel=1e-12)
        d_z = change.mean() / change.std(ddof=1)
        assert row["cohens_dz"] == pytest.approx(d_z, rel=1e-12)
        n = len(change)
        assert row["hedges_g"] == pytest.approx(d_z * (1 - 3 / (4 * (n - 1) - 1)), rel=1e-12)
        half = stats.t.ppf(0.975, n - 1) * change.std(ddof=1) / np.sqrt(n)
        assert [row["ci_lower"], row["ci_upper"]] == pytest.approx([change.mean() - half, change.mean() + half])
    assert "By arm" in str(res.summary())
    assert res.to_frame().shape[0] == 2


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%"), (0.025, "97.5%")])
def test_prepost_summary_says_its_level(alpha, level):
    df = _prepost_data()
    res = prepost(df, alpha=alpha)
    change = (df["AVAL"] - df["BASE"])[df["TRT01P"] == "MSC"]
    half = stats.t.ppf(1 - alpha / 2, change.size - 1) * change.std(ddof=1) / np.sqrt(change.size)
    assert res.table.loc["MSC", "ci_upper"] - change.mean() == pytest.approx(half, rel=1e-10)
    assert f"CI level         {level} (two-sided)" in str(res.summary())


def test_dz_ci_has_nominal_coverage_limits():
    # the limits put the observed t at the 97.5 % / 2.5 % quantile of the non-central t
    n, d_z = 20, 0.6
    lo, hi = cohens_dz_ci(d_z, n)
    t_obs = d_z * np.sqrt(n)
    assert stats.nct.cdf(t_obs, n - 1, lo * np.sqrt(n)) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t_obs, n - 1, hi * np.sqrt(n)) == pytest.approx(0.025, abs=1e-9)
    assert lo < d_z < hi


def test_prepost_needs_two_pairs():
    df = _prepost_data().iloc[:16]
    with pytest.raises(FieldError, match="at least 2"):
        prepost(df)


@pytest.fixture()
def trial_tables():
    adsl = pd.DataFrame({
        "USUBJID": [f"S{i}" for i in range(10)],
        "TRT01A": ["Placebo"] * 5 + ["MSC"] * 5,
        "DOSE": ["0"] * 5 + ["low", "low", "high", "high", "high"],
        "EXPDAYS": [365.25] * 10,
    })
    adae = pd.DataFrame({
        "USUBJID": ["S0", "S0", "S5", "S6", "S6", "S9"],
        "AEDECOD": ["Arthralgia", "Effusion", "Arthralgia", "Effusion", "Effusion", "Pain"],
        "AETOXGR": [1, 2, 1, 3, 1, 2],
        "ASTDY": [36.525, 100, 365.25 / 2, 50, 60, 365.25],
    })
    return adae, adsl


def test_safety_tables_count_subjects_by_hand(trial_tables):
    adae, adsl = trial_tables
    res = safety_table(adae, adsl, dose="DOSE", exposure_days="EXPDAYS", onset_day="ASTDY")
    assert res.any_ae.loc["MSC", "n"] == 3 and res.any_ae.loc["Placebo", "n"] == 1
    assert res.any_ae.loc["MSC", "pct"] == pytest.approx(60.0)
    lower, upper = clopper_pearson(3, 5)
    assert res.any_ae.loc["MSC", "ci_lower"] == pytest.approx(100 * float(lower))
    # S6 has two Effusion events: counted once
    assert res.by_term.loc[("Effusion", "MSC"), "n"] == 1
    assert res.by_term.loc[("Pain", "Placebo"), "n"] == 0
    # worst grade per subject: S0 -> 2, S5 -> 1, S6 -> 3, S9 -> 2
    assert res.by_max_grade.loc[(2, "MSC"), "n"] == 1
    assert res.by_max_grade.loc[(2, "Placebo"), "n"] == 1
    assert res.by_max_grade.loc[(3, "MSC"), "n"] == 1
    assert res.by_dose.loc["high", "N"] == 3 and res.by_dose.loc["high", "n"] == 1
    assert res.by_dose.loc["low", "n"] == 2
    # MSC time at risk: 5 years minus what is after first onset (S5 0.5 y, S6 50 d, S9 0 d lost)
    years = (365.25 * 2 + 365.25 / 2 + 50 + 365.25) / 365.25
    assert res.exposure_adjusted.loc["MSC", "subject_years"] == pytest.approx(years)
    assert res.exposure_adjusted.loc["MSC", "rate_per_100sy"] == pytest.approx(300 / years)
    assert set(res.to_frame()["table"]) == {"any_ae", "by_term", "by_max_grade", "by_dose", "exposure_adjusted"}
    assert "By preferred term" in str(res.summary())


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.025, "97.5%")])
def test_safety_summary_says_its_level(trial_tables, alpha, level):
    adae, adsl = trial_tables
    res = safety_table(adae, adsl, alpha=alpha)
    lower, _ = clopper_pearson(3, 5, alpha=alpha)
    assert res.any_ae.loc["MSC", "ci_lower"] == pytest.approx(100 * float(lower))
    text = str(res.summary())
    assert f"CI               {level} Clopper-Pearson" in text and "95%" not in text  # was "98%" at 0.025


def test_safety_rejects_unknown_subjects(trial_tables):
    adae, adsl = trial_tables
    with pytest.raises(FieldError, match="adae.USUBJID"):
        safety_table(adae.assign(USUBJID="X1"), adsl)
    with pytest.raises(FieldError, match="adsl.TRT01A"):
        safety_table(adae, adsl.drop(columns="TRT01A"))


def test_cohens_dz_ci_where_scipy_nct_cdf_is_nan():
    """scipy's nct.cdf is NaN far in a tail (n = 95, d_z = -0.721); the interval still comes out
    and its limits put the observed t at the 0.975 and 0.025 quantiles."""
    import numpy as np
    from scipy import stats

    from oasim.analysis import cohens_dz_ci

    d_z, n = -0.721, 95
    assert np.isnan(stats.nct.cdf(d_z * np.sqrt(n), n - 1, d_z * np.sqrt(n) + 10))
    lo, hi = cohens_dz_ci(d_z, n)
    t_obs = d_z * np.sqrt(n)
    assert stats.nct.cdf(t_obs, n - 1, lo * np.sqrt(n)) == pytest.approx(0.975, abs=1e-6)
    assert stats.nct.cdf(t_obs, n - 1, hi * np.sqrt(n)) == pytest.approx(0.025, abs=1e-6)
    se = np.sqrt(1 / n + d_z ** 2 / (2 * n))  # large-sample approximation as a cross-check
    assert lo == pytest.approx(d_z - 1.96 * se, abs=0.02) and hi == pytest.approx(d_z + 1.96 * se, abs=0.02)
