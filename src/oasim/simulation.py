"""Simulation: model + population + doses + visits + solver -> Solution.

Each subject starts from the healthy steady state with its KL grade's baseline matrix deficit,
then runs a dose-free burn-in under its own disease drive so that the fast inflammatory states
reach their quasi-steady OA level before day 0; the matrix loses about one year's worth
(1-4 %) during it, which the KL-grade calibration includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from .model import KneeModel
from .model.knee import healthy_state
from .population import Population
from .protocol import Dose, dose_events, dose_increments
from .solvers import NumbaRodasSolver
from .solvers.base import AbstractSolver
from .errors import FieldError
from .solvers.solution import Solution, SolverStatus

ON_SOLVER_FAILURE = ("raise", "drop")
OnSolverFailure = Literal["raise", "drop"]
BURN_IN_DAYS = 365.0  # the macrophage–DAMP loop settles over months: after 90 d the pain drive still rose 11 % in the next 6 months, after 365 d it moves < 1.5 %


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation hands to the observation models."""

    solution: Solution
    population: Population
    doses: tuple[tuple[Dose, ...], ...]

    @property
    def failed(self) -> np.ndarray:
        """(n_subjects,) True where the solver failed (burn-in or trial period); their states are NaN
        from the time they reached on (``solution.reached_days()``)."""
        return ~self.solution.ok

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    def without_failed(self) -> "SimulationResult":
        """The subjects whose integration succeeded (all of them if none failed)."""
        keep = np.flatnonzero(~self.failed)
        if keep.size == self.solution.n_subjects:
            return self
        sol = self.solution
        t_reached = None if sol.t_reached_days is None else sol.t_reached_days[keep]
        return SimulationResult(Solution(sol.t_days, sol.states[keep], sol.state_names, sol.status[keep],
                                         sol.n_steps[keep], t_reached),
                                self.population.subset(keep), tuple(self.doses[i] for i in keep))


def failure_parameters(population: Population, doses: Sequence[Sequence[Dose]] = ()) -> dict[str, np.ndarray]:
    """Per-subject values quoted in a :class:`~oasim.errors.SolverError`: the KL grade, every
    parameter that differs between subjects, and each dose's amount and day."""
    n = population.n_subjects
    out: dict[str, np.ndarray] = {}
    if "kl_grade" in population.covariates:
        out["kl_grade"] = population.covariates["kl_grade"].to_numpy(float)
    out.update({k: np.asarray(v, float) for k, v in population.parameters.items()
                if np.ndim(v) and n > 1 and np.ptp(v) > 0})
    width = max((len(d) for d in doses), default=0)
    for k in range(width):
        amount = np.array([d[k].amount if k < len(d) else np.nan for d in doses])
        units = {d[k].unit for d in doses if k < len(d)}
        out[f"dose{k + 1}_{'_or_'.join(sorted(units))}"] = amount
        out[f"dose{k + 1}_day"] = np.array([d[k].t_days if k < len(d) else np.nan for d in doses])
    return out


def check_solution(solution: Solution, population: Population, doses: Sequence[Sequence[Dose]] = (),
                   on_solver_failure: OnSolverFailure = "raise", stage: str = "") -> None:
    """Raise a :class:`~oasim.errors.SolverError` naming every failed subject (its id, status,
    time reached and parameter values) unless ``on_solver_failure == "drop"``."""
    if on_solver_failure not in ON_SOLVER_FAILURE:
        raise FieldError("on_solver_failure", on_solver_failure, f"one of {ON_SOLVER_FAILURE}")
    if on_solver_failure == "raise":
        ids = population.covariates["subject_id"].tolist() if "subject_id" in population.covariates else None
        solution.raise_on_failure(failure_parameters(population, doses), ids, stage)


