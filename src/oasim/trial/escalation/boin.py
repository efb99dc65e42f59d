"""Bayesian optimal interval (BOIN) design for phase I dose finding.

Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
*J R Stat Soc Ser C Appl Stat* 64(3):507-523. doi:10.1111/rssc.12089.

Escalate while the observed DLT rate at the current dose is <= lambda_e, de-escalate when it
is >= lambda_d, where lambda_e, lambda_d minimise the probability of a wrong decision between
the target phi and the rates phi_1 (deemed sub-therapeutic, default 0.6 phi) and phi_2
(deemed overly toxic, default 1.4 phi). A dose and all higher doses are eliminated once
P(p > phi | data) > 0.95 under a Beta(1, 1) prior with at least 3 subjects treated. The MTD
is the dose whose isotonic estimate is closest to phi. The boundary arithmetic follows the
reference R package BOIN (``get.boundary``, ``get.oc``, ``select.mtd``); the extra-safe
rule and ``boundMTD`` are not implemented.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from oasim.errors import FieldError
from oasim.trial.escalation.design import (
    AbstractDesign,
    check_cohort_size,
    check_num_doses,
    check_start_dose,
    check_target,
)
from oasim.trial.escalation.isotonic import isotonic_rows
from oasim.trial.escalation.state import Step, TrialState, take_at

_NEVER = np.iinfo(np.int32).max  # a DLT count no dose can reach: "no elimination bound"
_TIE_TOL = 1e-12  # lambda_d * n this close to an integer counts as that integer (as in BOIN)


@dataclass(frozen=True, eq=False)
class BoinBoundaries:
    """Escalation / de-escalation / elimination boundaries for n = 1..n_max subjects at a dose.

    Array entry ``[n]`` is the boundary with n subjects treated (entry 0 is unused).
    ``eliminate_at_least`` holds -1 where no count eliminates (n < 3, or never).
    """

    target: float
    p_saf: float
    p_tox: float
    cutoff_elim: float
    lambda_e: float
    lambda_d: float
    escalate_at_most: np.ndarray
    deescalate_at_least: np.ndarray
    eliminate_at_least: np.ndarray

    @property
    def n_max(self) -> int:
        return len(self.escalate_at_most) - 1

    def to_frame(self, n_max: int | None = None, cohort_size: int = 1) -> pd.DataFrame:
        """One row per n (every ``cohort_size``-th n up to ``n_max``), like R's get.boundary."""
        n = np.arange(cohort_size, (n_max or self.n_max) + 1, cohort_size)
        elim = self.eliminate_at_least[n]
        return pd.DataFrame(
            {
                "n": n,
                "escalate_if_dlt_le": self.escalate_at_most[n],
                "deescalate_if_dlt_ge": self.deescalate_at_least[n],
                "eliminate_if_dlt_ge": pd.array(np.where(elim < 0, pd.NA, elim), dtype="Int64"),
            }
        )

    def summary(self, n_max: int = 30, cohort_size: int = 1) -> str:
        """The decision table as text, one column per n."""
        frame = self.to_frame(n_max, cohort_size)
        head = f"BOIN boundaries: target {self.target:g}, lambda_e {self.lambda_e:.4f}, lambda_d {self.lambda_d:.4f}"
        labels = {"n": "n", "escalate_if_dlt_le": "esc<=", "deescalate_if_dlt_ge": "dee>=", "eliminate_if_dlt_ge": "eli>="}
        lines = [head]
        for column, label in labels.items():
            cells = ["NA" if pd.isna(v) else str(int(v)) for v in frame[column]]
            lines.append(f"{label:6}" + "".join(f"{c:>4}" for c in cells))
        return "\n".join(lines)


@functools.lru_cache(maxsize=64)
def boin_boundaries(
    target: float, p_saf: float | None = None, p_tox: float | None = None, cutoff_elim: float = 0.95, n_max: int = 300
) -> BoinBoundaries:
    """Compute the BOIN boundaries (Liu & Yuan 2015, eqs 3-4; elimination rule of Sec 2.3).

    Parameters
    ----------
    target : float
        Target DLT probability phi, in (0, 1).
    p_saf, p_tox : float, optional
        phi_1 and phi_2; default 0.6 phi and 1.4 phi. Need 0 < phi_1 < phi < phi_2 < 1.
    cutoff_elim : float
        Eliminate when P(p > phi | data) exceeds this (Beta(1, 1) prior, n >= 3).
    n_max : int
        Largest number of subjects at a dose to tabulate.
    """
    target = check_target(target)
    p_saf = 0.6 * target if p_saf is None else float(p_saf)
    p_tox = 1.4 * target if p_tox is None else float(p_tox)
    if not 0.0 < p_saf < target:
        raise FieldError("p_saf", p_saf, f"in (0, target={target:g})")
    if not target < p_tox < 1.0:
        raise FieldError("p_tox", p_tox, f"in (target={target:g}, 1); default 1.4 * target needs target < 0.714")
    if not 0.0 < cutoff_elim < 1.0:
        raise FieldError("cutoff_elim", cutoff_elim, "a probability in (0, 1)")
    lambda_e = np.log((1 - p_saf) / (1 - target)) / np.log(target * (1 - p_saf) / (p_saf * (1 - target)))
    lambda_d = np.log((1 - target) / (1 - p_tox)) / np.log(p_tox * (1 - target) / (target * (1 - p_tox)))
    n = np.arange(n_max + 1)
    escalate = np.floor(lambda_e * n).astype(np.int64)
    exact = np.abs(np.round(lambda_d * n) - lambda_d * n) < _TIE_TOL
    deescalate = np.where(exact, np.round(lambda_d * n) + 1, np.ceil(lambda_d * n)).astype(np.int64)
    eliminate = _elimination_bounds(target, cutoff_elim, n_max)
    deescalate = np.where(eliminate >= 0, np.minimum(deescalate, np.where(eliminate >= 0, eliminate, _NEVER)), deescalate)
    return BoinBoundaries(target, p_saf, p_tox, cutoff_elim, float(lambda_e), float(lambda_d), escalate, deescalate, eliminate)


