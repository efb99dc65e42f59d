"""Variable-order BDF with Jacobian/LU reuse: closed forms, order, doses, failures, references."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.solvers import SOLVERS, NumbaRodasSolver
from oasim.solvers.bdf import BdfSolver
from oasim.solvers.solution import SolverStatus

from .test_rosenbrock import K_PER_DAY, T_DAYS, _bateman, _chain, _relative, _solve


def test_stiff_chain_matches_the_closed_form():
    sol, err = _solve(BdfSolver(rtol=1e-8, atol=1e-12))
    assert sol.ok.all()
    assert err < 1e-6, err


def test_error_falls_with_the_tolerance():
    """A wrong BDF/NDF coefficient or a broken step-size change caps the accuracy."""
    errs = [_solve(BdfSolver(rtol=r, atol=r * 1e-3))[1] for r in (1e-4, 1e-7)]
    assert errs[1] < errs[0] / 100, errs


def test_dense_output_between_steps_follows_the_closed_form():
    """Outputs inside long late steps come from the interpolating polynomial, not from stops."""
    t = np.linspace(0.0, 200.0, 2001)
    k = np.array([K_PER_DAY])
    solver, y0 = BdfSolver(rtol=1e-8, atol=1e-12), np.array([[1.0, 0.0, 0.0]])
    sol, counts = solver.solve_counted(_chain(), y0, k, t)
    _, counts_sparse = solver.solve_counted(_chain(), y0, k, t[[10, 1000, -1]])
    assert counts[0, 0] == counts_sparse[0, 0]  # the same steps whatever the outputs
    np.testing.assert_allclose(sol.states[0], _bateman(k[0], t), atol=2e-6)


def test_a_dose_restarts_the_integration_and_matches_the_closed_form():
    """One unit into 'a' at day 5 and the pre-dose value reported at day 5."""
    k = np.array([K_PER_DAY])
    t = np.array([1.0, 5.0, 5.5, 20.0])
    events = (np.array([[5.0]]), np.array([[0]]), np.array([[1.0]]))
    sol = BdfSolver(rtol=1e-9, atol=1e-12).solve(_chain(), np.array([[1.0, 0.0, 0.0]]), k, t, events)
    exact = _bateman(k[0], t) + np.where(t[:, None] > 5.0, _bateman(k[0], np.maximum(t - 5.0, 0.0)), 0.0)
    np.testing.assert_allclose(sol.states[0], exact, atol=1e-6)


def test_a_nan_parameter_fails_loudly_with_nan_after_the_time_reached():
    k = np.array([K_PER_DAY, [np.nan, 1.0, 0.01]])
    sol = BdfSolver().solve(_chain(), np.tile([1.0, 0.0, 0.0], (2, 1)), k, T_DAYS[1:])
    assert sol.status[0] == SolverStatus.OK and sol.status[1] != SolverStatus.OK
    assert np.isnan(sol.states[1]).all() and np.isfinite(sol.states[0]).all()
    assert sol.reached_days()[1] < T_DAYS[-1]


def test_max_steps_is_reported():
    sol = BdfSolver(max_steps=5).solve(_chain(), np.array([[1.0, 0.0, 0.0]]), np.array([K_PER_DAY]), T_DAYS)
    assert sol.statuses() == [SolverStatus.MAX_STEPS]
    assert np.isnan(sol.states[0, -1]).all()


def test_registered_as_bdf():
    assert SOLVERS["bdf"] is BdfSolver


def test_knee_model_with_doses_matches_rodas4(model, human):
    from oasim.population import Population
    from oasim.protocol import Dose
    from oasim.simulation import baseline_state, population_dose_events

    pop = Population.sample(human, 6, np.random.default_rng(4))
    params = pop.matrix(model.parameter_names)
    y0 = baseline_state(model, pop)
    doses = (Dose("exosome", 3e11, "particles", 0.0), Dose("msc", 5e7, "cells", 28.0))
    events = population_dose_events(model, pop, [doses] * 6)
    t = np.array([0.0, 14.0, 28.0, 30.0, 91.0, 182.0, 365.0, 730.0])
    fast = BdfSolver(rtol=1e-9, atol=1e-11).solve(model, y0, params, t, events)
    ref = NumbaRodasSolver(rtol=1e-9, atol=1e-11).solve(model, y0, params, t, events)
    assert fast.ok.all()
    assert _relative(fast.states, ref.states) < 1e-4


# the knee model against SciPy Radau and the two SBML models: tests/solvers/test_rosenbrock.py (method 'bdf')
