"""Solution: state trajectories of a population on the output grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATUS_MESSAGES = {
    0: "ok",
    1: "the maximum number of solver steps was reached; increase max_steps",
    2: "the step size fell below 1e-14 of t; the problem may be ill-posed at these parameters",
    3: "a state became non-finite",
}


@dataclass(frozen=True)
class Solution:
    """States of every subject at the output times.

    Attributes
    ----------
    t_days : (n_times,) output times [day]
    states : (n_subjects, n_times, n_states) state values in the model's units
    state_names : names in model order
    status : (n_subjects,) 0 = ok, else a code of ``STATUS_MESSAGES``
    n_steps : (n_subjects,) accepted + rejected steps (0 when the backend does not count)
    """

    t_days: np.ndarray
    states: np.ndarray
    state_names: tuple[str, ...]
    status: np.ndarray
    n_steps: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        """(n_subjects, n_times) trajectory of one state."""
        return self.states[:, :, self.state_names.index(name)]

    @property
    def n_subjects(self) -> int:
        return self.states.shape[0]

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0

    def failures(self) -> dict[int, str]:
        """Subject index -> message, for every subject that failed."""
        return {int(i): STATUS_MESSAGES.get(int(self.status[i]), "unknown")
                for i in np.flatnonzero(self.status)}
