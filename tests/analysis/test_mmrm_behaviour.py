"""MMRM behaviour: recovery of a known covariance, missing visits vs a direct dense REML fit, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from oasim.analysis import ConvergenceError, mmrm
from oasim.analysis.repeated.optimise import minimise_reml
from oasim.errors import FieldError

TRUE_COV = np.array([[30.0, 18.0, 12.0, 8.0], [18.0, 40.0, 24.0, 16.0], [12.0, 24.0, 50.0, 30.0], [8.0, 16.0, 30.0, 60.0]])
VISITS = ["W4", "W12", "W26", "W52"]


def simulate(n_subjects: int, seed: int, cov=TRUE_COV, dropout: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n_subjects) % 2 == 0, "Placebo", "MSC")
    base = rng.normal(60, 10, n_subjects)
    errors = rng.multivariate_normal(np.zeros(4), cov, size=n_subjects)
    effect = np.where(arm == "MSC", 1.0, 0.0)[:, None] * np.array([-2.0, -5.0, -8.0, -10.0])
    chg = -0.2 * (base[:, None] - 60) + np.array([-3.0, -5.0, -6.0, -6.0]) + effect + errors
    if dropout:
        # monotone dropout driven by the observed previous change (MAR)
        for v in range(1, 4):
            p_drop = dropout / (1 + np.exp(-(chg[:, v - 1] - chg[:, v - 1].mean()) / 5))
            gone = rng.random(n_subjects) < p_drop
            chg[gone, v:] = np.nan
    rows = pd.DataFrame({
        "USUBJID": np.repeat([f"S{i:04d}" for i in range(n_subjects)], 4),
        "AVISIT": pd.Categorical(np.tile(VISITS, n_subjects), categories=VISITS),
        "TRT01P": np.repeat(arm, 4), "BASE": np.repeat(base, 4), "CHG": chg.ravel(),
    })
    return rows


@pytest.mark.parametrize("structure", ["us", "ar1h"])
def test_recovers_known_covariance(structure):
    cov = TRUE_COV if structure == "us" else np.outer(np.sqrt(np.diag(TRUE_COV)), np.sqrt(np.diag(TRUE_COV))) * \
        0.6 ** np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    res = mmrm(simulate(2000, seed=11, cov=cov), covariance=structure, control="Placebo", df_method="satterthwaite")
    estimate = res.covariance.to_numpy()
    # 2000 subjects: sampling SD of a covariance entry ~ sqrt(2/2000) * variance ~ 3 %
    assert np.allclose(estimate, cov, rtol=0.12, atol=2.5)
    msc_w52 = res.contrasts.set_index("visit").loc["W52", "estimate"]
    assert msc_w52 == pytest.approx(-10.0, abs=4 * res.contrasts.set_index("visit").loc["W52", "se"])


def _dense_reml(df: pd.DataFrame) -> tuple[float, np.ndarray]:
    """Independent REML by brute force: full N x N V, BFGS (numerical gradient) on Cholesky entries."""
    data = df.dropna(subset=["CHG"]).sort_values(["USUBJID", "AVISIT"])
    visit = data["AVISIT"].cat.codes.to_numpy()
    X = np.column_stack([
        np.ones(len(data)), (data["TRT01P"] == "MSC").to_numpy(float), data["BASE"].to_numpy(),
    ] + [(visit == v).astype(float) for v in range(1, 4)]
      + [((visit == v) & (data["TRT01P"] == "MSC").to_numpy()).astype(float) for v in range(1, 4)]
      + [(visit == v) * data["BASE"].to_numpy() for v in range(1, 4)])
    y = data["CHG"].to_numpy()
    same = data["USUBJID"].to_numpy()[:, None] == data["USUBJID"].to_numpy()[None, :]
    rows, cols = np.tril_indices(4)

    def neg2(theta):
        chol = np.zeros((4, 4))
        chol[rows, cols] = theta
        sigma = chol @ chol.T
        V = np.where(same, sigma[visit][:, visit], 0.0)
        Vinv = np.linalg.inv(V)
        XtVX = X.T @ Vinv @ X
        beta = np.linalg.solve(XtVX, X.T @ Vinv @ y)
        r = y - X @ beta
        return (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtVX)[1] + r @ Vinv @ r
                + (len(y) - X.shape[1]) * np.log(2 * np.pi))

    start = np.linalg.cholesky(np.diag([40.0] * 4))[rows, cols]
    result = optimize.minimize(neg2, start, method="BFGS", options={"gtol": 1e-6})
    result = optimize.minimize(neg2, result.x, method="BFGS", options={"gtol": 1e-7})
    chol = np.zeros((4, 4))
    chol[rows, cols] = result.x
    return result.fun, chol @ chol.T


def test_missing_visits_match_direct_likelihood_maximisation():
    df = simulate(40, seed=5, dropout=0.5)
    assert df["CHG"].isna().sum() > 15
    res = mmrm(df, control="Placebo", df_method="satterthwaite")
    dense_value, dense_cov = _dense_reml(df)
    assert res.neg2_reml_loglik == pytest.approx(dense_value, abs=1e-5)
    assert np.allclose(res.covariance.to_numpy(), dense_cov, rtol=1e-3, atol=1e-3)
    assert res.n_obs == int(df["CHG"].notna().sum())


def test_result_object_and_summary():
    res = mmrm(simulate(80, seed=2), control="Placebo")
    text = str(res.summary())
    assert "LS means" in text and "Treatment contrasts" in text and "Covariance parameters" in text
    frame = res.to_frame()
    assert set(frame["kind"]) == {"lsmean", "contrast"}
    assert len(res.inputs_hash) == 64
    assert res.aic > res.neg2_reml_loglik
    one = res.contrast(np.eye(len(res.model_result.beta))[1], "MSC vs Placebo at W4")
    assert one.iloc[0]["se"] > 0


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%")])
def test_summary_says_its_level(alpha, level):
    res = mmrm(simulate(40, seed=2), control="Placebo", alpha=alpha)
    c = res.contrasts
    half = stats.t.ppf(1 - alpha / 2, c["df"].to_numpy(float)) * c["se"].to_numpy(float)  # the quantile by hand
    np.testing.assert_allclose(c["ci_upper"] - c["estimate"], half, rtol=1e-10)
    text = str(res.summary())
    assert f"CI level         {level} (two-sided, t)" in text and ({"90%", "95%"} - {level}).pop() not in text


def test_bad_inputs_raise():
    df = simulate(30, seed=3)
    with pytest.raises(FieldError, match="df.CHANGE"):
        mmrm(df, response="CHANGE")
    with pytest.raises(FieldError, match="covariance"):
        mmrm(df, covariance="banded")
    with pytest.raises(FieldError, match="df_method"):
        mmrm(df, df_method="containment")
    with pytest.raises(FieldError, match="one row per"):
        mmrm(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(FieldError, match="at least 3 subjects"):
        mmrm(df[df["USUBJID"].isin(["S0000", "S0001"])])


def test_non_convergence_raises_clear_error():
    # an objective without a minimum: every optimiser fails and the error says why
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(ConvergenceError, match="did not converge"):
        minimise_reml(lambda t: (float(-np.sum(t**2)), -2 * t), np.array([0.5, 0.5]), max_iter=20)
