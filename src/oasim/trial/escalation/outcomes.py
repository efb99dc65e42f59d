"""Outcomes of a dose-escalation trial: who got which dose, and who had a DLT.

The compact string form follows the R package escalation (Brock 2019): cohorts separated by
spaces, each written as the dose number (1-based) then one letter per subject, ``N`` for no
dose-limiting toxicity (DLT) and ``T`` for a DLT, e.g. ``"1NNN 2NTN"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from oasim.errors import FieldError

_COHORT = re.compile(r"(\d+)([NTnt]+)")
_ALLOWED = "cohorts like '1NNN 2NTN': dose number (from 1), then N or T for each subject"


@dataclass(frozen=True)
class Cohort:
    """One cohort: the dose every subject received and whether each had a DLT.

    Parameters
    ----------
    dose : int
        Dose level, 1-based.
    dlt : tuple of bool
        One entry per subject; True means a dose-limiting toxicity.
    """

    dose: int
    dlt: tuple[bool, ...]

    def __str__(self) -> str:
        return f"{self.dose}" + "".join("T" if t else "N" for t in self.dlt)


@dataclass(frozen=True)
class Outcomes:
    """The ordered cohorts of a trial so far. Immutable: :meth:`then` returns a new value.

    Examples
    --------
    >>> o = Outcomes.parse("1NNN 2NTN")
    >>> o.num_subjects, o.last_dose, str(o.then(2, [False, False, False]))
    (6, 2, '1NNN 2NTN 2NNN')
    """

    cohorts: tuple[Cohort, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Outcomes:
        """Read the compact form ``"1NNN 2NTN"``; an empty string means no subjects yet."""
        text = str(text)
        cohorts = []
        position = 0
        for match in _COHORT.finditer(text):
            if text[position : match.start()].strip():
                raise FieldError("outcomes", text, _ALLOWED)
            dose = int(match.group(1))
            if dose < 1:
                raise FieldError("outcomes", text, _ALLOWED)
            cohorts.append(Cohort(dose, tuple(c in "Tt" for c in match.group(2))))
            position = match.end()
        if text[position:].strip():
            raise FieldError("outcomes", text, _ALLOWED)
        return cls(tuple(cohorts))

    def then(self, dose: int, dlt) -> Outcomes:
        """A new value with one more cohort at ``dose`` (1-based) with the given DLT flags."""
        return Outcomes(self.cohorts + (Cohort(int(dose), tuple(bool(t) for t in dlt)),))

    def __str__(self) -> str:
        return " ".join(str(c) for c in self.cohorts)

    @property
    def num_subjects(self) -> int:
        return sum(len(c.dlt) for c in self.cohorts)

    @property
    def last_dose(self) -> int | None:
        """Dose (1-based) of the most recent cohort, or None before the first."""
        return self.cohorts[-1].dose if self.cohorts else None

    def counts(self, num_doses: int) -> tuple[np.ndarray, np.ndarray]:
        """Subjects and DLTs per dose, each an int array of length ``num_doses``."""
        n = np.zeros(num_doses, dtype=np.int64)
        dlt = np.zeros(num_doses, dtype=np.int64)
        for cohort in self.cohorts:
            if cohort.dose > num_doses:
                raise FieldError("outcomes", str(self), f"doses 1..{num_doses}")
            n[cohort.dose - 1] += len(cohort.dlt)
            dlt[cohort.dose - 1] += sum(cohort.dlt)
        return n, dlt


def as_outcomes(history) -> Outcomes:
    """Accept an :class:`Outcomes` or its string form."""
    return history if isinstance(history, Outcomes) else Outcomes.parse(history)
