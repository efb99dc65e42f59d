"""The state of many escalation trials at once, as the designs see it.

A design's next decision depends only on the subjects and DLTs at each dose, the current dose
and the last cohort. Holding these as arrays with one row per trial lets one design serve a
single trial (:meth:`AbstractDesign.fit`), 10^5 simulated trials (Monte Carlo) and every
reachable path of the trial's Markov chain (exact enumeration) with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oasim.trial.escalation.outcomes import Outcomes


@dataclass(frozen=True, eq=False)
class TrialState:
    """Rows of trial states. Doses are 0-based here; users see 1-based doses.

    Parameters
    ----------
    n : ndarray of int, shape (rows, doses)
        Subjects treated at each dose.
    dlt : ndarray of int, shape (rows, doses)
        Subjects with a DLT at each dose.
    current : ndarray of int, shape (rows,)
        Dose of the last cohort (the start dose before any subject).
    last_size, last_dlt : ndarray of int, shape (rows,)
        Size of the last cohort and its DLT count (0 before any subject).
    """

    n: np.ndarray
    dlt: np.ndarray
    current: np.ndarray
    last_size: np.ndarray
    last_dlt: np.ndarray

    @classmethod
    def initial(cls, rows: int, num_doses: int, start_index: int) -> TrialState:
        """``rows`` trials that have treated nobody yet."""
        zeros = np.zeros(rows, dtype=np.int64)
        return cls(
            n=np.zeros((rows, num_doses), dtype=np.int64),
            dlt=np.zeros((rows, num_doses), dtype=np.int64),
            current=np.full(rows, start_index, dtype=np.int64),
            last_size=zeros,
            last_dlt=zeros.copy(),
        )

    @classmethod
    def from_outcomes(cls, outcomes: Outcomes, num_doses: int, start_index: int) -> TrialState:
        """One row holding the state reached by ``outcomes``."""
        n, dlt = outcomes.counts(num_doses)
        last = outcomes.cohorts[-1] if outcomes.cohorts else None
        return cls(
            n=n[None, :],
            dlt=dlt[None, :],
            current=np.array([last.dose - 1 if last else start_index], dtype=np.int64),
            last_size=np.array([len(last.dlt) if last else 0], dtype=np.int64),
            last_dlt=np.array([sum(last.dlt) if last else 0], dtype=np.int64),
        )

    @property
    def num_rows(self) -> int:
        return self.n.shape[0]

    @property
    def num_doses(self) -> int:
        return self.n.shape[1]

    @property
    def total_n(self) -> np.ndarray:
        return self.n.sum(axis=1)

    @property
    def n_current(self) -> np.ndarray:
        return self.n[np.arange(self.num_rows), self.current]

    @property
    def dlt_current(self) -> np.ndarray:
        return self.dlt[np.arange(self.num_rows), self.current]

    def at(self, dose_index: np.ndarray, what: str = "n", fill: int = 0) -> np.ndarray:
        """``n`` or ``dlt`` at a per-row dose index; ``fill`` where the index is off the ends."""
        return take_at(getattr(self, what), dose_index, fill)

    def take(self, rows: np.ndarray) -> TrialState:
        """The subset of rows selected by an index or boolean mask."""
        return TrialState(
            self.n[rows], self.dlt[rows], self.current[rows], self.last_size[rows], self.last_dlt[rows]
        )

    def advance(self, dose: np.ndarray, size: np.ndarray, n_dlt: np.ndarray) -> TrialState:
        """A new state after a cohort of ``size`` at ``dose`` (0-based) with ``n_dlt`` DLTs."""
        rows = np.arange(self.num_rows)
        n = self.n.copy()
        dlt = self.dlt.copy()
        n[rows, dose] += size
        dlt[rows, dose] += n_dlt
        return TrialState(n, dlt, np.asarray(dose, dtype=np.int64), size.astype(np.int64), n_dlt.astype(np.int64))

    def key(self) -> np.ndarray:
        """All fields side by side, one row per state, for merging identical states."""
        return np.column_stack([self.n, self.dlt, self.current, self.last_size, self.last_dlt])

    @classmethod
    def from_key(cls, key: np.ndarray, num_doses: int) -> TrialState:
        """Inverse of :meth:`key`."""
        k = num_doses
        return cls(key[:, :k], key[:, k : 2 * k], key[:, 2 * k], key[:, 2 * k + 1], key[:, 2 * k + 2])


@dataclass(frozen=True, eq=False)
class Step:
    """What a design does next, for every row of a :class:`TrialState`.

    Parameters
    ----------
    next_dose : ndarray of int
        Dose (0-based) for the next cohort; meaningless where ``stop``.
    stop : ndarray of bool
        True where the trial stops now.
    cohort_size : ndarray of int
        Subjects in the next cohort.
    """

    next_dose: np.ndarray
    stop: np.ndarray
    cohort_size: np.ndarray

    def replace(self, where: np.ndarray, next_dose=None, stop=None, cohort_size=None) -> Step:
        """A new step with the given fields overwritten on the rows in mask ``where``."""

        def merged(old, new):
            return old if new is None else np.where(where, new, old)

        return Step(
            merged(self.next_dose, next_dose),
            merged(self.stop, stop),
            merged(self.cohort_size, cohort_size),
        )


def take_at(table: np.ndarray, index: np.ndarray, fill) -> np.ndarray:
    """``table[row, index[row]]`` for each row, or ``fill`` where the index is off the ends."""
    inside = (index >= 0) & (index < table.shape[1])
    values = table[np.arange(table.shape[0]), np.clip(index, 0, table.shape[1] - 1)]
    return np.where(inside, values, fill)
