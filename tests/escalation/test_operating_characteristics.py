"""Operating characteristics: exact enumeration vs Monte Carlo vs the 3+3 closed form.

3+3 oracle: the closed-form formulas of Storer (1989) / Reiner et al. (1999), written out below.
"""

import numpy as np
import pytest

from oasim.trial.escalation import (
    Boin,
    Crm,
    StopAtN,
    ThreePlusThree,
    crm_skeleton,
    design_from_spec,
    enumerate_trials,
    simulate_trials,
    simulate_trials_loop,
)

TRUTH = np.array([0.05, 0.1, 0.2, 0.3, 0.5])


def three_plus_three_closed_form(p):
    """Escalation-only 3+3: selection probabilities, P(no MTD), E[n], E[DLT] per dose."""
    p = np.asarray(p)
    a = (1 - p) ** 3 + 3 * p * (1 - p) ** 2 * (1 - p) ** 3  # P(escalate past dose j)
    reached = np.concatenate([[1.0], np.cumprod(a)[:-1]])
    select = np.cumprod(a) * np.append(1 - a[1:], 1.0)
    mean_n = reached * (3 + 3 * 3 * p * (1 - p) ** 2)
    mean_dlt = reached * 3 * p * (1 + 3 * p * (1 - p) ** 2)
    return select, 1 - a[0], mean_n, mean_dlt


@pytest.mark.parametrize("truth", [TRUTH, [0.2, 0.3, 0.4, 0.5, 0.6], [0.01, 0.02, 0.03, 0.04, 0.05]])
def test_three_plus_three_enumeration_equals_closed_form(truth):
    exact = enumerate_trials(StopAtN(ThreePlusThree(num_doses=5), n=30), truth)
    select, no_mtd, mean_n, mean_dlt = three_plus_three_closed_form(truth)
    np.testing.assert_allclose(exact.prob_select, select, atol=1e-12)
    assert exact.prob_no_dose == pytest.approx(no_mtd, abs=1e-12)
    np.testing.assert_allclose(exact.mean_n, mean_n, atol=1e-12)
    np.testing.assert_allclose(exact.mean_dlt, mean_dlt, atol=1e-12)


def test_three_plus_three_simulation_within_monte_carlo_error_of_closed_form():
    n_trials = 20_000
    sims = simulate_trials(StopAtN(ThreePlusThree(num_doses=5), n=30), TRUTH, n_trials, rng=np.random.default_rng(11))
    select, no_mtd, mean_n, _ = three_plus_three_closed_form(TRUTH)
    se = np.sqrt(select * (1 - select) / n_trials)
    assert np.all(np.abs(sims.prob_select - select) < 4 * se)
    assert abs(sims.prob_no_dose - no_mtd) < 4 * np.sqrt(no_mtd * (1 - no_mtd) / n_trials)
    # P(escalate past dose j) = P(MTD >= j) = a_1 * ... * a_j
    a = (1 - TRUTH) ** 3 + 3 * TRUTH * (1 - TRUTH) ** 5
    escalated = np.cumsum(sims.prob_select[::-1])[::-1]
    expected = np.cumprod(a)
    assert np.all(np.abs(escalated - expected) < 4 * np.sqrt(expected * (1 - expected) / n_trials))

DESIGNS = {
    "boin": StopAtN(Boin(num_doses=5, target=0.3), n=30),
    "boin_start3_cohort2": StopAtN(Boin(num_doses=5, target=0.25, cohort_size=2, start_dose=3), n=20),
    "3+3_deescalate": StopAtN(ThreePlusThree(num_doses=5, allow_deescalate=True), n=30),
    "crm": StopAtN(Crm(crm_skeleton(0.3, 5, 3), target=0.3), n=24),
    "boin_titration": design_from_spec({"design": "boin", "num_doses": 5, "target": 0.3, "max_n": 24, "titration": "accelerated"}),
    "3+3_sentinel": design_from_spec({"design": "3+3", "num_doses": 5, "max_n": 30, "titration": "sentinel"}),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_enumeration_agrees_with_monte_carlo(name):
    design = DESIGNS[name]
    n_trials = 20_000
    exact = enumerate_trials(design, TRUTH)
    sims = simulate_trials(design, TRUTH, n_trials, rng=np.random.default_rng(5))
    probs = np.append(exact.prob_select, exact.prob_no_dose)
    observed = np.append(sims.prob_select, sims.prob_no_dose)
    se = np.sqrt(np.maximum(probs * (1 - probs), 1e-4) / n_trials)
    assert np.all(np.abs(observed - probs) < 4.5 * se), (observed, probs)
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)
    # mean subjects per dose: sd of n at a dose is at most the max sample size
    np.testing.assert_allclose(sims.mean_n, exact.mean_n, atol=4.5 * 30 / np.sqrt(n_trials) / 3)


def test_same_seed_same_result_and_generator_accepted():
    design = DESIGNS["boin"]
    first = simulate_trials(design, TRUTH, 500, rng=7)
    second = simulate_trials(design, TRUTH, 500, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first.prob_select, second.prob_select)
    assert first.seed == 7 and second.seed is None


def test_loop_reference_agrees_with_vectorised():
    design = DESIGNS["boin"]
    exact = enumerate_trials(design, TRUTH)
    loop = simulate_trials_loop(design, TRUTH, 2000, rng=3)
    se = np.sqrt(exact.prob_select * (1 - exact.prob_select) / 2000)
    assert np.all(np.abs(loop.prob_select - exact.prob_select) < 4.5 * se + 1e-3)


def test_result_tables():
    oc = simulate_trials(DESIGNS["boin"], TRUTH, 300, rng=1)
    frame = oc.to_frame()
    assert list(frame.columns) == ["dose", "true_prob_dlt", "pct_selected", "mean_n", "mean_dlt"]
    assert frame["mean_n"].sum() == pytest.approx(oc.mean_total_n)
    assert oc.to_dict()["overall_dlt_rate"] == pytest.approx(oc.mean_total_dlt / oc.mean_total_n)
    assert "% early stop" in oc.summary()
