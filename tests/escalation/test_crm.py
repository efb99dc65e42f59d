"""CRM posterior against direct numerical integration, and against dfcrm's published choices."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

from oasim.trial.escalation import Crm, TrialState, crm_skeleton

SKELETON = (0.1, 0.2, 0.4, 0.55)


def quad_posterior(skeleton, n, dlt, prior_sd, model="empiric", intercept=3.0, target=0.2):
    """Posterior moments of beta and E[p_k] by scipy.integrate.quad over the real line."""
    skeleton, n, dlt = np.asarray(skeleton), np.asarray(n), np.asarray(dlt)

    def prob(beta):
        beta = min(beta, 50.0)  # quad probes huge |beta|; p is 0 or 1 there anyway
        if model == "empiric":
            return skeleton ** np.exp(beta)
        return expit(intercept + np.exp(beta) * (logit(skeleton) - intercept))

    def density(beta):
        p = prob(beta)
        return stats.norm.pdf(beta, 0, prior_sd) * np.prod(p**dlt * (1 - p) ** (n - dlt))

    def moment(f):
        return integrate.quad(lambda b: f(b) * density(b), -np.inf, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]

    z = moment(lambda b: 1.0)
    mean = moment(lambda b: b) / z
    var = moment(lambda b: b * b) / z - mean**2
    p_mean = [moment(lambda b, k=k: prob(b)[k]) / z for k in range(len(skeleton))]
    return mean, var, np.array(p_mean)


CASES = [
    ("empiric", [0, 6, 3, 0], [0, 2, 2, 0], np.sqrt(0.75)),  # escalation's dfcrm example 1 (2NNT 2NNN 3NTT 2NNT)
    ("empiric", [3, 3, 0, 0], [0, 0, 0, 0], np.sqrt(1.34)),
    ("empiric", [30, 0, 0, 0], [25, 0, 0, 0], np.sqrt(1.34)),  # posterior pushed into the left tail
    ("logistic", [3, 6, 9, 0], [0, 1, 4, 0], np.sqrt(1.34)),
    ("empiric", [0, 0, 0, 0], [0, 0, 0, 0], np.sqrt(1.34)),  # no data: the prior
]


@pytest.mark.parametrize("model, n, dlt, prior_sd", CASES)
def test_posterior_matches_quad(model, n, dlt, prior_sd):
    design = Crm(SKELETON, target=0.2, model=model, prior_sd=prior_sd)
    state = TrialState(np.array([n]), np.array([dlt]), np.array([1]), np.array([3]), np.array([0]))
    post = design.posterior(state)
    mean, var, p_mean = quad_posterior(SKELETON, n, dlt, prior_sd, model)
    assert post.beta_mean[0] == pytest.approx(mean, abs=1e-8)
    assert post.beta_var[0] == pytest.approx(var, rel=1e-7)
    np.testing.assert_allclose(post.prob_dlt_mean[0], p_mean, atol=1e-8)
    np.testing.assert_allclose(post.prob_dlt_plugin[0], design.prob_dlt(np.array([mean]))[0], atol=1e-7)


def test_prob_exceeds_target_matches_closed_form_threshold():
    # empiric: p_1 > t  <=>  beta < log(log t / log s_1); check the grid sum against quad
    design = Crm(SKELETON, target=0.2)
    n, dlt = [6, 0, 0, 0], [3, 0, 0, 0]
    state = TrialState(np.array([n]), np.array([dlt]), np.array([0]), np.array([3]), np.array([1]))
    cut = np.log(np.log(0.2) / np.log(SKELETON[0]))
    sd = np.sqrt(1.34)

    def density(b):
        p = SKELETON[0] ** np.exp(min(b, 50.0))
        return stats.norm.pdf(b, 0, sd) * p**3 * (1 - p) ** 3

    expected = integrate.quad(density, -np.inf, cut)[0] / integrate.quad(density, -np.inf, np.inf)[0]
    # the indicator on a grid of step ~0.06 is accurate to about half a step times the density
    assert design.posterior(state).prob_exceeds_target[0, 0] == pytest.approx(expected, abs=0.01)


def test_recommendations_match_dfcrm_examples_in_escalation_tests():
    # brockk/escalation tests/testthat/test_dfcrm.R: dfcrm::crm advocates dose 1, then dose 3
    first = Crm(SKELETON, target=0.2, prior_sd=np.sqrt(0.75), restrict=False, stop_tox_prob=None)
    assert first.fit("2NNT 2NNN 3NTT 2NNT").recommended_dose == 1
    second = Crm((0.1, 0.2, 0.33, 0.45, 0.6, 0.7, 0.8), target=0.33, model="logistic", intercept=4.0, restrict=False, stop_tox_prob=None)
    assert second.fit("1NNN 2NNN 3NTT 2NNN 3TNN 3TNT 2NNN").recommended_dose == 3


def test_no_skipping_and_coherence():
    design = Crm((0.05, 0.1, 0.2, 0.3, 0.45), target=0.3)
    assert design.fit("1NNN").next_dose == 2  # model wants higher; no skipping
    assert design.fit("1NNN 2NNN 3NNT").next_dose <= 3  # 1/3 >= 0.3: no escalation


def test_stops_when_lowest_dose_too_toxic():
    decision = Crm((0.05, 0.1, 0.2, 0.3, 0.45), target=0.3).fit("1TTN 1TTT")
    assert decision.action.value == "stop" and decision.recommended_dose is None


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize("prior_mtd", [1, 3, 5])
def test_skeleton_indifference_intervals(model, prior_mtd):
    # Lee & Cheung (2009): doses k and k+1 are equally good at the beta where p_k = t - h and p_{k+1} = t + h
    target, halfwidth = 0.25, 0.05
    skeleton = crm_skeleton(target, 5, prior_mtd, halfwidth, model=model)
    assert skeleton[prior_mtd - 1] == pytest.approx(target)
    design = Crm(skeleton, target=target, model=model)
    betas = np.linspace(-3, 3, 60001)
    p = design.prob_dlt(betas)
    for k in range(4):
        at_lower = betas[np.argmin(np.abs(p[:, k] - (target - halfwidth)))]
        at_upper = betas[np.argmin(np.abs(p[:, k + 1] - (target + halfwidth)))]
        assert at_upper == pytest.approx(at_lower, abs=2e-4)
