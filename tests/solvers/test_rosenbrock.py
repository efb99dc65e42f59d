"""Tableau-driven Rosenbrock kernels: analytic Bateman chain, order of convergence (solution,
embedded estimate, dense output), SciPy reference, failure status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy

from oasim.errors import FieldError
from oasim.solvers.codegen import OdeSystem
from oasim.model.states import State
from oasim.solvers import SOLVERS, ScipyReferenceSolver
from oasim.solvers.rosenbrock import TABLEAUX, RosenbrockSolver, _unpack

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


# --- orders of convergence --------------------------------------------------------------------
# Brusselator x' = a + x²v − (b+1)x, v' = bx − x²v (a = 1, b = 3, from (1.5, 3)): non-stiff and
# nonlinear in both states, so the nonlinear order conditions matter (y' = λy only tests the
# stability function). Reference: SciPy DOP853 at rtol 3e-14 (its floor), atol 1e-14.
BRUSS_P = np.array([1.0, 3.0])
BRUSS_Y0 = np.array([1.5, 3.0])
# expected orders: (solution, embedded estimate, dense output) per method; ros3/rodas3 are 3(2)
ORDERS = {"rodas5p": (5, 4, 4), "rodas4": (4, 3, 3)}


def _brusselator() -> OdeSystem:
    y = sympy.symbols("x v", real=True)
    p = sympy.symbols("a b", positive=True)
    rates = (p[0] + y[0] ** 2 * y[1] - (p[1] + 1) * y[0], p[1] * y[0] - y[0] ** 2 * y[1])
    states = tuple(State(n, "1", f"Brusselator {n}", 1.0) for n in ("x", "v"))
    return OdeSystem(states, ("a", "b"), y, p, rates)


def _bruss_f(y):
    a, b = BRUSS_P
    return np.array([a + y[0] ** 2 * y[1] - (b + 1) * y[0], b * y[0] - y[0] ** 2 * y[1]])


def _bruss_exact(t):
    from scipy.integrate import solve_ivp

    return solve_ivp(lambda _t, y: _bruss_f(y), (0.0, t), BRUSS_Y0, method="DOP853", rtol=3e-14, atol=1e-14).y[:, -1]


def _decay() -> OdeSystem:
    y, lam = sympy.symbols("y lam", real=True)
    return OdeSystem((State("y", "1", "decaying state", 1.0),), ("lam",), (y,), (lam,), (lam * y,))


def _fixed_steps(model, y0, params, t_end, n_steps, method):
    """The kernel at fixed steps t_end / n_steps: every output time ends a step (dense=False) and
    tolerances of 1e10 accept every step."""
    t = np.linspace(0.0, t_end, n_steps + 1)
    solver = RosenbrockSolver(method=method, rtol=1e10, atol=1e10, dense=False, h_init_days=t_end / n_steps)
    sol = solver.solve(model, np.atleast_2d(y0), np.atleast_2d(params), t)
    assert sol.n_steps.tolist() == [n_steps]
    return sol.states[0, -1]


def _slopes(errors):
    errors = np.asarray(errors)
    return np.log2(errors[:-1] / errors[1:])


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_global_error_falls_at_the_method_order(method):
    """Halving a fixed step divides the global error by 2^p: p = 5 for Rodas5P, 4 for Rodas4."""
    p = ORDERS[method][0]
    exact = _bruss_exact(2.0)
    errs = [np.max(np.abs(_fixed_steps(_brusselator(), BRUSS_Y0, BRUSS_P, 2.0, n, method) - exact))
            for n in (40, 80, 160)]
    # measured slopes: Rodas5P 5.19, 5.08; Rodas4 3.85, 3.92 (0.3: assumed pre-asymptotic margin;
    # a 0.1% error in one coefficient gives slopes near 1)
    assert np.all(np.abs(_slopes(errs) - p) < 0.3), (errs, _slopes(errs))
    # y' = λy tests the stability function: order at least p
    errs = [abs(_fixed_steps(_decay(), [1.0], [-2.0], 2.0, n, method)[0] - np.exp(-4.0)) for n in (5, 10, 20)]
    assert np.all(_slopes(errs) > p - 0.3), (errs, _slopes(errs))


def _numpy_step(method, y0, h):
    """One step of the tableau written out in numpy (exact Jacobian): (y1, embedded ŷ1, K)."""
    tb = TABLEAUX[method]
    s = tb["S"]
    a, c = _unpack(tb["A"], s), _unpack(tb["C"], s)
    (x, v), (_, b) = y0, BRUSS_P
    jac = np.array([[2 * x * v - (b + 1), x ** 2], [b - 2 * x * v, -x ** 2]])
    w = np.eye(2) / (h * tb["gamma"]) - jac
    k = np.zeros((s, 2))
    f = _bruss_f(y0)
    for i in range(s):
        if i > 0 and tb["newf"][i]:  # a stage without a new f reuses the last one (KPP)
            f = _bruss_f(y0 + a[i, :i] @ k[:i])
        k[i] = np.linalg.solve(w, f + c[i, :i] @ k[:i] / h)
    y1 = y0 + np.asarray(tb["M"]) @ k
    return y1, y1 - np.asarray(tb["E"]) @ k, k


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_embedded_estimate_and_dense_output_have_their_orders(method):
    """Local errors of one step from the exact start: order q has local error O(h^(q+1)).

    The embedded solution ŷ1 = y1 − Σ E_i K_i (what the step-size control measures) and the dense
    output at mid-step (the kernel with ``dense=True``: Rodas5P's H interpolant, cubic Hermite
    for Rodas4); the kernel's end-of-step value is also checked against the numpy step."""
    _, q_embedded, q_dense = ORDERS[method]
    hs = (0.05, 0.025, 0.0125)
    emb, mid = [], []
    for h in hs:
        y1, y_hat, _ = _numpy_step(method, BRUSS_Y0, h)
        emb.append(np.max(np.abs(y_hat - _bruss_exact(h))))
        solver = RosenbrockSolver(method=method, rtol=1e10, atol=1e10, dense=True, h_init_days=h)
        sol = solver.solve(_brusselator(), BRUSS_Y0[None], BRUSS_P[None], np.array([0.5 * h, h]))
        assert sol.n_steps.tolist() == [1]
        np.testing.assert_allclose(sol.states[0, 1], y1, rtol=1e-12)
        mid.append(np.max(np.abs(sol.states[0, 0] - _bruss_exact(0.5 * h))))
    # measured local slopes (approach q + 1 from above): Rodas5P embedded 5.28, 5.14, dense 5.26, 5.13;
    # Rodas4 embedded 4.18, 4.09, dense 4.21, 4.10. 0.45: assumed margin
    # for that pre-asymptotic excess, below the distance of 1 to the next order
    assert np.all(np.abs(_slopes(emb) - (q_embedded + 1)) < 0.45), (emb, _slopes(emb))
    assert np.all(np.abs(_slopes(mid) - (q_dense + 1)) < 0.45), (mid, _slopes(mid))


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_the_generated_stages_are_the_tableau(method):
    """The kernel's unrolled stage code (generated from the tableau) takes the same step as the
    tableau written out in numpy, to rounding, from three starting states and two step sizes."""
    for y0 in (BRUSS_Y0, np.array([0.5, 1.0]), np.array([3.0, 0.2])):
        for h in (0.3, 0.01):
            y1, _, _ = _numpy_step(method, y0, h)
            solver = RosenbrockSolver(method=method, rtol=1e10, atol=1e10, dense=False, h_init_days=h)
            sol = solver.solve(_brusselator(), y0[None], BRUSS_P[None], np.array([h]))
            assert sol.n_steps.tolist() == [1]
            np.testing.assert_allclose(sol.states[0, 0], y1, rtol=1e-12, atol=1e-14)


