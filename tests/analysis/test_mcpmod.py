"""MCP-Mod: contrasts, critical values, detection and type I error by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oasim.analysis import mcp_mod
from oasim.analysis.mcpmod import model_shape
from oasim.errors import FieldError

DOSES = np.array([0.0, 0.05, 0.2, 0.6, 1.0])


def _trial(effect, n_per_arm=40, sd=0.65, seed=1):
    rng = np.random.default_rng(seed)
    dose = np.repeat(DOSES, n_per_arm)
    return pd.DataFrame({"DOSE": dose, "CHG": 0.2 + effect(dose) + rng.normal(0, sd, len(dose))})


def test_single_candidate_critical_value_is_t_quantile():
    res = mcp_mod(_trial(lambda d: 0 * d), models={"linear": None})
    df_resid = len(DOSES) * 40 - len(DOSES)
    assert res.critical_value == pytest.approx(stats.t.ppf(0.975, df_resid), abs=2e-3)


def test_optimal_contrasts_equal_allocation():
    res = mcp_mod(_trial(lambda d: 0 * d), models={"emax": [0.2], "linear": None})
    for name, kind, guess in (("emax(0.2,)", "emax", [0.2]), ("linear", "linear", ())):
        mu = model_shape(kind, DOSES, guess)
        expected = (mu - mu.mean()) / np.linalg.norm(mu - mu.mean())
        assert np.allclose(res.contrasts.loc[name].to_numpy(), expected, atol=1e-12)
        assert res.contrasts.loc[name].sum() == pytest.approx(0.0, abs=1e-12)


def test_detects_emax_truth_and_estimates_target_dose():
    truth = lambda d: 0.7 * d / (0.2 + d)  # noqa: E731
    res = mcp_mod(_trial(truth, n_per_arm=60, sd=0.5, seed=7), delta=0.35, selection="average")
    assert res.dose_response_detected
    assert res.tests["p_adjusted"].min() < 1e-3
    true_td = 0.2 * 0.35 / (0.7 - 0.35)  # Emax inverse: d = ED50 * delta / (Emax - delta)
    # sampling SD of this estimate: 0.11 (30 seeds of this design, measured); 0.15 is ~1.4 SD
    assert res.target_dose == pytest.approx(true_td, abs=0.15)
    # without noise the fitted Emax model is the truth: the target dose to 1e-4 (measured 1.3e-6)
    exact = mcp_mod(_trial(truth, n_per_arm=60, sd=1e-4, seed=7), delta=0.35, selection="average")
    assert exact.target_dose == pytest.approx(true_td, abs=1e-4)
    assert "Multiple contrast test" in str(res.summary())
    assert set(res.to_frame().columns) >= {"t", "p_adjusted", "aic"}


def test_decreasing_direction_for_pain_scores():
    res = mcp_mod(_trial(lambda d: -0.8 * d), direction="decreasing", delta=0.4)
    # sampling SD of this estimate: 0.14 (30 seeds, measured); 0.2 is ~1.4 SD
    assert res.dose_response_detected and res.target_dose == pytest.approx(0.5, abs=0.2)
    # noise-free: -0.8 d = -0.4 at d = 0.5 exactly (measured error 8e-7)
    exact = mcp_mod(_trial(lambda d: -0.8 * d, sd=1e-4), direction="decreasing", delta=0.4)
    assert exact.target_dose == pytest.approx(0.5, abs=1e-4)


def test_critical_value_controls_max_t_under_flat_truth():
    # calibration of the multivariate-t critical value by vectorised simulation of max T
    res = mcp_mod(_trial(lambda d: 0 * d))
    contrasts = res.contrasts.to_numpy()
    rng = np.random.default_rng(99)
    n, k, reps = 40, len(DOSES), 20000
    data = rng.normal(size=(reps, k, n))
    means = data.mean(axis=2)
    s2 = data.var(axis=2, ddof=1).mean(axis=1)
    t_values = means @ contrasts.T / np.sqrt(s2[:, None] * np.sum(contrasts**2, axis=1) / n)
    rate = np.mean(t_values.max(axis=1) > res.critical_value)
    assert rate == pytest.approx(0.025, abs=4 * np.sqrt(0.025 * 0.975 / reps))


@pytest.mark.slow
def test_type_one_error_of_full_procedure():
    # whole procedure (ANOVA, contrasts, critical value) on 100 flat-truth trials; under alpha =
    # 0.025, P(more than 8 rejections) = 0.002 (the vectorised test above checks calibration tightly)
    rejections = sum(mcp_mod(_trial(lambda d: 0 * d, seed=seed)).dose_response_detected for seed in range(100))
    assert rejections <= 8


def test_bad_inputs():
    with pytest.raises(FieldError):
        mcp_mod(_trial(lambda d: d).query("DOSE < 0.1"))
    with pytest.raises(FieldError):
        mcp_mod(_trial(lambda d: d), direction="up")
    with pytest.raises(FieldError):
        mcp_mod(_trial(lambda d: d), models={"cubic": None})
