"""SciPy reference solver: the truth for tests.

It evaluates the model's rate functions directly on NumPy arrays (not the generated code), so a
disagreement with the numba solver points at code generation, the kernel or the step control.
All subjects are stacked into one system and integrated with ``solve_ivp`` (Radau or BDF by
default) with a block-diagonal Jacobian sparsity; integration restarts at every dose time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import block_diag, csr_matrix

from ..errors import SolverError
from .base import AbstractSolver, check_inputs, model_event_times
from .solution import Solution


@dataclass(frozen=True)
class ScipyReferenceSolver(AbstractSolver):
    """``solve_ivp`` on the stacked population at tight tolerances.

    ``atol`` is relative to each state's typical scale, as in the numba solver.
    """

    method: str = "Radau"
    rtol: float = 1e-8
    atol: float = 1e-10

    def solve(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0) -> Solution:
        y0, params, t_eval, (ev_t, ev_idx, ev_amt) = check_inputs(
            model, y0, params, t_eval_days, events, t_start_days)
        if model_event_times(model, params, t_start_days).size or np.any(ev_idx[np.isfinite(ev_t)] < 0):
            raise SolverError("the SciPy reference solver does not apply model-defined (SBML) events; "
                              "use NumbaRodasSolver for models with events")
        n_sub, n = y0.shape
        p = {name: params[:, j] for j, name in enumerate(model.parameter_names)}
        scales = np.array([st.scale for st in model.states])

        def f(_t, flat):
            y = flat.reshape(n, n_sub)  # state-major: y[i] is state i for all subjects
            return np.asarray(model.rhs(y, p), dtype=float).reshape(-1)

        pattern = _jacobian_pattern(model, {k: v[:1] for k, v in p.items()}, scales)
        # state-major layout: entry (i, a) -> i * n_sub + a; subjects decouple
        rows, cols = np.nonzero(pattern)
        sub = np.arange(n_sub)
        sparsity = csr_matrix((np.ones(rows.size * n_sub),
                               ((rows[:, None] * n_sub + sub).ravel(), (cols[:, None] * n_sub + sub).ravel())),
                              shape=(n * n_sub, n * n_sub))
        atol = np.repeat(self.atol * scales, n_sub)

        t_end = t_eval[-1]
        inner = sorted({t for t in ev_t.ravel() if t_start_days < t < t_end})
        bounds = [t_start_days, *inner, t_end]
        y = y0.T.copy()
        out = np.zeros((n_sub, t_eval.size, n))
        out[:, t_eval == t_start_days, :] = y.T[:, None, :]  # pre-dose at the start
        applied = np.zeros(ev_t.shape, dtype=bool)
        for a, b in zip(bounds[:-1], bounds[1:]):
            due = (ev_t <= a) & ~applied
            for s, k in zip(*np.nonzero(due)):
                y[ev_idx[s, k], s] += ev_amt[s, k]
            applied |= due
            if b <= a:
                continue
            mask = (t_eval > a) & (t_eval <= b)
            grid = np.unique(np.append(t_eval[mask], b))
            sol = solve_ivp(f, (a, b), y.reshape(-1), method=self.method, rtol=self.rtol,
                            atol=atol, t_eval=grid, jac_sparsity=sparsity)
            if not sol.success:
                raise SolverError(f"reference solver failed on [{a}, {b}] days: {sol.message}")
            traj = sol.y.reshape(n, n_sub, -1).transpose(1, 2, 0)
            out[:, mask, :] = traj[:, np.isin(grid, t_eval[mask]), :]
            y = traj[:, -1, :].T.copy()
        return Solution(t_eval, out, model.state_names, np.zeros(n_sub, dtype=np.int64),
                        np.zeros(n_sub, dtype=np.int64))


def _jacobian_pattern(model, p_one, scales) -> np.ndarray:
    """Structural Jacobian sparsity by perturbing each state at a random positive point."""
    n = scales.size
    rng = np.random.default_rng(0)
    y = (scales * rng.uniform(0.5, 1.5, n))[:, None]
    base = np.asarray(model.rhs(y, p_one), dtype=float)[:, 0]
    pattern = np.eye(n, dtype=bool)
    for j in range(n):
        bumped = y.copy()
        bumped[j] *= 1.01
        pattern[:, j] |= np.asarray(model.rhs(bumped, p_one), dtype=float)[:, 0] != base
    return pattern
