"""Tableau-driven Rosenbrock kernels: analytic Bateman chain, order of convergence, SciPy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy

from oasim.errors import FieldError
from oasim.solvers.codegen import OdeSystem
from oasim.model.states import State
from oasim.solvers import SOLVERS, ScipyReferenceSolver
from oasim.solvers.rosenbrock import TABLEAUX, RosenbrockSolver

K_PER_DAY = (50.0, 1.0, 0.01)  # stiff chain: rates spanning 3.7 decades
T_DAYS = np.array([0.0, 0.01, 0.1, 1.0, 5.0, 30.0, 200.0])


def _chain() -> OdeSystem:
    y = sympy.symbols("a b c", real=True)
    p = sympy.symbols("k1 k2 k3", positive=True)
    rates = (-p[0] * y[0], p[0] * y[0] - p[1] * y[1], p[1] * y[1] - p[2] * y[2])
    states = tuple(State(n, "mol", f"chain member {n}", 1.0) for n in "abc")
    return OdeSystem(states, ("k1", "k2", "k3"), y, p, rates, nonnegative=True)


def _bateman(k, t):
    """Closed form of a -> b -> c -> (out) from a(0) = 1 (distinct rates)."""
    k1, k2, k3 = k
    a = np.exp(-k1 * t)
    b = k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    c = k1 * k2 * (np.exp(-k1 * t) / ((k2 - k1) * (k3 - k1)) + np.exp(-k2 * t) / ((k1 - k2) * (k3 - k2))
                   + np.exp(-k3 * t) / ((k1 - k3) * (k2 - k3)))
    return np.stack([a, b, c], axis=-1)


def _solve(solver, n=3):
    rng = np.random.default_rng(3)
    k = np.array(K_PER_DAY) * rng.uniform(0.8, 1.25, size=(n, 3))
    y0 = np.tile([1.0, 0.0, 0.0], (n, 1))
    sol = solver.solve(_chain(), y0, k, T_DAYS)
    exact = np.stack([_bateman(ki, T_DAYS) for ki in k])
    return sol, float(np.max(np.abs(sol.states - exact)))


@pytest.mark.parametrize("method", sorted(TABLEAUX))
@pytest.mark.parametrize("dense", [False, True])
def test_stiff_chain_matches_the_closed_form(method, dense):
    sol, err = _solve(RosenbrockSolver(method=method, rtol=1e-8, atol=1e-12, dense=dense))
    assert sol.ok.all()
    assert err < 2e-6, err


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_error_falls_with_the_tolerance_at_the_method_order(method):
    """A wrong tableau coefficient drops the order: the error then no longer follows rtol."""
    errs = [_solve(RosenbrockSolver(method=method, rtol=r, atol=r * 1e-3, dense=False))[1] for r in (1e-4, 1e-7)]
    assert errs[1] < errs[0] / 100, errs


def test_unknown_method_is_a_named_error():
    with pytest.raises(FieldError, match="method"):
        RosenbrockSolver(method="rodas9")
    assert SOLVERS["rosenbrock"] is RosenbrockSolver


def _relative(states, ref):
    floor = 1e-3 * np.abs(ref).max(axis=(0, 1), keepdims=True) + 1e-300
    return float(np.max(np.abs(states - ref) / (np.abs(ref) + floor)))


def _fast_solver(method, rtol, atol):
    """A Rosenbrock method by name, or the BDF solver ("bdf"), at fixed output stops."""
    from oasim.solvers import BdfSolver

    if method == "bdf":
        return BdfSolver(rtol=rtol, atol=atol)
    return RosenbrockSolver(method=method, rtol=rtol, atol=atol, dense=False)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rodas3", "ros3", "bdf"])
def test_knee_model_matches_the_scipy_reference(model, human, method):
    from oasim.population import Population
    from oasim.protocol import Dose
    from oasim.simulation import baseline_state, population_dose_events

    pop = Population.sample(human, 8, np.random.default_rng(4))
    params = pop.matrix(model.parameter_names)
    y0 = baseline_state(model, pop)
    doses = (Dose("exosome", 3e11, "particles", 0.0), Dose("msc", 5e7, "cells", 28.0))
    events = population_dose_events(model, pop, [doses] * 8)
    t = np.array([0.0, 14.0, 28.0, 30.0, 91.0, 182.0, 365.0, 730.0])
    tol = (1e-9, 1e-11) if method == "bdf" else (1e-8, 1e-10)  # BDF's error is larger at equal rtol
    fast = _fast_solver(method, *tol).solve(model, y0, params, t, events)
    ref = ScipyReferenceSolver(method="Radau", rtol=1e-8, atol=1e-10).solve(model, y0, params, t, events)
    assert fast.ok.all()
    assert _relative(fast.states, ref.states) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rodas3", "bdf"])
@pytest.mark.parametrize("name", ["BIOMD0000000504_proctor2014.xml", "BIOMD0000000928_baker2017.xml"])
def test_sbml_models_match_the_reference(name, method):
    """Proctor 2014 against SciPy Radau; Baker 2017 (SBML events, which the SciPy reference
    refuses) against the Rodas4 default at tight tolerance."""
    from oasim.interop import sbml
    from oasim.solvers import NumbaRodasSolver

    path = Path(sbml.__file__).parents[1] / "models" / name
    model = sbml.load(path)
    kinetic = [n for n in model.parameter_names if n != "compartmentOne"]
    params = model.sample_parameters(4, np.random.default_rng(5), cv=0.2, names=kinetic)
    y0 = model.initial_state(params)
    # Proctor runs in seconds (14 days); Baker in its own time unit, across its event at t = 20
    t = np.linspace(0.0, 14 * 86400.0, 11) if "proctor" in name else np.array([0.0, 5.0, 19.0, 21.0, 35.0, 50.0])
    tol = (1e-9, 1e-11) if method == "bdf" else (1e-8, 1e-10)
    fast = _fast_solver(method, *tol).solve(model, y0, params, t)
    if name.startswith("BIOMD0000000504"):
        ref = ScipyReferenceSolver(method="Radau", rtol=1e-9, atol=1e-11).solve(model, y0, params, t)
    else:
        ref = NumbaRodasSolver(rtol=1e-10, atol=1e-12).solve(model, y0, params, t)
    assert fast.ok.all() and ref.ok.all()
    assert _relative(fast.states, ref.states) < 1e-4