def test_a_failing_subject_reports_a_status_for_every_method(model, human):
    """A NaN rate parameter fails subject 1 only: a non-zero status, NaN after the start, the
    time reached; the other subjects are unaffected (as for the Rodas4 default)."""
    from oasim.population import Population
    from oasim.simulation import baseline_state
    from oasim.solvers.solution import SolverStatus

    pop = Population.sample(human, 3, np.random.default_rng(5), kl_grade=3)
    params = pop.matrix(model.parameter_names)
    params[0, model.parameter_names.index("joint_damage_drive")] = np.nan
    t = np.array([0.0, 30.0, 180.0])
    for method in sorted(TABLEAUX):
        for dense in (False, True):
            sol = RosenbrockSolver(method=method, dense=dense).solve(model, baseline_state(model, pop), params, t)
            assert sol.status[0] != 0 and sol.status[1:].tolist() == [0, 0], (method, dense)
            assert np.all(np.isnan(sol.states[0, 1:])) and np.all(np.isfinite(sol.states[1:]))
            assert sol.t_reached_days[1:].tolist() == [180.0, 180.0]
            assert sol.failures() == {0: SolverStatus(int(sol.status[0])).message}


def _relative(states, ref):
    floor = 1e-3 * np.abs(ref).max(axis=(0, 1), keepdims=True) + 1e-300
    return float(np.max(np.abs(states - ref) / (np.abs(ref) + floor)))


