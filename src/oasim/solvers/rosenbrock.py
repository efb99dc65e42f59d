"""Tableau-driven numba Rosenbrock solvers (ROS3, Rodas3, Rodas4) with dense output.

One kernel template (``rosenbrock_kernel.py``) serves every method; the tableau is written as
module constants in front of it, so numba compiles (and caches) one module per model and method.
The methods and their coefficients are those of KPP's Rosenbrock integrator (Sandu et al. 1997,
``sandu1997benchmarking``; Rodas4 from Hairer & Wanner 1996, ``hairer1996solving``):

========  ======  ==========  ========  =========================================
method    order   stages      f evals   notes
========  ======  ==========  ========  =========================================
ros3      3(2)    3           2         L-stable, γ = 0.4358665215
rodas3    3(2)    4           3         stiffly accurate, γ = 1/2
rodas4    4(3)    6           6         stiffly accurate (the ``numba`` default)
========  ======  ==========  ========  =========================================

Per step: one W = I/(hγ) − J and its sparse LU, ``stages`` triangular solves, ``f evals`` RHS
calls plus one RHS at the accepted point (reused by the next step's first stage and by the
interpolant). With ``dense=True`` steps run across output times and the outputs are
interpolated (cubic Hermite); doses and model events still stop the integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import FieldError
from .base import AbstractSolver, kernel_arrays
from .numba_rodas import _kernel_module_for_source, _model_source
from .solution import Solution

_S3 = 0.43586652150845899941601945119356  # ROS3 diagonal γ

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
}
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
    return "\n".join([
        f"# Rosenbrock tableau: {method}",
        f"ROS_S = {s}",
        f"ROS_GAMMA = {tb['gamma']!r}",
        f"ROS_ELO = {tb['elo']!r}",
        f"ROS_A = np.array({a.tolist()!r})",
        f"ROS_C = np.array({c.tolist()!r})",
        f"ROS_M = np.array({list(tb['M'])!r})",
        f"ROS_E = np.array({list(tb['E'])!r})",
        f"ROS_NEWF = np.array({list(tb['newf'])!r})",
        "",
    ])


@lru_cache(maxsize=16)
def _template() -> str:
    return resources.files("oasim.solvers").joinpath("rosenbrock_kernel.py").read_text("utf-8")


def rosenbrock_module(model, method: str):
    """The compiled kernel module for ``model`` and ``method`` (generated and cached on first use)."""
    return _kernel_module_for_source(_model_source(model) + "\n\n" + tableau_source(method) + "\n" + _template())


@dataclass(frozen=True)
class RosenbrockSolver(AbstractSolver):
    """A numba Rosenbrock method over subjects in parallel.

    Parameters
    ----------
    method : one of ``TABLEAUX`` (ros3, rodas3, rodas4)
    rtol : relative tolerance
    atol : absolute tolerance in units of each state's typical scale (``State.scale``)
    dense : interpolate outputs inside steps instead of stopping at every output time
    max_steps : per subject, over the whole integration
    h_init_days : first step after the start and after every dose
    """

    method: str = "rodas3"
    rtol: float = 1e-6
    atol: float = 1e-8
    dense: bool = True
    max_steps: int = 200_000
    h_init_days: float = 1e-4

    def __post_init__(self):
        if self.method not in TABLEAUX:
            raise FieldError("method", self.method, f"one of {sorted(TABLEAUX)}")

    def solve(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0) -> Solution:
        kernel = rosenbrock_module(model, self.method)
        t_eval, z0, params, (ev_t, ev_idx, amt), scales, out, status, t_reached = kernel_arrays(
            kernel, model, y0, params, t_eval_days, events, t_start_days)
        n_steps = np.zeros(z0.shape[0], dtype=np.int64)
        kernel.solve_population(z0, params, float(t_start_days), t_eval, ev_t, ev_idx, amt,
                                self.rtol, self.atol, self.h_init_days, self.max_steps, bool(self.dense),
                                out, status, n_steps, t_reached)
        out *= scales  # outputs a failed subject did not reach stay NaN
        return Solution(t_eval, out, model.state_names, status, n_steps, t_reached)
