"""The knee model: healthy steady state by construction, generated code equals the equations."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from oasim.model.knee import healthy_state
from oasim.population import sample_parameters
from oasim.solvers.numba_rodas import kernel_module


def _params(model, human, rng, n):
    p = sample_parameters(human, n, rng)
    return {k: p[k] for k in model.parameter_names}


def test_model_has_the_issue_states_in_their_units(model):
    units = {st.name: st.unit for st in model.states}
    for name in ("il1b_pM", "tnf_pM", "il6_pM", "il10_pM", "tgfb_pM", "pge2_pM", "il1ra_pM"):
        assert units[name] == "pM"
    for name in ("msc_fast_cells", "msc_persistent_cells"):
        assert units[name] == "cells"
    for name in ("exosome_free_particles", "exosome_bound_particles"):
        assert units[name] == "particles"
    assert len(model.states) == 31


def test_healthy_state_is_a_steady_state_for_any_subject(model, human, rng):
    """Every production term is normalised to its clearance at health, for any parameter draw."""
    p = _params(model, human, rng, 200)
    p["joint_damage_drive"] = np.zeros(200)
    p["bmi_kg_per_m2"] = p["bmi_reference_kg_per_m2"]
    y = healthy_state(model, p)
    rates = model.derivatives({k: np.broadcast_to(v, (200,)) for k, v in y.items()}, p)
    scales = {st.name: st.scale for st in model.states}
    worst = max(float(np.max(np.abs(r))) / scales[n] for n, r in rates.items())
    assert worst < 1e-10


def test_disease_drive_moves_the_joint_off_the_healthy_state(model, human, rng):
    p = _params(model, human, rng, 5)
    p["joint_damage_drive"] = np.full(5, 2.0)
    rates = model.derivatives(healthy_state(model, p), p)
    assert np.all(rates["damps_rel"] > 0) and np.all(rates["catabolic_fraction"] > 0)


def test_generated_rhs_equals_the_model_equations(model, human, rng):
    k = kernel_module(model)
    p = _params(model, human, rng, 30)
    scales = np.asarray(k.SCALES)
    y = scales[:, None] * rng.uniform(0.2, 3.0, (len(scales), 30))
    direct = np.asarray(model.rhs(y, p)) / scales[:, None]
    pm = np.column_stack([p[n] for n in model.parameter_names])
    out = np.empty(len(scales))
    for s in range(30):
        k.rhs.py_func(y[:, s] / scales, k.extend.py_func(pm[s]), out)
        np.testing.assert_allclose(out, direct[:, s], rtol=1e-10, atol=1e-12)


def test_generated_jacobian_and_sparse_lu_solve_w(model, human, rng):
    """W = c·I − J from the generated code; the sparse LU solves W x = b like numpy does."""
    k = kernel_module(model)
    p = _params(model, human, rng, 3)
    pm = np.column_stack([k.extend.py_func(np.array([p[n][s] for n in model.parameter_names])) for s in range(3)]).T
    n = k.N_STATES
    z = rng.uniform(0.2, 3.0, n)
    f0 = np.empty(n)
    k.rhs.py_func(z, pm[0], f0)
    jac_fd = np.empty((n, n))
    for j in range(n):
        dz = np.zeros(n)
        dz[j] = 1e-6 * max(1.0, abs(z[j]))
        fp, fm = np.empty(n), np.empty(n)
        k.rhs.py_func(z + dz, pm[0], fp)
        k.rhs.py_func(z - dz, pm[0], fm)
        jac_fd[:, j] = (fp - fm) / (2 * dz[j])
    c = 37.0
    w = np.empty(k.NNZ)
    k.jac_w.py_func(z, pm[0], c, w)
    b = rng.normal(size=n)
    x = b.copy()
    k.lu_factor.py_func(w)
    k.lu_solve.py_func(w, x)
    expected = np.linalg.solve(c * np.eye(n) - jac_fd, b)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-8)


def test_every_module_declares_states_and_references(model):
    from oasim.parameters import bibliography_keys

    keys = bibliography_keys()
    for module in model.modules:
        assert module.STATES and module.__doc__
        for key in module.REFERENCES:
            assert key in keys, f"{module.__name__}: {key}"


def test_sympy_and_numpy_paths_share_one_definition(model):
    """The model evaluates with sympy symbols too (feeds codegen and SBML export)."""
    import sympy

    y = {n: sympy.Symbol(n, positive=True) for n in model.state_names}
    p = {n: sympy.Symbol(n, positive=True) for n in model.parameter_names}
    rates = model.derivatives(y, p)
    assert set(rates) == set(model.state_names)
    free = set().union(*(sympy.sympify(e).free_symbols for e in rates.values()))
    assert {s.name for s in free} <= set(model.state_names) | set(model.parameter_names)
