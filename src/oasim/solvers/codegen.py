"""Generate numba kernels from the model's equations with sympy.

One definition feeds every backend: the rate functions in the biology modules are called with
sympy symbols, and from the resulting expressions this module writes straight-line Python for

* ``extend(p)``: the extended parameter vector ``[p, q]``, where ``q`` are the terms that depend
  on parameters only (computed once per subject; see :func:`hoist_parameter_terms`);
* ``rhs(z, pe, out)``: the right-hand side in scaled states ``z = y / scale``;
* ``jac_w(z, pe, c, w)``: the matrix ``W = c·I − J`` (J analytic) in a sparse, fill-in-complete
  layout, whose diagonal entries are at positions ``DIAG``;
* ``lu_factor(w)`` / ``lu_solve(w, b)``: a pivot-free sparse LU of W in a Markowitz
  (minimum-fill) diagonal ordering (U's diagonal stored as reciprocals), and its triangular solves.

The pivot-free LU is safe for W = I/(hγ) − J here because every state has its own first-order
loss, so −J has a positive diagonal. The technique follows KPP's generated sparse linear algebra
for Rosenbrock solvers (Sandu et al.); the measurements that motivated it are in
``shared/research/perf-prototype.md``.

* ``model_event(k, z, p)``: the k-th model-defined event (state reassignments, e.g. an SBML
  event), a no-op for models without events.

Input: a :class:`KneeModel` (or anything with ``states``, ``parameter_names`` and
``derivatives(y, p)`` accepting sympy symbols), or a generic :class:`OdeSystem` (state and
parameter names, sympy rate expressions, scales, event assignments) such as an imported SBML
model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Union

import sympy

from ..model.knee import KneeModel
from ..model.states import State


@dataclass(frozen=True, eq=False)
class OdeSystem:
    """A generic symbolic ODE system dy/dt = f(y, p) with optional model events.

    Parameters
    ----------
    states : the state variables (name, unit, doc, typical scale for tolerances and scaling)
    parameter_names : names of the parameters in the order of the solver's parameter matrix
    y, p : sympy symbols of the states and parameters (same order as above)
    rates : dy_i/dt as sympy expressions in ``y`` and ``p`` (model units)
    event_assignments : per model event, ``((state_index, new_value_expr), ...)``; all new values
        are computed from the values before the event, then assigned
    nonnegative : the solution stays in the non-negative orthant (the solver rejects steps that
        leave it by more than atol and clips at 0); False for general models (e.g. SBML) whose
        states may legitimately become negative
    """

    states: tuple
    parameter_names: tuple
    y: tuple
    p: tuple
    rates: tuple
    event_assignments: tuple = ()
    nonnegative: bool = False

    def __post_init__(self):
        n = len(self.states)
        if not (len(self.y) == len(self.rates) == n) or len(self.p) != len(self.parameter_names):
            raise ValueError("OdeSystem: states, y and rates (and p, parameter_names) must have equal lengths")
        allowed = set(self.y) | set(self.p)
        for name, expr in zip(self.state_names, self.rates):
            extra = sympy.sympify(expr).free_symbols - allowed
            if extra:
                raise ValueError(f"rate of {name} uses unknown symbols {sorted(map(str, extra))}")

    @property
    def state_names(self) -> tuple:
        return tuple(st.name for st in self.states)

    @property
    def scales(self) -> tuple:
        return tuple(float(st.scale) for st in self.states)


ModelLike = Union[KneeModel, OdeSystem]


@dataclass(frozen=True)
class SymbolicModel:
    """Scaled symbolic right-hand side and its Jacobian."""

    z: tuple  # scaled state symbols
    p: tuple  # parameter symbols
    f: tuple  # dz/dt expressions
    jacobian: dict  # (i, j) -> d f_i / d z_j, nonzeros only
    scales: tuple
    events: tuple = ()  # per model event: ((state index, new scaled value expr), ...)
    nonnegative: bool = True  # the kernel keeps states >= 0 (rejects steps below -atol, clips)


def ode_system_of(model) -> OdeSystem | None:
    """The :class:`OdeSystem` behind ``model``: itself, ``model.ode_system()``, or None (a KneeModel)."""
    if isinstance(model, OdeSystem):
        return model
    getter = getattr(model, "ode_system", None)
    return getter() if callable(getter) else None


def symbolic_model(model: ModelLike) -> SymbolicModel:
    """Build the scaled symbolic system dz/dt = f(z, p) / scale."""
    z = sympy.symbols([f"z{i}" for i in range(len(model.states))], real=True)
    p = sympy.symbols([f"p{j}" for j in range(len(model.parameter_names))], positive=True)
    scales = tuple(float(st.scale) for st in model.states)
    system = ode_system_of(model)
    events: tuple = ()
    nonnegative = True
    if system is None:
        y = {st.name: scale * zi for st, scale, zi in zip(model.states, scales, z)}
        params = dict(zip(model.parameter_names, p))
        rates = model.derivatives(y, params)
        f = tuple(sympy.sympify(rates[st.name]) / scale for st, scale in zip(model.states, scales))
    else:
        sub = {yi: scale * zi for yi, scale, zi in zip(system.y, scales, z)}
        sub.update(zip(system.p, p))
        f = tuple(sympy.sympify(r).xreplace(sub) / scale for r, scale in zip(system.rates, scales))
        events = tuple(tuple((i, sympy.sympify(e).xreplace(sub) / scales[i]) for i, e in assignments)
                       for assignments in system.event_assignments)
        nonnegative = bool(system.nonnegative)
    jac = {}
    for i, fi in enumerate(f):
        for j in sorted(fi.free_symbols & set(z), key=lambda s: int(s.name[1:])):
            d = sympy.diff(fi, j)
            if d != 0:
                jac[(i, int(j.name[1:]))] = d
    return SymbolicModel(tuple(z), tuple(p), f, jac, scales, events, nonnegative)


def markowitz_order(n: int, pattern: set[tuple[int, int]]) -> tuple[list[int], set[tuple[int, int]]]:
    """Greedy diagonal Markowitz ordering; returns (pivot order, pattern with fill-in)."""
    filled = set(pattern) | {(i, i) for i in range(n)}
    remaining = set(range(n))
    order: list[int] = []
    while remaining:
        def cost(k):
            r = sum(1 for j in remaining if (k, j) in filled) - 1
            c = sum(1 for i in remaining if (i, k) in filled) - 1
            return (r * c, r + c, k)

        k = min(remaining, key=cost)
        remaining.remove(k)
        rows = [i for i in remaining if (i, k) in filled]
        cols = [j for j in remaining if (k, j) in filled]
        filled.update((i, j) for i in rows for j in cols)
        order.append(k)
    return order, filled


def _cse_lines(exprs, prefix):
    replacements, reduced = sympy.cse(list(exprs), symbols=sympy.numbered_symbols(prefix), optimizations="basic")
    lines = [f"    {sym} = {sympy.pycode(val)}" for sym, val in replacements]
    return lines, [sympy.pycode(e) for e in reduced]


INLINE_MAX_STATES = 0  # see generate_source: inlining costs compile time, not run time


def hoist_parameter_terms(exprs, z: set, table: dict):
    """Replace every sub-expression that depends on parameters only by a symbol ``q<k>``.

    Such terms (rate constants from half-lives, healthy-state normalisations ...) are the same
    at every step of a subject, so ``extend(p)`` computes them once per subject instead of in
    every right-hand-side and Jacobian call. ``table`` maps each hoisted term to its symbol and
    is shared between calls so that the RHS and the Jacobian use the same constants.
    """
    def walk(e):
        if e.is_Atom:
            return e
        if not (e.free_symbols & z):
            if e not in table:
                table[e] = sympy.Symbol(f"q{len(table)}")
            return table[e]
        return e.func(*[walk(a) for a in e.args])

    return [walk(sympy.sympify(e)) for e in exprs]


def generate_source(model: ModelLike) -> str:
    """Python source of the rhs / jac_w / lu_factor / lu_solve kernels for ``model``."""
    sm = symbolic_model(model)
    n = len(sm.z)
    n_params = len(sm.p)
    derived: dict = {}
    rates = hoist_parameter_terms(sm.f, set(sm.z), derived)
    keys = sorted(sm.jacobian)
    jacobian = hoist_parameter_terms([sm.jacobian[k] for k in keys], set(sm.z), derived)
    # rhs and jac_w read the extended parameter vector pe = [p, q] made once per subject by extend()
    unpack = ([f"    z{i} = z[{i}]" for i in range(n)] + [f"    p{j} = p[{j}]" for j in range(n_params)]
              + [f"    {q} = p[{n_params + k}]" for k, q in enumerate(derived.values())])

    rhs_lines, rhs_exprs = _cse_lines(rates, "r")
    # Numba-level inlining copies the straight-line kernels into each of the six Rodas stages.
    # Measured on the 25-state knee model (1e4 subjects, 2 y, 2 threads, same process type):
    # cold compile 46 s inlined vs 13 s as calls, run time 1.17 s vs 1.15-1.18 s. LLVM still
    # inlines where it pays, so models up to INLINE_MAX_STATES are inlined only on request.
    inline = "always" if n <= INLINE_MAX_STATES else "never"
    jit = f"@njit(cache=True, fastmath=True, error_model='numpy', inline='{inline}')"
    src = ["import math", "import numpy as np", "from numba import njit", "",
           f"N_STATES = {n}", f"N_PARAMS = {n_params}", f"N_DERIVED = {len(derived)}",
           f"SCALES = np.array({list(sm.scales)!r})", f"NONNEGATIVE = {bool(sm.nonnegative)}", ""]
    q_lines, q_exprs = _cse_lines(list(derived), "c")
    src += ["@njit(cache=True, fastmath=True, error_model='numpy')", "def extend(p):",
            "    pe = np.empty(N_PARAMS + N_DERIVED)",
            "    for j in range(N_PARAMS):", "        pe[j] = p[j]"]
    src += [f"    p{j} = p[{j}]" for j in range(n_params)] + q_lines
    src += [f"    pe[{n_params + k}] = {e}" for k, e in enumerate(q_exprs)] + ["    return pe", ""]
    src += [jit, "def rhs(z, p, out):"] + unpack + rhs_lines
    src += [f"    out[{i}] = {e}" for i, e in enumerate(rhs_exprs)]

    order, filled = markowitz_order(n, set(sm.jacobian))
    pos = {orig: a for a, orig in enumerate(order)}
    entries = sorted((pos[i], pos[j]) for i, j in filled)
    index = {e: k for k, e in enumerate(entries)}
    src += ["", f"NNZ = {len(entries)}", f"ORDER = np.array({order!r})",
            f"DIAG = np.array({[index[(a, a)] for a in range(n)]!r})  # positions of W's diagonal", ""]

    jac_lines, jac_exprs = _cse_lines(jacobian, "j")
    src += [jit, "def jac_w(z, p, c, w):"] + unpack + jac_lines
    src += [f"    w[{k}] = 0.0" for k in range(len(entries))]
    for (i, j), e in zip(keys, jac_exprs):
        src.append(f"    w[{index[(pos[i], pos[j])]}] = -({e})")
    src += [f"    w[{index[(a, a)]}] += c" for a in range(n)]

    # U's diagonal is stored as its reciprocal: the triangular solves multiply instead of divide
    # (a division on the back substitution's dependency chain costs ~3x a multiplication)
    lu = ["", jit, "def lu_factor(w):"]
    for a in range(n):
        lu.append(f"    d = 1.0 / w[{index[(a, a)]}]")
        lu.append(f"    w[{index[(a, a)]}] = d")
        rows = [r for r in range(a + 1, n) if (r, a) in index]
        cols = [c for c in range(a + 1, n) if (a, c) in index]
        for r in rows:
            lu.append(f"    w[{index[(r, a)]}] *= d")
            for c in cols:
                lu.append(f"    w[{index[(r, c)]}] -= w[{index[(r, a)]}] * w[{index[(a, c)]}]")
    lu.append("    return")
    src += lu

    sol = ["", jit, "def lu_solve(w, b):"]
    sol += [f"    x{a} = b[{order[a]}]" for a in range(n)]
    for r in range(n):
        for c in range(r):
            if (r, c) in index:
                sol.append(f"    x{r} -= w[{index[(r, c)]}] * x{c}")
    for r in reversed(range(n)):
        for c in range(r + 1, n):
            if (r, c) in index:
                sol.append(f"    x{r} -= w[{index[(r, c)]}] * x{c}")
        sol.append(f"    x{r} *= w[{index[(r, r)]}]")
    sol += [f"    b[{order[a]}] = x{a}" for a in range(n)]
    src += sol

    ev = ["", "@njit(cache=True, fastmath=True, error_model='numpy')", "def model_event(k, z, p):"]
    if not sm.events:
        ev.append("    return")
    for k, assignments in enumerate(sm.events):
        ev.append(f"    {'if' if k == 0 else 'elif'} k == {k}:")
        used = set().union(*(e.free_symbols for _, e in assignments)) if assignments else set()
        ev += [f"        z{i} = z[{i}]" for i in range(n) if sm.z[i] in used]
        ev += [f"        p{j} = p[{j}]" for j in range(len(sm.p)) if sm.p[j] in used]
        ev += [f"        e{a} = {sympy.pycode(e)}" for a, (_, e) in enumerate(assignments)]
        ev += [f"        z[{i}] = e{a}" for a, (i, _) in enumerate(assignments)]
        if not assignments:
            ev.append("        pass")
    src += ev
    return "\n".join(src) + "\n"


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- subjects across SIMD lanes ---------------------------------------------------------------
# The lane kernels advance L subjects at once in a structure-of-arrays layout: state i of lane l
# is x[i * L + l] (flat arrays, so every index is a compile-time constant and LLVM can prove
# that loads and stores do not alias). Each generated statement of rhs / jac_w / lu_factor /
# lu_solve is written once per lane with its locals suffixed by the lane; LLVM's SLP vectoriser
# (numba's NUMBA_SLP_VECTORIZE, off by default, switched on only while the lane kernel compiles:
# see oasim.solvers.rosenbrock) packs the L isomorphic copies into vector instructions.
# The loop vectoriser does not do this: with the statements inside ``for l in range(L)`` it
# vectorised only lu_factor (measured: rhs, jac_w and lu_solve stayed scalar).

_ARRAY_INDEX = re.compile(r"\b(z|p|out|w|b)\[(\d+)\]")
_LOCAL = re.compile(r"\b([a-z]\d+|d)\b")  # z0, p3, q5, r12, j7, x3 (CSE temporaries, unpacked values), d


def _functions(source: str) -> dict:
    """name -> (argument list, body lines) of the ``@njit`` functions in generated source."""
    found = {}
    pattern = re.compile(r"^@njit[^\n]*\ndef (\w+)\(([^)]*)\):\n((?:    [^\n]*\n|\n)*?)(?=^\S|\Z)", re.M)
    for m in pattern.finditer(source):
        found[m.group(1)] = (m.group(2), [ln for ln in m.group(3).splitlines() if ln.strip()])
    return found


def _lane_statement(line: str, lane: int, lanes: int) -> str:
    """One generated statement for lane ``lane``: arrays indexed i -> i * lanes + lane, locals suffixed."""
    text = _ARRAY_INDEX.sub(lambda m: f"@{m.group(1)}@{m.group(2)}@", line)
    text = _LOCAL.sub(rf"\1_{lane}", text)
    text = re.sub(r"\bc\b", f"c[{lane}]", text)  # jac_w's per-lane c = 1/(hγ)
    return re.sub(r"@(\w+)@(\d+)@", lambda m: f"{m.group(1)}[{int(m.group(2)) * lanes + lane}]", text)


def _jac_w_direct(body: list[str]) -> list[str]:
    """jac_w's statements with each entry written once: fill-in entries ``= 0.0``, Jacobian
    entries ``= -(J)``, diagonal entries ``= c - (J)`` (or ``= c``), in place of zeroing all,
    assigning and adding c (the zero-then-overwrite order kept the SLP vectoriser from packing)."""
    assign = re.compile(r"^    w\[(\d+)\] = (.*)$")
    add_c = re.compile(r"^    w\[(\d+)\] \+= c$")
    value, diag, other = {}, set(), []
    for ln in body:
        if (m := add_c.match(ln)):
            diag.add(int(m.group(1)))
        elif (m := assign.match(ln)):
            value[int(m.group(1))] = m.group(2)  # the later assignment (the Jacobian entry) wins
        else:
            other.append(ln)
    out = other
    for k in sorted(value):
        v = value[k]
        if k in diag:
            v = "c" if v == "0.0" else f"c - ({v.removeprefix('-')})" if v.startswith("-(") else f"c + {v}"
        out.append(f"    w[{k}] = {v}")
    return out


def generate_lane_source(model: ModelLike, lanes: int) -> str:
    """Source of ``rhs_L(z, p, out)``, ``jac_w_L(z, p, c, w)``, ``lu_factor_L(w)`` and
    ``lu_solve_L(w, b)``: the kernels of :func:`generate_source` for ``lanes`` subjects at once
    on flat structure-of-arrays vectors (state i of lane l at ``i * lanes + l``; ``c`` is a
    vector of the lanes' 1/(hγ)). Appended to :func:`generate_source`'s module."""
    funcs = _functions(generate_source(model))
    src = [f"LANES = {lanes}", ""]
    for name in ("rhs", "jac_w", "lu_factor", "lu_solve"):
        args, body = funcs[name]
        body = [ln for ln in body if ln.strip() != "return"]
        if name == "jac_w":
            body = _jac_w_direct(body)
        src += ["@njit(cache=True, fastmath=True, error_model='numpy')", f"def {name}_L({args}):"]
        src += [_lane_statement(ln, lane, lanes) for ln in body for lane in range(lanes)]
        src.append("")
    return "\n".join(src)
