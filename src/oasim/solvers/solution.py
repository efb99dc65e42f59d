"""Solution: state trajectories of a population on the output grid, and the solver status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Mapping, Sequence

import numpy as np


class SolverStatus(IntEnum):
    """Outcome of one subject's integration (the codes the numba kernel writes)."""

    OK = 0
    MAX_STEPS = 1
    STEP_TOO_SMALL = 2
    NOT_FINITE = 3

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    SolverStatus.OK: "ok",
    SolverStatus.MAX_STEPS: "the maximum number of solver steps was reached; increase max_steps",
    SolverStatus.STEP_TOO_SMALL: ("the step size fell below 1e-14 of t: the states or rates overflowed or became "
                                  "non-finite, or the problem is ill-posed at these parameters and doses"),
    SolverStatus.NOT_FINITE: "a state became non-finite",
}
STATUS_MESSAGES = {int(s): s.message for s in SolverStatus}  # kept for callers of the old name


@dataclass(frozen=True)
class Solution:
    """States of every subject at the output times.

    A failed subject's states are NaN from the first output time it did not reach (never
    zero-filled); outputs before that are the values it reached.

    Attributes
    ----------
    t_days : (n_times,) output times [day]
    states : (n_subjects, n_times, n_states) state values in the model's units
    state_names : names in model order
    status : (n_subjects,) :class:`SolverStatus` codes (0 = ok)
    n_steps : (n_subjects,) accepted + rejected steps (0 when the backend does not count)
    t_reached_days : (n_subjects,) time each subject's integration reached [day]; NaN when the
        backend does not report it (then the last output time before the first NaN is used)
    """

    t_days: np.ndarray
    states: np.ndarray
    state_names: tuple[str, ...]
    status: np.ndarray
    n_steps: np.ndarray
    t_reached_days: np.ndarray | None = field(default=None)

    def __getitem__(self, name: str) -> np.ndarray:
        """(n_subjects, n_times) trajectory of one state."""
        return self.states[:, :, self.state_names.index(name)]

    @property
    def n_subjects(self) -> int:
        return self.states.shape[0]

    @property
    def ok(self) -> np.ndarray:
        return np.asarray(self.status) == SolverStatus.OK

    def statuses(self) -> list[SolverStatus]:
        """The status of every subject as :class:`SolverStatus` members."""
        return [SolverStatus(int(s)) for s in np.asarray(self.status)]

    def reached_days(self) -> np.ndarray:
        """(n_subjects,) time reached [day]: the reported one, else the last finite output time."""
        if self.t_reached_days is not None:
            return np.asarray(self.t_reached_days, float)
        finite = np.all(np.isfinite(self.states), axis=2)
        last = np.where(finite.any(axis=1), finite.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1), -1)
        return np.where(last >= 0, np.asarray(self.t_days, float)[np.maximum(last, 0)], np.nan)

    def failures(self) -> dict[int, str]:
        """Subject index -> message, for every subject that failed."""
        return {int(i): SolverStatus(int(self.status[i])).message for i in np.flatnonzero(~self.ok)}

    def failure_error(self, parameters: Mapping[str, np.ndarray] | None = None,
                      subject_ids: Sequence | None = None, stage: str = "") -> "SolverError | None":
        """A :class:`~oasim.errors.SolverError` describing every failed subject, or None if all ok.

        ``parameters`` (name -> per-subject values) are quoted in the message for each failed
        subject; ``subject_ids`` label subjects (default: their row index).
        """
        from ..errors import SolverError

        failed = np.flatnonzero(~self.ok)
        if failed.size == 0:
            return None
        ids = list(subject_ids) if subject_ids is not None else list(range(self.n_subjects))
        reached = self.reached_days()
        records = []
        for i in failed:
            values = {name: float(np.asarray(v)[i]) if np.ndim(v) else float(v)
                      for name, v in (parameters or {}).items()}
            records.append({"subject": ids[i], "index": int(i), "status": SolverStatus(int(self.status[i])),
                            "t_reached_days": float(reached[i]), "parameters": values})
        return SolverError.for_subjects(records, stage=stage)

    def raise_on_failure(self, parameters: Mapping[str, np.ndarray] | None = None,
                         subject_ids: Sequence | None = None, stage: str = "") -> None:
        """Raise :meth:`failure_error` if any subject failed."""
        error = self.failure_error(parameters, subject_ids, stage)
        if error is not None:
            raise error
