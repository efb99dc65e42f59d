"""Variable-order BDF (NDF, orders 1-5) over subjects in parallel, with Jacobian and LU reuse.

SciPy's ``BDF`` method (Shampine & Reichelt 1997, ``shampine1997matlab``) ported to numba on the
generated sparse kernels (``bdf_kernel.py``): per step one or a few simplified-Newton
iterations (one RHS and one sparse triangular solve each); the analytic Jacobian is kept until
the Newton iteration fails with it, and the LU of W = I/c − J until the step size or order
changes. This is the structure of CVODE (which libRoadRunner uses), where Rodas4 needs 6 RHS,
6 solves and a fresh Jacobian and LU on every step. Outputs come from the BDF interpolating
polynomial; the integration stops only at doses and model events, where it restarts at order 1.

Hand-written because the maintained libraries do not fit: SciPy's BDF is per-subject Python, and
numbalsoda 0.3.4 (LSODA callable from numba) has no wheel for this platform, builds only with a
Fortran compiler and takes no analytic Jacobian; measured on the joint knee model (200 subjects,
2 years, 5 doses, one thread, load 7-8, same process) it took 15.1 / 23.1 / 31.4 ms per subject
at rtol 1e-5 / 1e-6 / 1e-7 against Rodas4's 4.0 / 8.2 / 15.6 ms, at 4-10x Rodas4's error
(``python -m benchmarks.lsoda``).

Measured against Rodas4 (``python -m benchmarks.throughput --methods rodas4,bdf``): per step
this BDF needs about 1.3 RHS + solves and 0.1 LU (Rodas4: 6 + 6 and 1), but on the knee model it
takes 2x the steps at equal rtol and reaches an error about 20x larger, so at equal achieved
accuracy it is not faster than Rodas4 there (nor on Proctor 2014); Rodas4 stays the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .base import AbstractSolver, kernel_arrays
from .numba_rodas import _kernel_module_for_source, _model_source
from .solution import Solution


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files("oasim.solvers").joinpath("bdf_kernel.py").read_text("utf-8")


def bdf_module(model):
    """The compiled BDF kernel module for ``model`` (generated and cached on first use)."""
    return _kernel_module_for_source(_model_source(model) + "\n\n" + _template())


@dataclass(frozen=True)
class BdfSolver(AbstractSolver):
    """Variable-order BDF with Jacobian and LU reuse (see the module docstring).

    Parameters
    ----------
    rtol : relative tolerance
    atol : absolute tolerance in units of each state's typical scale (``State.scale``)
    max_steps : per subject, over the whole integration (accepted + rejected)
    h_init_days : first step after the start and after every dose
    """

    rtol: float = 1e-6
    atol: float = 1e-8
    max_steps: int = 200_000
    h_init_days: float = 1e-4

    def solve(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0) -> Solution:
        return self.solve_counted(model, y0, params, t_eval_days, events, t_start_days)[0]

    def solve_counted(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0):
        """(:class:`Solution`, counts): counts is (n_subjects, 4) int: steps (accepted + rejected),
        RHS evaluations, LU factorisations, Jacobian evaluations."""
        kernel = bdf_module(model)
        t_eval, z0, params, (ev_t, ev_idx, amt), scales, out, status, t_reached = kernel_arrays(
            kernel, model, y0, params, t_eval_days, events, t_start_days)
        counts = np.zeros((z0.shape[0], 4), dtype=np.int64)
        kernel.solve_population(z0, params, float(t_start_days), t_eval, ev_t, ev_idx, amt,
                                self.rtol, self.atol, self.h_init_days, self.max_steps,
                                out, status, counts, t_reached)
        out *= scales
        return Solution(t_eval, out, model.state_names, status, counts[:, 0].copy(), t_reached), counts
