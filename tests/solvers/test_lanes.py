"""Subjects across SIMD lanes (RosenbrockSolver(lanes=4 or 8)): the same steps and, to rounding,
the same outputs as the scalar kernel of the same method; failures keep their status."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.errors import FieldError
from oasim.solvers.rosenbrock import TABLEAUX, RosenbrockSolver

from .test_rosenbrock import BRUSS_P, BRUSS_Y0, T_DAYS, _bateman, _brusselator, _chain, sbml_case

# fastmath lets LLVM order the lane kernels' sums differently from the scalar kernels' (measured on
# the knee model, 2000 subjects, rodas5p rtol 1e-7: <= 1.6e-13 relative with every step count
# equal); 1e-10: assumed margin, far below any tolerance a user sets
SAME_TO = 1e-10


def _rel(a, b):
    floor = 1e-3 * np.abs(a).max(axis=(0, 1), keepdims=True) + 1e-300
    return float(np.max(np.abs(a - b) / (np.abs(a) + floor)))


def _rows(sol, keep):
    from oasim.solvers.solution import Solution

    return Solution(sol.t_days, sol.states[keep], sol.state_names, sol.status[keep], sol.n_steps[keep],
                    sol.t_reached_days[keep])


def _pair(method, dense, model, y0, params, t, events=None, lanes=4, **tol):
    scalar = RosenbrockSolver(method=method, dense=dense, **tol).solve(model, y0, params, t, events)
    simd = RosenbrockSolver(method=method, dense=dense, lanes=lanes, **tol).solve(model, y0, params, t, events)
    return scalar, simd


def _assert_same(scalar, simd):
    """Equal status; for the subjects that succeed, equal step counts and outputs to SAME_TO.
    (A failing subject's NaN arithmetic is not specified under fastmath: where it stops may differ.)"""
    assert simd.status.tolist() == scalar.status.tolist()
    ok = scalar.status == 0
    assert simd.n_steps[ok].tolist() == scalar.n_steps[ok].tolist()
    assert simd.t_reached_days[ok].tolist() == scalar.t_reached_days[ok].tolist()
    scalar, simd = _rows(scalar, ok), _rows(simd, ok)
    np.testing.assert_array_equal(np.isnan(simd.states), np.isnan(scalar.states))
    ok = ~np.isnan(scalar.states)
    assert _rel(np.where(ok, scalar.states, 0.0), np.where(ok, simd.states, 0.0)) < SAME_TO


# Rodas5P (the benchmark's lane method) in the default suite; the other tableaux (each a ~15 s
# cold compile of its lane kernel) with -m slow
@pytest.mark.parametrize("method, dense", [
    pytest.param(m, d, marks=() if m == "rodas5p" else pytest.mark.slow)
    for m in sorted(TABLEAUX) for d in (False, True)])
def test_lanes_take_the_scalar_steps_on_a_stiff_chain(method, dense):
    """70 subjects over 4 lanes: two blocks, lanes refilled as subjects finish, idle lanes at
    the end of each block; every subject as in the scalar kernel and the closed form."""
    rng = np.random.default_rng(8)
    k = np.array([50.0, 1.0, 0.01]) * rng.uniform(0.5, 2.0, size=(70, 3))  # stiff, distinct rates
    y0 = np.tile([1.0, 0.0, 0.0], (70, 1))
    scalar, simd = _pair(method, dense, _chain(), y0, k, T_DAYS, rtol=1e-8, atol=1e-12)
    _assert_same(scalar, simd)
    exact = np.stack([_bateman(ki, T_DAYS) for ki in k])
    assert np.max(np.abs(simd.states - exact)) < 2e-6  # as test_stiff_chain_matches_the_closed_form


def test_lanes_match_the_scalar_kernel_on_a_nonlinear_system_with_doses():
    """Brusselator, 9 subjects (one block, one lane idle at the end), a dose into x per subject
    at its own time: per-lane events, and the step restart after them."""
    rng = np.random.default_rng(2)
    params = BRUSS_P * rng.uniform(0.8, 1.2, size=(9, 2))
    y0 = np.tile(BRUSS_Y0, (9, 1))
    ev_t = np.stack([rng.uniform(1.0, 5.0, 9), np.full(9, np.inf)], axis=1)
    events = (ev_t, np.zeros((9, 2), np.int64), np.stack([np.full(9, 0.5), np.zeros(9)], axis=1))
    t = np.linspace(0.0, 10.0, 21)
    for method in ("rodas4", "rodas5p"):
        for dense in (False, True):
            _assert_same(*_pair(method, dense, _brusselator(), y0, params, t, events, rtol=1e-7, atol=1e-9))


def test_a_failing_subject_keeps_its_status_in_a_lane():
    """A NaN rate in subject 2 of 6 fails that lane only; the others match the scalar kernel."""
    k = np.tile([50.0, 1.0, 0.01], (6, 1))
    k[2, 1] = np.nan
    y0 = np.tile([1.0, 0.0, 0.0], (6, 1))
    scalar, simd = _pair("rodas5p", True, _chain(), y0, k, T_DAYS, rtol=1e-6, atol=1e-9)
    assert simd.status[2] != 0 and np.all(np.delete(simd.status, 2) == 0)
    assert simd.failures() == scalar.failures()
    assert simd.t_reached_days[2] < T_DAYS[1] and np.all(np.isnan(simd.states[2, 1:]))
    _assert_same(scalar, simd)


def test_max_steps_is_reported_per_lane():
    """Every subject needs more than 5 steps: each lane stops where the scalar kernel stops."""
    k = np.tile([50.0, 1.0, 0.01], (5, 1)) * np.linspace(0.5, 2.0, 5)[:, None]
    scalar, simd = _pair("rodas5p", False, _chain(), np.tile([1.0, 0.0, 0.0], (5, 1)), k, T_DAYS,
                         rtol=1e-6, atol=1e-9, max_steps=5)
    assert np.all(simd.status == 1) and simd.n_steps.tolist() == [5] * 5
    # the step sizes follow err^(-1/5) of an error estimate whose last bits differ (measured:
    # t reached differs by 6e-9 relative after 5 steps from h_init); 1e-6: assumed margin
    np.testing.assert_allclose(simd.t_reached_days, scalar.t_reached_days, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(simd.states), np.isnan(scalar.states))


def test_unsupported_lane_count_is_a_named_error():
    with pytest.raises(FieldError, match="lanes"):
        RosenbrockSolver(method="rodas5p", lanes=3)


@pytest.mark.slow
@pytest.mark.parametrize("dense", [False, True])
def test_lanes_take_the_scalar_steps_on_the_knee_model(model, human, dense):
    """13 subjects with the joint benchmark's doses (MSC split fractions differ per subject)."""
    from oasim.population import Population
    from oasim.protocol import Dose
    from oasim.simulation import baseline_state, population_dose_events

    pop = Population.sample(human, 13, np.random.default_rng(6), kl_grade=3)
    doses = (Dose("msc", 5e7, "cells", 0.0), Dose("exosome", 3e11, "particles", 0.0),
             Dose("exosome", 3e11, "particles", 28.0), Dose("msc", 5e7, "cells", 182.0))
    events = population_dose_events(model, pop, [doses] * 13)
    t = np.array([0.0, 7.0, 28.0, 35.0, 91.0, 182.0, 364.0, 730.0])
    params = pop.matrix(model.parameter_names)
    _assert_same(*_pair("rodas5p", dense, model, baseline_state(model, pop), params, t, events, rtol=1e-7, atol=1e-9))


@pytest.mark.slow
def test_a_failing_knee_subject_keeps_its_status_in_a_lane(model, human):
    from oasim.population import Population
    from oasim.simulation import baseline_state

    pop = Population.sample(human, 3, np.random.default_rng(5), kl_grade=3)
    params = pop.matrix(model.parameter_names)
    params[0, model.parameter_names.index("joint_damage_drive")] = np.nan
    t = np.array([0.0, 30.0, 180.0])
    scalar, simd = _pair("rodas5p", True, model, baseline_state(model, pop), params, t)
    assert simd.status[0] != 0 and simd.status[1:].tolist() == [0, 0]
    assert simd.failures() == scalar.failures()
    assert np.all(np.isnan(simd.states[0, 1:])) and np.all(np.isfinite(simd.states[1:]))
    _assert_same(scalar, simd)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["BIOMD0000000504_proctor2014.xml", "BIOMD0000000928_baker2017.xml"])
def test_lanes_take_the_scalar_steps_on_the_sbml_models(name):
    """Proctor 2014 and Baker 2017 (an SBML event at t = 20, applied per lane)."""
    model, y0, params, t = sbml_case(name, 10)
    for dense in (False, True):
        _assert_same(*_pair("rodas5p", dense, model, y0, params, t, rtol=1e-8, atol=1e-10))


def test_the_cli_solver_name_selects_rodas5p_over_four_lanes():
    """``oasim simulate --solver rodas5p-x4`` (SOLVERS) builds the benchmark's fastest method."""
    from oasim.solvers import SOLVERS

    solver = SOLVERS["rodas5p-x4"](rtol=1e-7, atol=1e-9)
    assert (solver.method, solver.dense, solver.lanes, solver.rtol, solver.atol) == ("rodas5p", True, 4, 1e-7, 1e-9)
