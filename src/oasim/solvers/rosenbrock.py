"""Tableau-driven numba Rosenbrock solvers (ROS3, Rodas3, Rodas4, Rodas5P) with dense output.

One kernel template (``rosenbrock_kernel.py``) serves every method; the tableau is written in
front of it as module constants and as ``ros_stages``, the stages of one step unrolled with the
coefficients inlined (one fused pass over the states per stage, as the hand-written Rodas4
kernel does), so numba compiles (and caches) one module per model and method.
ROS3, Rodas3 and Rodas4 and their coefficients are those of KPP's Rosenbrock integrator (Sandu et
al. 1997, ``sandu1997benchmarking``; Rodas4 from Hairer & Wanner 1996, ``hairer1996solving``).
Rodas5P is Steinebach 2023 (``steinebach2023rodas5p``); its coefficients (A, C, γ and the dense
output matrix H, in the same transformed W-formulation as KPP's) were read from the
``RODAS5PA`` / ``RODAS5PC`` / ``RODAS5PH`` tables of SciML's OrdinaryDiffEq.jl
(``lib/OrdinaryDiffEqRosenbrock/src/rosenbrock_tableaus.jl``, commit b211787f, 2026-08-22),
which cites the same paper; ``tests/solvers/test_rosenbrock.py`` checks its orders.

========  ======  ==========  ========  =========================================
method    order   stages      f evals   notes
========  ======  ==========  ========  =========================================
ros3      3(2)    3           2         L-stable, γ = 0.4358665215
rodas3    3(2)    4           3         stiffly accurate, γ = 1/2
rodas4    4(3)    6           6         stiffly accurate (the ``numba`` default)
rodas5p   5(4)    8           8         stiffly accurate, γ = 0.2119375632,
                                        4th-order dense output (H)
========  ======  ==========  ========  =========================================

Per step: one W = I/(hγ) − J and its sparse LU, ``stages`` triangular solves, ``f evals`` RHS
calls plus one RHS at the accepted point (reused by the next step's first stage and by the
interpolant). With ``dense=True`` steps run across output times and the outputs are
interpolated: with the method's own interpolant where the tableau has one (Rodas5P:
y(θ) = (1−θ)·y0 + θ·(y1 + (1−θ)·(D1 + θ·(D2 + θ·D3))), D_j = Σ_i H_ji·K_i, order 4), otherwise
cubic Hermite on (y0, f0, y1, f1) (order 3); doses and model events still stop the integration.
With ``dense=False`` every output time ends a step, so outputs carry the method's full order.

With ``lanes=4`` or ``8`` the kernel advances that many subjects at once in a structure-of-arrays
layout (``codegen.generate_lane_source``, ``rosenbrock_lanes_kernel.py``), compiled with LLVM's
SLP vectoriser on (numba's default leaves it off), so the RHS, W + LU and triangular solves run
as AVX2 / AVX-512 vector instructions; the step-size logic stays per subject.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import FieldError
from .base import AbstractSolver, kernel_arrays
from .codegen import generate_lane_source
from .numba_rodas import _kernel_module_for_source, _model_source
from .solution import Solution

_S3 = 0.43586652150845899941601945119356  # ROS3 diagonal γ
# Rodas5P: row 6 of A (a_61 .. a_65), repeated in rows 7 and 8 and in the solution weights
_RODAS5P_A6 = (-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
               0.030198172008377946)

TABLEAUX = {
    # KPP ros_A / ros_C packed row-wise below the diagonal: (2,1), (3,1), (3,2), (4,1), ...
    "ros3": dict(S=3, gamma=_S3, elo=3.0,
                 A=(1.0, 1.0, 0.0),
                 C=(-1.0156171083877702091975600115545, 4.0759956452537699824805835358067,
                    9.2076794298330791242156818474003),
                 M=(1.0, 6.1697947043828245592553615689730, -0.42772256543218573326238373806514),
                 E=(0.5, -2.9079558716805469821718236208017, 0.22354069897811569627360909276199),
                 newf=(True, True, False)),
    "rodas3": dict(S=4, gamma=0.5, elo=3.0,
                   A=(0.0, 2.0, 0.0, 2.0, 0.0, 1.0),
                   C=(4.0, 1.0, -1.0, 1.0, -1.0, -8.0 / 3.0),
                   M=(2.0, 0.0, 1.0, 1.0), E=(0.0, 0.0, 0.0, 1.0),
                   newf=(True, False, True, True)),
    "rodas4": dict(S=6, gamma=0.25, elo=4.0,
                   A=(1.544, 0.9466785280815826, 0.2557011698983284, 3.314825187068521,
                      2.896124015972201, 0.9986419139977817, 1.221224509226641, 6.019134481288629,
                      12.53708332932087, -0.687886036105895, 1.221224509226641, 6.019134481288629,
                      12.53708332932087, -0.687886036105895, 1.0),
                   C=(-5.6688, -2.430093356833875, -0.2063599157091915, -0.1073529058151375,
                      -9.594562251023355, -20.47028614809616, 7.496443313967647, -10.24680431464352,
                      -33.99990352819905, 11.7089089320616, 8.083246795921522, -7.981132988064893,
                      -31.52159432874371, 16.31930543123136, -6.058818238834054),
                   M=(1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895,
                      1.0, 1.0),
                   E=(0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
                   newf=(True,) * 6),
    # Steinebach 2023 (see the module docstring): rows 7 and 8 of A repeat row 6 plus ones
    # (stiffly accurate), so M = (row 8 of A, 1) and the error estimate is the last stage
    "rodas5p": dict(S=8, gamma=0.21193756319429014, elo=5.0,
                    A=(3.0,
                       2.849394379747939, 0.45842242204463923,
                       -6.954028509809101, 2.489845061869568, -10.358996098473584,
                       2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641,
                       *_RODAS5P_A6, *_RODAS5P_A6, 1.0, *_RODAS5P_A6, 1.0, 1.0),
                    C=(-14.155112264123755,
                       -17.97296035885952, -2.859693295451294,
                       147.12150275711716, -1.41221402718213, 71.68940251302358,
                       165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306,
                       24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125,
                       -0.6610691825249471,
                       30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783,
                       -19.097331116725623, -28.087943162872662,
                       37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
                       -40.06618937091002, -54.66780262877968, -9.48861652309627),
                    M=(*_RODAS5P_A6, 1.0, 1.0, 1.0),
                    E=(0.0,) * 7 + (1.0,),
                    newf=(True,) * 8,
                    H=((25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204,
                        0.524948541321073, 1.1241088310450404, 0.4272876194431874, -0.17202221070155493),
                       (-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796,
                        20.176138334709044, 15.98066361424651, -6.789040303419874, -6.710236069923372),
                       (11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643,
                        -52.072871366152654, -59.78993625266729, -0.15582684282751913, 4.883087185713722))),
}
LANE_COUNTS = (1, 4, 8)  # 1: the scalar kernel; 4 / 8: subjects per SIMD kernel call (AVX2 / AVX-512 doubles)
STAGE_COUNTS = {name: (tb["S"], sum(tb["newf"])) for name, tb in TABLEAUX.items()}


def _unpack(packed, s):
    a = np.zeros((s, s))
    k = 0
    for i in range(1, s):
        for j in range(i):
            a[i, j] = packed[k]
            k += 1
    return a


def tableau_source(method: str) -> str:
    tb = TABLEAUX[method]
    s = tb["S"]
    a, c = _unpack(tb["A"], s), _unpack(tb["C"], s)
    # dense-output rows D_j = Σ_i H_ji K_i; a placeholder row when the method has none (ROS_NH = 0)
    h = np.array(tb.get("H", ((0.0,) * s,)), dtype=float)
    n_h = len(tb.get("H", ()))
    return "\n".join([
        f"# Rosenbrock tableau: {method}",
        f"ROS_S = {s}",
        f"ROS_GAMMA = {tb['gamma']!r}",
        f"ROS_ELO = {tb['elo']!r}",
        f"ROS_NH = {n_h}",
        f"ROS_H = np.array({h.tolist()!r})",
        "",
        _stages_source(s, a, c, tb),
    ])


def _combination(first: str, terms) -> str:
    """``first + c_1 * v_1[i] + ...`` over the non-zero coefficients, in order (exact literals)."""
    return " + ".join([first] + [f"{float(coef)!r} * {vec}[i]" for coef, vec in terms if coef != 0.0])


def _stages_source(s: int, a: np.ndarray, c: np.ndarray, tb: dict) -> str:
    """``ros_stages``: all stages of one step unrolled with the coefficients inlined, each stage
    one fused pass over the states (as the hand-written Rodas4 kernel does); leaves
    y1 = z + Σ M_i K_i in ``u`` and the error Σ E_i K_i in ``fs``. Sums keep the tableau's term
    order; zero coefficients are left out."""
    lines = [
        "@njit(cache=True, fastmath=True, error_model='numpy')",
        "def ros_stages(z, f0, p, inv_h, w, K, u, fs):",
        "    n = z.shape[0]",
        *[f"    k{j} = K[{j}]" for j in range(s)],
    ]
    last_f = "f0"  # stage 0 uses f(z), kept from the previous step
    for i in range(s):
        if i > 0 and tb["newf"][i]:  # (a stage without a new f reuses the last one, as in KPP)
            lines += ["    for i in range(n):",
                      f"        u[i] = {_combination('z[i]', [(a[i, j], f'k{j}') for j in range(i)])}",
                      "    rhs(u, p, fs)"]
            last_f = "fs"
        scaled = [j for j in range(i) if c[i, j] != 0.0]
        lines += [f"    c{i}_{j} = {float(c[i, j])!r} * inv_h" for j in scaled]
        lines += ["    for i in range(n):",
                  f"        k{i}[i] = {' + '.join([f'{last_f}[i]'] + [f'c{i}_{j} * k{j}[i]' for j in scaled])}",
                  f"    lu_solve(w, k{i})"]
    error = _combination("0.0", [(x, f"k{j}") for j, x in enumerate(tb["E"])])
    lines += ["    for i in range(n):",
              f"        u[i] = {_combination('z[i]', [(x, f'k{j}') for j, x in enumerate(tb['M'])])}",
              f"        fs[i] = {error.removeprefix('0.0 + ')}",
              ""]
    return "\n".join(lines)


def _lane_stages_source(s: int, a: np.ndarray, c: np.ndarray, tb: dict) -> str:
    """``ros_stages_L``: :func:`_stages_source` for LANES subjects in the structure-of-arrays
    layout (state i of lane l at i * LANES + l); ``inv_h[i * LANES + l]`` is lane l's 1/h, so
    every pass is one flat loop over the states of all lanes (as contiguous as the scalar one)."""
    lines = [
        "@njit(cache=True, fastmath=True, error_model='numpy')",
        "def ros_stages_L(z, f0, p, inv_h, w, K, u, fs):",
        "    nl = z.shape[0]",
        *[f"    k{j} = K[{j}]" for j in range(s)],
    ]
    last_f = "f0"
    for i in range(s):
        if i > 0 and tb["newf"][i]:
            lines += ["    for m in range(nl):",
                      f"        u[m] = {_combination('z[m]', [(a[i, j], f'k{j}') for j in range(i)]).replace('[i]', '[m]')}",
                      "    rhs_L(u, p, fs)"]
            last_f = "fs"
        scaled = [j for j in range(i) if c[i, j] != 0.0]
        terms = " + ".join([f"{last_f}[m]"] + [f"{float(c[i, j])!r} * inv_h[m] * k{j}[m]" for j in scaled])
        lines += ["    for m in range(nl):",
                  f"        k{i}[m] = {terms}",
                  f"    lu_solve_L(w, k{i})"]
    error = _combination("0.0", [(x, f"k{j}") for j, x in enumerate(tb["E"])]).replace("[i]", "[m]")
    lines += ["    for m in range(nl):",
              f"        u[m] = {_combination('z[m]', [(x, f'k{j}') for j, x in enumerate(tb['M'])]).replace('[i]', '[m]')}",
              f"        fs[m] = {error.removeprefix('0.0 + ')}",
              ""]
    return "\n".join(lines)


@lru_cache(maxsize=16)
def _template() -> str:
    return resources.files("oasim.solvers").joinpath("rosenbrock_kernel.py").read_text("utf-8")


def tableau_lane_source(method: str) -> str:
    tb = TABLEAUX[method]
    s = tb["S"]
    return _lane_stages_source(s, _unpack(tb["A"], s), _unpack(tb["C"], s), tb)


@lru_cache(maxsize=4)
def _lanes_template() -> str:
    return resources.files("oasim.solvers").joinpath("rosenbrock_lanes_kernel.py").read_text("utf-8")


@lru_cache(maxsize=8)
def _lane_source(model, lanes: int) -> str:
    return generate_lane_source(model, lanes)


def rosenbrock_module(model, method: str, lanes: int = 1):
    """The compiled kernel module for ``model`` and ``method`` (generated and cached on first use);
    with ``lanes`` > 1 it also holds the SIMD-lane kernel ``solve_population_lanes``."""
    text = _model_source(model) + "\n\n" + tableau_source(method) + "\n" + _template()
    if lanes > 1:
        text += "\n\n" + _lane_source(model, lanes) + "\n\n" + tableau_lane_source(method) + "\n\n" + _lanes_template()
    return _kernel_module_for_source(text)


@contextmanager
def slp_vectorised():
    """Compile inside this block with LLVM's SLP vectoriser on (the lane kernels need it).

    numba leaves it off by default (``NUMBA_SLP_VECTORIZE``) and reads the setting when it
    optimises a module, so it is switched on only here, under numba's compiler lock; kernels
    compiled elsewhere keep numba's default."""
    from numba.core import config
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        before = config.SLP_VECTORIZE
        config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            config.SLP_VECTORIZE = before


