"""Solvers: analytic solutions, agreement with the SciPy reference, positivity, steady state."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.population import Population
from oasim.protocol import Dose
from oasim.simulation import baseline_state, population_dose_events, simulate
from oasim.solvers import NumbaRodasSolver, ScipyReferenceSolver

TWO_YEARS = np.array([0.0, 14.0, 28.0, 30.0, 91.0, 182.0, 273.0, 365.0, 548.0, 730.0])
TWO_INJECTIONS = (Dose("exosome", 3e11, "particles", 0.0), Dose("msc", 5e7, "cells", 28.0))


def _population(human, n, seed, kl=None):
    return Population.sample(human, n, np.random.default_rng(seed), kl_grade=kl)


def _max_rel_error(states, ref):
    # floor per state: 1e-3 of its largest reference value, so decayed pools do not dominate
    floor = 1e-3 * np.abs(ref).max(axis=(0, 1), keepdims=True) + 1e-300
    return float(np.max(np.abs(states - ref) / (np.abs(ref) + floor)))


def test_healthy_joint_stays_at_steady_state_for_ten_years(model, human):
    pop = _population(human, 50, 1, kl=0)
    t = np.linspace(0.0, 3652.5, 11)
    sol = simulate(pop, t, model=model, burn_in_days=0.0).solution
    assert sol.ok.all()
    start = sol.states[:, :1, :]
    scale = np.array([st.scale for st in model.states])
    deviation = np.abs(sol.states - start) / np.maximum(np.abs(start), 1e-6 * scale)
    assert deviation.max() < 0.01


def test_exosome_pools_follow_the_closed_form(model, human):
    """Free and bound exosomes are a linear two-compartment chain: compare with the solution."""
    pop = _population(human, 20, 2)
    p = pop.parameters
    t = np.array([0.0, 0.1, 0.5, 1.0, 3.0, 7.0, 14.0, 28.0])
    dose = 3e11
    sol = simulate(pop, t, [[Dose("exosome", dose, "particles", 0.0)]] * 20, model=model,
                   solver=NumbaRodasSolver(rtol=1e-8, atol=1e-12), burn_in_days=0.0).solution
    ln2 = np.log(2.0)
    a = (ln2 * 24.0 / p["exosome_free_half_life_h"] + p["k_exosome_uptake_per_day"])[:, None]
    kb = (ln2 / p["exosome_bound_half_life_d"])[:, None]
    ku = p["k_exosome_uptake_per_day"][:, None]
    free = dose * np.exp(-a * t)
    bound = ku * dose / (a - kb) * (np.exp(-kb * t) - np.exp(-a * t))
    free[:, 0] = bound[:, 0] = 0.0  # the visit on the dose day reports the pre-dose value
    np.testing.assert_allclose(sol["exosome_free_particles"], free, rtol=1e-5, atol=1e-3 * dose * 1e-6)
    np.testing.assert_allclose(sol["exosome_bound_particles"], bound, rtol=1e-5, atol=1e-3 * dose * 1e-6)


def test_msc_pools_decay_exponentially_without_inflammatory_retention(model, human):
    """With the retention gain θ = 0 and no flare-driven clearance both MSC pools are independent
    first-order decays."""
    pop = _population(human.with_values(msc_retention_inflammation_gain=0.0, flare_msc_clearance_gain=0.0),
                      10, 3, kl=0)
    t = np.array([0.0, 10.0, 30.0, 182.0])
    cells = 1e7
    sol = simulate(pop, t, [[Dose("msc", cells, "cells", 0.0)]] * 10, model=model,
                   solver=NumbaRodasSolver(rtol=1e-8, atol=1e-12), burn_in_days=0.0).solution
    p = pop.parameters
    k_fast = (np.log(2) / p["msc_fast_half_life_d"])[:, None]
    k_slow = (np.log(2) / p["msc_persistent_half_life_d"])[:, None]
    fast = cells * p["msc_fast_fraction"][:, None] * np.exp(-k_fast * t)
    slow = cells * p["msc_persistent_fraction"][:, None] * np.exp(-k_slow * t)
    fast[:, 0] = slow[:, 0] = 0.0
    np.testing.assert_allclose(sol["msc_fast_cells"], fast, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(sol["msc_persistent_cells"], slow, rtol=1e-5, atol=1e-3)
    total_30 = (sol["msc_fast_cells"][:, 2] + sol["msc_persistent_cells"][:, 2]) / cells
    # Toupet 2013: about 15 % of injected MSCs detectable at one month (typical subject)
    assert 0.05 < np.median(total_30) < 0.3


def _compare_with_reference(model, human, n, seed):
    pop = _population(human, n, seed)
    params = pop.matrix(model.parameter_names)
    y0 = baseline_state(model, pop)
    events = population_dose_events(model, pop, [TWO_INJECTIONS] * n)
    fast = NumbaRodasSolver(rtol=1e-8, atol=1e-10).solve(model, y0, params, TWO_YEARS, events)
    ref = ScipyReferenceSolver(method="Radau", rtol=1e-8, atol=1e-10).solve(model, y0, params, TWO_YEARS, events)
    assert fast.ok.all()
    return _max_rel_error(fast.states, ref.states)


def test_numba_matches_scipy_reference_with_two_injections(model, human):
    assert _compare_with_reference(model, human, 12, 4) < 1e-4


@pytest.mark.slow
def test_numba_matches_scipy_reference_100_subjects(model, human):
    assert _compare_with_reference(model, human, 100, 5) < 1e-4


def test_no_state_goes_negative_for_1000_subjects(model, human):
    pop = _population(human, 1000, 6)
    doses = [TWO_INJECTIONS if i % 2 else (Dose("exosome", 1e12, "particles", 0.0),) for i in range(1000)]
    sol = simulate(pop, TWO_YEARS, doses, model=model).solution
    assert sol.ok.all(), sol.failures()
    assert np.isfinite(sol.states).all()
    assert sol.states.min() >= 0.0
    fractions = [model.state_index[n] for n in ("fls_activated_fraction", "catabolic_fraction")]
    assert sol.states[:, :, fractions].max() < 1.0


def test_visit_on_a_dose_day_reports_the_pre_dose_value(model, human):
    pop = _population(human, 3, 7)
    sol = simulate(pop, [0.0, 28.0, 29.0], [TWO_INJECTIONS] * 3, model=model).solution
    assert np.all(sol["msc_fast_cells"][:, 1] == 0.0)
    assert np.all(sol["msc_fast_cells"][:, 2] > 1e6)


def test_same_population_seed_gives_identical_results(model, human):
    a = simulate(_population(human, 8, 9), TWO_YEARS, model=model).solution.states
    b = simulate(_population(human, 8, 9), TWO_YEARS, model=model).solution.states
    c = simulate(_population(human, 8, 10), TWO_YEARS, model=model).solution.states
    assert np.array_equal(a, b) and not np.array_equal(a, c)