def baseline_state(model: KneeModel, population: Population) -> np.ndarray:
    """(n_subjects, n_states) healthy state with each subject's KL baseline matrix content."""
    p = population.parameters
    y = healthy_state(model, p)
    n = population.n_subjects
    y0 = np.column_stack([np.broadcast_to(np.asarray(y[name], float), (n,)) for name in model.state_names])
    kl = population.covariates["kl_grade"].to_numpy()
    matrix = np.ones(n)
    for grade in (1, 2, 3, 4):  # KL 1 only where the trial layer adds its stratum
        key = f"baseline_matrix_kl{grade}_rel"
        if key in p:
            matrix[kl == grade] = p[key][kl == grade]
    for name in ("aggrecan_rel", "collagen_ii_rel"):
        y0[:, model.state_index[name]] = matrix
    return y0


def population_dose_events(model: KneeModel, population: Population, doses: Sequence[Sequence[Dose]]):
    """Solver dose events of every subject, with the subject's own dose-splitting parameters.

    When every subject has the same dose list (a population run), the events are built with
    array operations instead of one Python loop per subject (17 µs per subject, 17 s for 1e6);
    the arrays equal :func:`oasim.protocol.dose_events`'s element for element.
    """
    p = population.parameters
    keys = ("exosome_particles_per_ug", "msc_fast_fraction", "msc_persistent_fraction")
    n = len(doses)
    first = tuple(doses[0]) if n else ()
    if n < 2 or not all(tuple(row) == first for row in doses):
        return dose_events(doses, model.state_index, *(p[k] for k in keys))
    per_subject = [np.broadcast_to(np.asarray(p[k], float), (n,)) for k in keys]
    columns = [(d.t_days, model.state_index[name], np.broadcast_to(np.asarray(amount, float), (n,)))
               for d in first for name, amount in dose_increments(d, *per_subject)]
    if not columns:
        return np.full((n, 1), np.inf), np.zeros((n, 1), dtype=np.int64), np.zeros((n, 1))
    t = np.tile(np.array([c[0] for c in columns], float), (n, 1))
    idx = np.tile(np.array([c[1] for c in columns], np.int64), (n, 1))
    amount = np.column_stack([c[2] for c in columns])
    order = np.lexsort((amount, idx, t), axis=-1)  # sorted(events) within each subject, as dose_events
    return tuple(np.ascontiguousarray(np.take_along_axis(a, order, axis=1)) for a in (t, idx, amount))


