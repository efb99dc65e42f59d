"""The 3+3 design, with or without de-escalation to expand the MTD cohort to six.

Storer BE (1989). Design and analysis of phase I clinical trials. *Biometrics*
45(3):925-937 (the escalation-only "A" design). Treat 3 at a dose: 0/3 DLT escalate, 1/3 treat
3 more, >= 2 DLT the dose is too toxic. With 6: <= 1/6 escalate, >= 2/6 too toxic. At a
too-toxic dose the escalation-only design stops and recommends the dose below. With
``allow_deescalate`` it first de-escalates to the dose below while that dose has fewer than
6 subjects, so the declared MTD has 6 subjects with <= 1 DLT (Korn EL et al. 1994, *Stat Med*
13:1799; Lin Y, Shih WJ 2001, *Biostatistics* 2:203). Rules as in the R package escalation
(``three_plus_three``); cohorts that do not fill a multiple of 3 (e.g. after accelerated
titration) are topped up to 3 first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oasim.trial.escalation.design import AbstractDesign, check_num_doses, check_start_dose
from oasim.trial.escalation.state import Step, TrialState


@dataclass(frozen=True)
class ThreePlusThree(AbstractDesign):
    """The 3+3 design (Storer 1989).

    Parameters
    ----------
    num_doses : int
        Number of dose levels.
    allow_deescalate : bool
        De-escalate from a too-toxic dose to expand the dose below to 6 subjects.
    start_dose : int
        First dose (1-based).

    Examples
    --------
    >>> ThreePlusThree(num_doses=3).fit("1NNN 2NTN").action.value
    'stay'
    """

    num_doses: int
    allow_deescalate: bool = False
    start_dose: int = 1
    cohort_size: int = 3

    def __post_init__(self):
        check_num_doses(self.num_doses)
        check_start_dose(self.start_dose, self.num_doses)
        if self.cohort_size != 3:
            from oasim.errors import FieldError

            raise FieldError("cohort_size", self.cohort_size, "3 for the 3+3 design")

    @property
    def label(self) -> str:
        return "3+3 with de-escalation" if self.allow_deescalate else "3+3"

    def _decide(self, state: TrialState) -> Step:
        cur, n_cur, dlt_cur = state.current, state.n_current, state.dlt_current
        incomplete = n_cur % 3 != 0
        toxic = (dlt_cur >= 2) & ~incomplete
        cleared = ((n_cur == 3) & (dlt_cur == 0)) | ((n_cur >= 6) & (dlt_cur <= 1))
        top = cur == self.num_doses - 1
        above_tried = state.at(cur + 1, "n", 0) > 0
        below_expandable = (cur > 0) & (state.at(cur - 1, "n", 6) < 6)
        expand = cleared & above_tried & (n_cur < 6) & self.allow_deescalate  # back from a toxic dose
        escalate = cleared & ~top & ~above_tried
        deescalate = toxic & below_expandable & self.allow_deescalate
        stop = (cleared & (top | above_tried) & ~expand) | (toxic & ~deescalate) | ((n_cur > 6) & ~incomplete)
        next_dose = cur + escalate.astype(np.int64) - deescalate.astype(np.int64)
        size = 3 - state.at(next_dose, "n", 0) % 3  # fill the next dose to a multiple of 3
        return Step(next_dose, stop, size)

    def select(self, state: TrialState) -> np.ndarray:
        """Highest dose cleared (no DLT in up to 3, or <= 1/6) below the lowest too-toxic dose
        (>= 2 DLTs); -1 if none. Doses passed by accelerated titration (0/1) count as cleared."""
        n, dlt = state.n, state.dlt
        toxic = (dlt >= 2) & (n > 0)
        lowest_toxic = np.where(toxic.any(axis=1), toxic.argmax(axis=1), self.num_doses)
        cleared = ((n > 0) & (n <= 3) & (dlt == 0)) | ((n >= 6) & (dlt <= 1))
        doses = np.arange(self.num_doses)
        candidates = cleared & (doses[None, :] < lowest_toxic[:, None])
        highest = self.num_doses - 1 - np.argmax(candidates[:, ::-1], axis=1)
        return np.where(candidates.any(axis=1), highest, -1)