def _elimination_bounds(target: float, cutoff: float, n_max: int) -> np.ndarray:
    """Smallest DLT count y with P(p > target | y of n) > cutoff under Beta(1, 1); -1 if none."""
    n = np.arange(n_max + 1)[:, None]
    y = np.arange(n_max + 1)[None, :]
    with np.errstate(invalid="ignore"):
        prob_over = stats.beta.sf(target, y + 1, n - y + 1)
    hit = (y <= n) & (y >= 1) & (prob_over > cutoff) & (n >= 3)
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1).astype(np.int64)


@dataclass(frozen=True)
class Boin(AbstractDesign):
    """The BOIN design (Liu & Yuan 2015).

    Parameters
    ----------
    num_doses : int
        Number of dose levels.
    target : float
        Target DLT probability phi.
    cohort_size : int
        Subjects per cohort.
    start_dose : int
        First dose (1-based).
    p_saf, p_tox : float, optional
        phi_1, phi_2 (default 0.6 phi, 1.4 phi).
    cutoff_elim : float
        Posterior probability above which a dose is eliminated.
    n_earlystop : int
        Stop once this many subjects are at the current dose and the rule says stay (BOIN
        ``n.earlystop``; combine with :class:`StopAtN` for a maximum sample size).

    Examples
    --------
    >>> Boin(num_doses=5, target=0.3).fit("1NNN 2NTN").action.value
    'stay'
    """

    num_doses: int
    target: float
    cohort_size: int = 3
    start_dose: int = 1
    p_saf: float | None = None
    p_tox: float | None = None
    cutoff_elim: float = 0.95
    n_earlystop: int = 100

    def __post_init__(self):
        check_num_doses(self.num_doses)
        check_cohort_size(self.cohort_size)
        check_start_dose(self.start_dose, self.num_doses)
        self.boundaries()  # validates target, p_saf, p_tox, cutoff_elim

    @property
    def label(self) -> str:
        return f"BOIN(target={self.target:g})"

    def boundaries(self, n_max: int = 300) -> BoinBoundaries:
        """The decision table (cached)."""
        return boin_boundaries(self.target, self.p_saf, self.p_tox, self.cutoff_elim, n_max)

    def _tables(self, state: TrialState) -> BoinBoundaries:
        needed = int(state.n.max(initial=0))
        return self.boundaries(max(300, 1 << needed.bit_length()))

    def eliminated(self, state: TrialState) -> np.ndarray:
        """(rows, doses) bool: the dose or a lower one met the elimination rule."""
        bounds = self._tables(state).eliminate_at_least[state.n]
        hit = (bounds >= 0) & (state.dlt >= bounds) & (state.n >= 3)
        return np.maximum.accumulate(hit, axis=1)

    def _decide(self, state: TrialState) -> Step:
        tables = self._tables(state)
        cur, n_cur, dlt_cur = state.current, state.n_current, state.dlt_current
        eliminated = self.eliminated(state)
        top = cur == self.num_doses - 1
        next_blocked = top | take_at(eliminated, cur + 1, True)
        escalate_signal = dlt_cur <= tables.escalate_at_most[n_cur]
        deescalate_signal = dlt_cur >= tables.deescalate_at_least[n_cur]
        escalate = escalate_signal & ~next_blocked
        deescalate = deescalate_signal & ~escalate_signal & (cur > 0)
        would_stay = (~escalate_signal & ~deescalate_signal) | (deescalate_signal & (cur == 0)) | (escalate_signal & next_blocked)
        stop = eliminated[:, 0] | ((n_cur >= self.n_earlystop) & would_stay)
        next_dose = cur + escalate.astype(np.int64) - deescalate.astype(np.int64)
        return Step(next_dose, stop, np.full(state.num_rows, self.cohort_size))

    def select(self, state: TrialState) -> np.ndarray:
        """Isotonic MTD selection (BOIN ``select.mtd``): Beta(0.05, 0.05) posterior means,
        pooled by PAVA with inverse-variance weights, closest to the target; ties go to the
        lower dose above the target and the higher dose below it."""
        n, y = state.n.astype(float), state.dlt.astype(float)
        eliminated = self.eliminated(state)
        admissible = (state.n > 0) & ~eliminated
        phat = (y + 0.05) / (n + 0.1)
        variance = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
        iso = isotonic_rows(phat, 1.0 / variance, admissible)
        iso = iso + np.cumsum(admissible, axis=1) * 1e-10
        distance = np.where(admissible, np.abs(iso - self.target), np.inf)
        chosen = np.argmin(distance, axis=1)
        none = eliminated[:, 0] | ~admissible.any(axis=1)
        return np.where(none, -1, chosen)