def simulate(population: Population, t_eval_days: Sequence[float],
             doses: Sequence[Sequence[Dose]] | None = None, model: KneeModel | None = None,
             solver: AbstractSolver | None = None, burn_in_days: float = BURN_IN_DAYS,
             on_solver_failure: OnSolverFailure = "raise", engine=None,
             chunk_subjects: int = 2_000) -> SimulationResult:
    """Simulate every subject of ``population`` with its own doses.

    Parameters
    ----------
    t_eval_days : output (visit) times [day]; the last one ends the simulation
    doses : one dose list per subject, exactly ``n_subjects`` of them (None = untreated); there
        is no implicit broadcasting: write ``[doses] * population.n_subjects`` to dose everyone alike
    burn_in_days : dose-free run before day 0 (0 to start from the baseline state directly)
    on_solver_failure : ``"raise"`` (default): a subject the solver fails on (in the burn-in or
        after) raises :class:`~oasim.errors.SolverError` naming the subjects, their parameter
        values and the time reached. ``"drop"``: no error; failed subjects keep NaN states from the
        time they reached on, their status says why (a burn-in failure reports a negative time
        reached, days before day 0), and ``result.failed`` / ``result.n_failed`` /
        ``result.without_failed()`` let the caller drop and count them.
    engine : an :class:`oasim.distributed.Engine`; a Dask engine simulates chunks of
        ``chunk_subjects`` subjects on its workers. Subjects are integrated independently, so the
        result is identical (bit for bit) to the local one whatever the engine and chunking.
    """
    if on_solver_failure not in ON_SOLVER_FAILURE:
        raise FieldError("on_solver_failure", on_solver_failure, f"one of {ON_SOLVER_FAILURE}")
    model = model or KneeModel()
    solver = solver or NumbaRodasSolver()
    n = population.n_subjects
    if doses is not None and len(doses) != n:
        raise FieldError("doses", f"{len(doses)} dose lists",
                         f"one dose list per subject ({n}); use [doses] * {n} to dose every subject alike")
    doses = tuple(tuple(d) for d in (doses if doses is not None else [()] * n))
    t_eval_days = np.asarray(t_eval_days, float)
    last_dose = max((d.t_days for row in doses for d in row), default=0.0)
    if t_eval_days.size and last_dose > t_eval_days[-1]:
        raise FieldError("dose.t_days", last_dose, f"<= the last output time {t_eval_days[-1]:g} days "
                         "(a later dose would never be given)")
    if not np.isfinite(burn_in_days) or burn_in_days < 0:
        raise FieldError("burn_in_days", burn_in_days, "a finite number of days >= 0")
    if engine is not None and not engine.is_local and n > 1:
        return _simulate_on(engine, population, t_eval_days, doses, model, solver, burn_in_days,
                            on_solver_failure, chunk_subjects)
    params = population.matrix(model.parameter_names)
    y0 = baseline_state(model, population)
    burn_in_status = burn_in_reached = None
    if burn_in_days > 0:
        warm = solver.solve(model, y0, params, np.array([burn_in_days]))
        check_solution(_shifted(warm, -burn_in_days), population, (), on_solver_failure,
                       f"the {burn_in_days:g}-day dose-free burn-in before day 0")
        # a subject that failed in the burn-in restarts from its baseline; its results become NaN
        y0 = np.where((warm.status == SolverStatus.OK)[:, None], warm.states[:, -1, :], y0)
        burn_in_status, burn_in_reached = warm.status, _shifted(warm, -burn_in_days).reached_days()
    events = population_dose_events(model, population, doses)
    solution = solver.solve(model, y0, params, t_eval_days, events)
    if burn_in_status is not None and np.any(burn_in_status != SolverStatus.OK):
        solution = _with_burn_in_failures(solution, burn_in_status, burn_in_reached)
    check_solution(solution, population, doses, on_solver_failure, "the simulation from day 0")
    return SimulationResult(solution, population, doses)


def _shifted(solution: Solution, by_days: float) -> Solution:
    """The same solution on a clock shifted by ``by_days`` (burn-in time -> trial time)."""
    return Solution(solution.t_days + by_days, solution.states, solution.state_names, solution.status,
                    solution.n_steps, solution.reached_days() + by_days)


def _with_burn_in_failures(solution: Solution, status: np.ndarray, reached: np.ndarray) -> Solution:
    """Subjects that failed in the burn-in: their burn-in status and time, all states NaN."""
    bad = np.asarray(status) != SolverStatus.OK
    states = solution.states.copy()
    states[bad] = np.nan
    t_reached = solution.reached_days().copy()
    t_reached[bad] = reached[bad]
    return Solution(solution.t_days, states, solution.state_names, np.where(bad, status, solution.status),
                    solution.n_steps, t_reached)


def _simulate_on(engine, population: Population, t_eval_days: np.ndarray, doses: tuple, model, solver,
                 burn_in_days: float, on_solver_failure: str, chunk_subjects: int) -> SimulationResult:
    """:func:`simulate` of chunks of subjects on ``engine``, reassembled in subject order."""
    from .distributed import chunk_bounds

    bounds = chunk_bounds(population.n_subjects, chunk_subjects)
    items = [(population.subset(np.arange(a, b)), t_eval_days, doses[a:b], model, solver, burn_in_days,
              on_solver_failure) for a, b in bounds]
    parts: list = [None] * len(bounds)
    for i, part in engine.imap(simulate, items):
        parts[i] = part.solution
    first = parts[0]
    reached = [p.reached_days() for p in parts]
    solution = Solution(first.t_days, np.concatenate([p.states for p in parts]), first.state_names,
                        np.concatenate([p.status for p in parts]), np.concatenate([p.n_steps for p in parts]),
                        np.concatenate(reached))
    return SimulationResult(solution, population, doses)