def _fast_solver(method, rtol, atol):
    """A Rosenbrock method by name at fixed output stops ("<name>-dense": interpolated outputs;
    "-x4": subjects across 4 SIMD lanes), or the BDF solver ("bdf")."""
    from oasim.solvers import BdfSolver

    if method == "bdf":
        return BdfSolver(rtol=rtol, atol=atol)
    name, _, rest = method.partition("-")
    lanes = int(rest.rpartition("x")[2]) if "x" in rest else 1
    return RosenbrockSolver(method=name, rtol=rtol, atol=atol, dense="dense" in rest, lanes=lanes)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rodas3", "ros3", "rodas5p", "rodas5p-dense", "rodas5p-dense-x4", "bdf"])
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


def sbml_case(name: str, n: int):
    """(model, y0, params, output times) of a shipped SBML model, kinetic parameters log-normal
    (cv 0.2, seed 5). Proctor runs in seconds (14 days); Baker in its own time unit, across its
    event at t = 20."""
    from oasim.interop import sbml

    model = sbml.load(Path(sbml.__file__).parents[1] / "models" / name)
    kinetic = [k for k in model.parameter_names if k != "compartmentOne"]
    params = model.sample_parameters(n, np.random.default_rng(5), cv=0.2, names=kinetic)
    t = np.linspace(0.0, 14 * 86400.0, 11) if "proctor" in name else np.array([0.0, 5.0, 19.0, 21.0, 35.0, 50.0])
    return model, model.initial_state(params), params, t


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rodas3", "rodas5p", "rodas5p-dense", "rodas5p-dense-x4", "bdf"])
@pytest.mark.parametrize("name", ["BIOMD0000000504_proctor2014.xml", "BIOMD0000000928_baker2017.xml"])
def test_sbml_models_match_the_reference(name, method):
    """Proctor 2014 against SciPy Radau; Baker 2017 (SBML events, which the SciPy reference
    refuses) against the Rodas4 default at tight tolerance."""
    from oasim.solvers import NumbaRodasSolver

    model, y0, params, t = sbml_case(name, 4)
    tol = (1e-9, 1e-11) if method == "bdf" else (1e-8, 1e-10)
    fast = _fast_solver(method, *tol).solve(model, y0, params, t)
    if name.startswith("BIOMD0000000504"):
        ref = ScipyReferenceSolver(method="Radau", rtol=1e-9, atol=1e-11).solve(model, y0, params, t)
    else:
        ref = NumbaRodasSolver(rtol=1e-10, atol=1e-12).solve(model, y0, params, t)
    assert fast.ok.all() and ref.ok.all()
    assert _relative(fast.states, ref.states) < 1e-4
