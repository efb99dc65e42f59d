"""ANCOVA against SAS PROC GLM (leprosy example) and against a direct statsmodels fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from oasim.analysis import ancova
from oasim.errors import FieldError, OasimError

from .conftest import read_reference


@pytest.fixture(scope="module")
def sas_fit(ancova_drug):
    return ancova(ancova_drug, response="post", treatment="drug", baseline="pre", control="F")


def _oasim_value(fit, quantity: str, term: str) -> float:
    type1 = __import__("statsmodels.api").api.stats.anova_lm(fit.model_result, typ=1)
    lookup = {
        "type1_ss": lambda: type1["sum_sq"].iloc[["drug", "pre"].index(term)],
        "type3_ss": lambda: fit.type3.loc[term, "sum_sq"],
        "type3_F": lambda: fit.type3.loc[term, "F"],
        "type3_p": lambda: fit.type3.loc[term, "p_value"],
        "lsmean": lambda: fit.lsmeans.loc[term, "estimate"],
        "lsmean_se": lambda: fit.lsmeans.loc[term, "se"],
        "lsmean_lower": lambda: fit.lsmeans.loc[term, "ci_lower"],
        "lsmean_upper": lambda: fit.lsmeans.loc[term, "ci_upper"],
        "estimate_vs_F": lambda: fit.differences.loc[term, "estimate"],
        "se_vs_F": lambda: fit.differences.loc[term, "se"],
        "p_vs_F": lambda: fit.differences.loc[term, "p_value"],
        "slope": lambda: fit.model_result.params["Q('pre')"],
        "slope_se": lambda: fit.model_result.bse["Q('pre')"],
        "root_mse": lambda: np.sqrt(fit.model_result.mse_resid),
        "r_squared": lambda: fit.model_result.rsquared,
    }
    return float(lookup[quantity]())


def _half_unit_in_last_place(printed: str) -> float:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


@pytest.mark.parametrize("row", read_reference("sas_glm_ancova_drug.csv", dtype={"value": str}).to_dict("records"),
                         ids=lambda r: f"{r['quantity']}-{r['term']}")
def test_matches_sas_proc_glm(sas_fit, row):
    value = _oasim_value(sas_fit, row["quantity"], row["term"])
    # the reference is rounded to its printed digits: allow half a unit in the last printed place
    # (worst case measured: 0.93 of it, the LS mean of A, as correct rounding allows; 1e-12 absorbs
    # the binary representation)
    assert abs(value - float(row["value"])) <= _half_unit_in_last_place(row["value"]) + 1e-12


def test_equals_direct_statsmodels_formula_fit():
    rng = np.random.default_rng(20240601)
    n = 90
    df = pd.DataFrame({
        "TRT01P": rng.choice(["Placebo", "MSC low", "MSC high"], n),
        "SEX": rng.choice(["F", "M"], n),
        "BASE": rng.normal(60, 12, n),
        "AGE": rng.normal(62, 8, n),
    })
    effect = df["TRT01P"].map({"Placebo": 0.0, "MSC low": -4.0, "MSC high": -8.0})
    df["CHG"] = -0.3 * (df["BASE"] - 60) + effect + 2.0 * (df["SEX"] == "F") + rng.normal(0, 9, n)
    res = ancova(df, covariates=["SEX", "AGE"])
    direct = smf.ols("CHG ~ C(TRT01P, Treatment('Placebo')) + BASE + C(SEX) + AGE", df).fit()
    for arm in ("MSC low", "MSC high"):
        name = f"C(TRT01P, Treatment('Placebo'))[T.{arm}]"
        assert res.estimate[arm] == pytest.approx(direct.params[name], rel=1e-10)
        assert res.differences.loc[arm, "se"] == pytest.approx(direct.bse[name], rel=1e-10)
        lo, hi = direct.conf_int().loc[name]
        assert res.ci.loc[arm].tolist() == pytest.approx([lo, hi], rel=1e-10)
    # LS mean of placebo: prediction at mean BASE/AGE, averaged over SEX with equal weights
    grid = pd.DataFrame({"TRT01P": "Placebo", "SEX": ["F", "M"], "BASE": df.BASE.mean(), "AGE": df.AGE.mean()})
    assert res.lsmeans.loc["Placebo", "estimate"] == pytest.approx(direct.predict(grid).mean(), rel=1e-10)


def test_result_object(sas_fit):
    text = str(sas_fit.summary())
    assert "Type III" in text and "LS means" in text
    assert "<table" in sas_fit.summary()._repr_html_()
    frame = sas_fit.to_frame()
    assert set(frame["kind"]) == {"lsmean", "difference"}
    assert len(sas_fit.inputs_hash) == 64
    with pytest.raises(AttributeError):
        sas_fit.alpha = 0.1  # frozen


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%")])
def test_ci_at_alpha_and_ci_95_a_deprecated_alias(ancova_drug, alpha, level):
    res = ancova(ancova_drug, response="post", treatment="drug", baseline="pre", control="F", alpha=alpha)
    direct = smf.ols("post ~ C(drug, Treatment('F')) + pre", ancova_drug).fit().conf_int(alpha=alpha)
    for arm in ("A", "D"):
        expected = direct.loc[f"C(drug, Treatment('F'))[T.{arm}]"].tolist()
        assert res.ci.loc[arm].tolist() == pytest.approx(expected, rel=1e-10)
    assert list(res.ci.columns) == ["ci_lower", "ci_upper"]
    assert res.ci_level == pytest.approx(1 - alpha, abs=1e-15)
    with pytest.warns(DeprecationWarning, match=r"AncovaResult\.ci "):
        old = res.ci_95
    pd.testing.assert_frame_equal(old, res.ci)
    text = str(res.summary())
    assert f"CI level         {level} (two-sided, t)" in text
    assert ({"90%", "95%"} - {level}).pop() not in text


def test_inputs_hash_tracks_data(ancova_drug, sas_fit):
    changed = ancova_drug.copy()
    changed.loc[0, "post"] += 1
    other = ancova(changed, response="post", treatment="drug", baseline="pre", control="F")
    assert other.inputs_hash != sas_fit.inputs_hash
    again = ancova(ancova_drug, response="post", treatment="drug", baseline="pre", control="F")
    assert again.inputs_hash == sas_fit.inputs_hash


def test_bad_input_raises(ancova_drug):
    with pytest.raises(FieldError, match="df.CHG"):
        ancova(ancova_drug)
    with pytest.raises(FieldError, match="drug"):
        ancova(ancova_drug, response="post", treatment="drug", baseline="pre", control="Placebo")
    with pytest.raises(OasimError):
        ancova(ancova_drug.head(3), response="post", treatment="drug", baseline="pre", control="A")


def test_array_fit_equals_the_formula_fit(ancova_drug):
    """ancova_differences (arrays, no formula) gives ancova()'s differences bit for bit: the SAS
    leprosy data (control F, the last level, and A, the first), a simulated 4-arm trial with
    missing values, and the same named errors."""
    from oasim.analysis.ancova import ancova_differences

    for control in ("F", "A"):
        args = dict(response="post", treatment="drug", baseline="pre", control=control, alpha=0.1)
        pd.testing.assert_frame_equal(ancova_differences(ancova_drug, **args), ancova(ancova_drug, **args).differences,
                                      check_exact=True)
    rng = np.random.default_rng(7)
    n = 40
    df = pd.DataFrame({"TRT01P": rng.choice(["1e+11 particles", "3e+11 particles", "1e+12 particles", "Placebo"], n),
                       "BASE": rng.normal(50, 10, n)})
    df["CHG"] = -0.2 * df["BASE"] + rng.normal(0, 8, n)
    df.loc[[3, 11], "CHG"] = np.nan
    df.loc[5, "BASE"] = np.nan
    pd.testing.assert_frame_equal(ancova_differences(df), ancova(df).differences, check_exact=True)
    with pytest.raises(FieldError, match="drug"):
        ancova_differences(ancova_drug, response="post", treatment="drug", baseline="pre", control="Placebo")
    three = pd.concat([ancova_drug[ancova_drug["drug"] == "A"].head(2), ancova_drug[ancova_drug["drug"] == "F"].head(1)])
    for fit in (ancova, ancova_differences):  # 3 rows, 3 coefficients: no residual degrees of freedom
        with pytest.raises(FieldError, match="complete rows"):
            fit(three, response="post", treatment="drug", baseline="pre", control="A")
    with pytest.raises(FieldError, match="alpha"):
        ancova_differences(df, alpha=1.5)
