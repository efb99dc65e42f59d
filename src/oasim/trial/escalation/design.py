"""The interface every dose-escalation design shares, and the decision it returns.

A design is an immutable value (the grammar of the R package escalation, Brock 2019). Its
vectorised :meth:`AbstractDesign.step` maps trial states to the next dose, cohort size and
whether to stop; :meth:`AbstractDesign.select` names the dose recommended as the MTD.
:meth:`AbstractDesign.fit` applies both to one trial's outcomes and returns a
:class:`Decision`; nothing in the design changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from oasim.errors import FieldError
from oasim.trial.escalation.outcomes import Outcomes, as_outcomes
from oasim.trial.escalation.state import Step, TrialState


class Action(str, Enum):
    """What the next cohort does relative to the last one."""

    START = "start"
    ESCALATE = "escalate"
    STAY = "stay"
    DE_ESCALATE = "de-escalate"
    STOP = "stop"


@dataclass(frozen=True)
class Decision:
    """A design's answer to one trial's outcomes so far.

    Parameters
    ----------
    design : str
        Label of the design that decided.
    action : Action
        Escalate, stay, de-escalate or stop (``start`` before the first cohort).
    next_dose : int or None
        Dose (1-based) for the next cohort; None when the trial stops.
    cohort_size : int or None
        Subjects in the next cohort; None when the trial stops.
    recommended_dose : int or None
        The dose the design would declare the MTD if the trial ended now; None means no dose
        is acceptable (or none has been tried).
    n_at_dose, dlt_at_dose : tuple of int
        Subjects and DLTs per dose so far.
    """

    design: str
    action: Action
    next_dose: int | None
    cohort_size: int | None
    recommended_dose: int | None
    n_at_dose: tuple[int, ...]
    dlt_at_dose: tuple[int, ...]

    @property
    def should_continue(self) -> bool:
        return self.action is not Action.STOP

    def to_frame(self) -> pd.DataFrame:
        """One row per dose: subjects, DLTs and whether it is the next / recommended dose."""
        doses = np.arange(1, len(self.n_at_dose) + 1)
        return pd.DataFrame(
            {
                "dose": doses,
                "n": self.n_at_dose,
                "dlt": self.dlt_at_dose,
                "next": doses == (self.next_dose or 0),
                "recommended": doses == (self.recommended_dose or 0),
            }
        )

    def summary(self) -> str:
        """A short readable account of the decision."""
        where = f", next cohort of {self.cohort_size} at dose {self.next_dose}" if self.next_dose else ""
        mtd = self.recommended_dose if self.recommended_dose is not None else "none"
        counts = ", ".join(f"{d}: {y}/{n}" for d, (n, y) in enumerate(zip(self.n_at_dose, self.dlt_at_dose), 1))
        return f"{self.design}: {self.action.value}{where}; recommended dose {mtd}; DLT/n by dose {counts}"


class AbstractDesign(ABC):
    """Base of every design. Concrete designs are frozen dataclasses; do not subclass them.

    Concrete designs provide ``num_doses``, ``cohort_size``, ``start_dose`` (1-based),
    :meth:`_decide` and :meth:`select`; wrappers override :meth:`step` instead.
    """

    num_doses: int
    cohort_size: int
    start_dose: int

    @property
    def label(self) -> str:
        """Short name used in tables."""
        return type(self).__name__

    @abstractmethod
    def _decide(self, state: TrialState) -> Step:
        """The next step for states with at least one subject treated."""

    @abstractmethod
    def select(self, state: TrialState) -> np.ndarray:
        """Recommended MTD per row (0-based), or -1 for no dose."""

    def step(self, state: TrialState) -> Step:
        """The next step for every row; rows with nobody treated go to the start dose."""
        step = self._decide(state)
        empty = state.total_n == 0
        return step.replace(empty, next_dose=self.start_dose - 1, stop=False, cohort_size=self.cohort_size)

    def fit(self, outcomes) -> Decision:
        """Decide what to do after ``outcomes`` (an :class:`Outcomes` or ``"1NNN 2NTN"``)."""
        outcomes = as_outcomes(outcomes)
        state = TrialState.from_outcomes(outcomes, self.num_doses, self.start_dose - 1)
        step = self.step(state)
        recommended = int(self.select(state)[0])
        stop = bool(step.stop[0])
        next_dose = None if stop else int(step.next_dose[0]) + 1
        return Decision(
            design=self.label,
            action=_action(outcomes, next_dose),
            next_dose=next_dose,
            cohort_size=None if stop else int(step.cohort_size[0]),
            recommended_dose=recommended + 1 if recommended >= 0 else None,
            n_at_dose=tuple(int(v) for v in state.n[0]),
            dlt_at_dose=tuple(int(v) for v in state.dlt[0]),
        )

    def next_dose(self, history) -> Decision:
        """Alias of :meth:`fit`: the decision after ``history``."""
        return self.fit(history)


def _action(outcomes: Outcomes, next_dose: int | None) -> Action:
    if next_dose is None:
        return Action.STOP
    last = outcomes.last_dose
    if last is None:
        return Action.START
    if next_dose > last:
        return Action.ESCALATE
    return Action.STAY if next_dose == last else Action.DE_ESCALATE


def check_num_doses(num_doses: int) -> int:
    if int(num_doses) != num_doses or num_doses < 1:
        raise FieldError("num_doses", num_doses, "an integer >= 1")
    return int(num_doses)


def check_cohort_size(cohort_size: int) -> int:
    if int(cohort_size) != cohort_size or cohort_size < 1:
        raise FieldError("cohort_size", cohort_size, "an integer >= 1")
    return int(cohort_size)


def check_start_dose(start_dose: int, num_doses: int) -> int:
    if int(start_dose) != start_dose or not 1 <= start_dose <= num_doses:
        raise FieldError("start_dose", start_dose, f"an integer in 1..{num_doses}")
    return int(start_dose)


def check_target(target: float) -> float:
    if not 0.0 < float(target) < 1.0:
        raise FieldError("target", target, "a DLT probability strictly between 0 and 1")
    return float(target)