def _compile_vectorised(dispatcher, args):
    """Compile (or load from numba's cache) ``dispatcher`` for ``args`` with the SLP vectoriser on."""
    from numba import typeof

    sig = tuple(typeof(a) for a in args)
    with slp_vectorised():
        dispatcher.compile(sig)


@dataclass(frozen=True)
class RosenbrockSolver(AbstractSolver):
    """A numba Rosenbrock method over subjects in parallel.

    Parameters
    ----------
    method : one of ``TABLEAUX`` (ros3, rodas3, rodas4, rodas5p)
    rtol : relative tolerance
    atol : absolute tolerance in units of each state's typical scale (``State.scale``)
    dense : interpolate outputs inside steps instead of stopping at every output time (the
        method's own interpolant if it has one, else cubic Hermite)
    max_steps : per subject, over the whole integration
    h_init_days : first step after the start and after every dose
    lanes : 1 (one subject per kernel call) or 4 / 8: subjects advanced in lock-step across SIMD
        lanes (``rosenbrock_lanes_kernel.py``), each with its own step size and accept/reject.
        The same steps as ``lanes=1`` and outputs equal to ~1e-13 relative (sums ordered
        differently under fastmath). Rodas5P + interpolant, 2 threads, subjects/s vs ``lanes=1``
        (``python -m benchmarks.throughput``, rtol 1e-5 to 3e-8, load 2.2-3.8): joint knee model
        (1e4 subjects) 1.96-2.05x with 4 lanes, 2.13-2.27x with 8; Proctor 2014 (1e3) 1.54-1.68x
        with 4. The first use per model, method and lane count compiles for minutes (knee model:
        ~80 s with 4 lanes, 230-420 s with 8), then loads from numba's cache.
    """

    method: str = "rodas3"
    rtol: float = 1e-6
    atol: float = 1e-8
    dense: bool = True
    max_steps: int = 200_000
    h_init_days: float = 1e-4
    lanes: int = 1

    def __post_init__(self):
        if self.method not in TABLEAUX:
            raise FieldError("method", self.method, f"one of {sorted(TABLEAUX)}")
        if self.lanes not in LANE_COUNTS:
            raise FieldError("lanes", self.lanes, f"one of {LANE_COUNTS}")

    def solve(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0) -> Solution:
        kernel = rosenbrock_module(model, self.method, self.lanes)
        t_eval, z0, params, (ev_t, ev_idx, amt), scales, out, status, t_reached = kernel_arrays(
            kernel, model, y0, params, t_eval_days, events, t_start_days)
        n_steps = np.zeros(z0.shape[0], dtype=np.int64)
        args = (z0, params, float(t_start_days), t_eval, ev_t, ev_idx, amt, float(self.rtol), float(self.atol),
                float(self.h_init_days), int(self.max_steps), bool(self.dense), out, status, n_steps, t_reached)
        if self.lanes > 1:
            from numba import get_num_threads

            args = (*args, get_num_threads())
            _compile_vectorised(kernel.solve_population_lanes, args)
            kernel.solve_population_lanes(*args)
        else:
            kernel.solve_population(*args)
        out *= scales  # outputs a failed subject did not reach stay NaN
        return Solution(t_eval, out, model.state_names, status, n_steps, t_reached)
