"""Behaviours that wrap a design and change how it chooses, after the R package escalation.

Wrappers stack: ``StopAtN(AcceleratedTitration(Boin(...)), n=30)``. Put :class:`StopAtN`
outermost so that it caps every cohort.

- :class:`StopAtN`: stop once n subjects have been treated; the last cohort is truncated.
- :class:`AcceleratedTitration`: single-subject cohorts, escalating after each subject, until
  the first DLT or the top dose; then the current dose is filled to a full cohort and the
  wrapped design takes over (Simon R, Freidlin B, Rubinstein L, Arbuck SG, Collins J,
  Christian MC (1997). Accelerated titration designs for phase I clinical trials in
  oncology. *J Natl Cancer Inst* 89(15):1138-1147; design 2 with DLT in place of "grade 2
  or worse", and without intra-subject escalation).
- :class:`SentinelDosing`: the first subject at a new dose is dosed alone; without a DLT the
  rest of the cohort follows at the same dose, with a DLT the wrapped design decides from
  that one subject (the cautious first-in-human practice for cell therapies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oasim.errors import FieldError
from oasim.trial.escalation.design import AbstractDesign
from oasim.trial.escalation.state import Step, TrialState


class _Wrapper(AbstractDesign):
    """A design that delegates to ``parent`` and adjusts its steps."""

    parent: AbstractDesign

    @property
    def num_doses(self) -> int:
        return self.parent.num_doses

    @property
    def cohort_size(self) -> int:
        return self.parent.cohort_size

    @property
    def start_dose(self) -> int:
        return self.parent.start_dose

    @property
    def target(self) -> float | None:
        return getattr(self.parent, "target", None)

    def _decide(self, state: TrialState) -> Step:  # never used: wrappers override step
        return self.parent.step(state)

    def select(self, state: TrialState) -> np.ndarray:
        return self.parent.select(state)


@dataclass(frozen=True)
class StopAtN(_Wrapper):
    """Stop once ``n`` subjects have been treated (the last cohort is cut to fit).

    Examples
    --------
    >>> from oasim.trial.escalation import Boin
    >>> StopAtN(Boin(num_doses=3, target=0.3), n=6).fit("1NNN 2NNN").should_continue
    False
    """

    parent: AbstractDesign
    n: int

    def __post_init__(self):
        if int(self.n) != self.n or self.n < 1:
            raise FieldError("max_n", self.n, "an integer >= 1")

    @property
    def label(self) -> str:
        return f"{self.parent.label}, n<={self.n}"

    def step(self, state: TrialState) -> Step:
        step = self.parent.step(state)
        remaining = self.n - state.total_n
        return Step(step.next_dose, step.stop | (remaining <= 0), np.minimum(step.cohort_size, np.maximum(remaining, 1)))


@dataclass(frozen=True)
class AcceleratedTitration(_Wrapper):
    """One subject per dose until the first DLT (Simon et al. 1997), then ``parent``."""

    parent: AbstractDesign

    @property
    def label(self) -> str:
        return f"{self.parent.label} + accelerated titration"

    def step(self, state: TrialState) -> Step:
        step = self.parent.step(state)
        titrating = state.n.max(axis=1) <= 1
        climbing = titrating & (state.dlt.sum(axis=1) == 0) & (state.current < self.num_doses - 1)
        empty = state.total_n == 0
        step = step.replace(titrating, next_dose=state.current, stop=False, cohort_size=max(self.cohort_size - 1, 1))
        step = step.replace(climbing & ~empty, next_dose=state.current + 1)
        return step.replace(climbing | empty, cohort_size=1)


@dataclass(frozen=True)
class SentinelDosing(_Wrapper):
    """Dose ``n_sentinel`` subject(s) alone at each new dose before the rest of the cohort."""

    parent: AbstractDesign
    n_sentinel: int = 1

    def __post_init__(self):
        if int(self.n_sentinel) != self.n_sentinel or not 1 <= self.n_sentinel < self.parent.cohort_size:
            raise FieldError("n_sentinel", self.n_sentinel, f"an integer in 1..{self.parent.cohort_size - 1}")

    @property
    def label(self) -> str:
        return f"{self.parent.label} + sentinel"

    def step(self, state: TrialState) -> Step:
        step = self.parent.step(state)
        n_next = state.n[np.arange(state.num_rows), step.next_dose]
        step = step.replace((n_next == 0) & ~step.stop, cohort_size=np.minimum(step.cohort_size, self.n_sentinel))
        sentinel_clear = (state.n_current == self.n_sentinel) & (state.dlt_current == 0) & (state.last_size == self.n_sentinel)
        return step.replace(sentinel_clear & ~step.stop, next_dose=state.current, cohort_size=self.cohort_size - self.n_sentinel)
