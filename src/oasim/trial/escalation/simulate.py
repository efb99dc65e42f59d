"""Operating characteristics by Monte Carlo (vectorised over trials) and by exact enumeration.

Both run any design through its vectorised :meth:`~AbstractDesign.step`. Monte Carlo advances
all unfinished trials one cohort at a time. Exact enumeration treats the trial as a Markov
chain on (subjects, DLTs per dose, current dose, last cohort): it expands every state by each
possible number of DLTs in the next cohort (binomial), merges identical states and sums
probabilities until every path has stopped. ``simulate_trials_loop`` is the plain
one-trial-at-a-time reference used by the benchmark.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats

from oasim.errors import FieldError
from oasim.trial.escalation.design import AbstractDesign
from oasim.trial.escalation.oc import OperatingCharacteristics
from oasim.trial.escalation.state import TrialState

MAX_COHORTS = 10_000  # guard against a design that never stops


def check_truth(truth, num_doses: int) -> np.ndarray:
    """True DLT probabilities: one per dose, each in [0, 1]."""
    values = np.asarray(truth, dtype=float).ravel()
    if values.size != num_doses or not np.all((values >= 0) & (values <= 1)):
        raise FieldError("truth", list(np.asarray(truth).ravel()), f"{num_doses} DLT probabilities in [0, 1], one per dose")
    return values


def _generator(rng) -> tuple[np.random.Generator, int | None]:
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng), None if rng is None else int(rng)
    raise FieldError("rng", rng, "a numpy.random.Generator or an integer seed")


class _Tally:
    """Accumulates weighted end states into operating characteristics."""

    def __init__(self, num_doses: int):
        self.select = np.zeros(num_doses + 1)  # last entry: no dose
        self.n = np.zeros(num_doses)
        self.dlt = np.zeros(num_doses)

    def add(self, design: AbstractDesign, state: TrialState, weight: np.ndarray) -> None:
        if state.num_rows == 0:
            return
        chosen = design.select(state)
        self.select += np.bincount(np.where(chosen < 0, len(self.n), chosen), weights=weight, minlength=len(self.select))
        self.n += weight @ state.n
        self.dlt += weight @ state.dlt

    def result(self, design, truth, method, n_trials, seed, started, total) -> OperatingCharacteristics:
        return OperatingCharacteristics(
            design=design.label,
            truth=tuple(float(p) for p in truth),
            method=method,
            n_trials=n_trials,
            seed=seed,
            prob_select=self.select[:-1] / total,
            prob_no_dose=float(self.select[-1] / total),
            mean_n=self.n / total,
            mean_dlt=self.dlt / total,
            elapsed_s=time.perf_counter() - started,
            target=getattr(design, "target", None),
        )


def simulate_trials(design: AbstractDesign, truth, n_trials: int = 1000, rng=None) -> OperatingCharacteristics:
    """Monte-Carlo operating characteristics, all trials advanced together.

    Parameters
    ----------
    design : AbstractDesign
        The design; wrap it in :class:`StopAtN` to cap the sample size.
    truth : sequence of float
        True DLT probability at each dose.
    n_trials : int
        Number of simulated trials.
    rng : numpy.random.Generator or int, optional
        Source of randomness (an integer is used as a seed).
    """
    truth = check_truth(truth, design.num_doses)
    rng, seed = _generator(rng)
    if int(n_trials) != n_trials or n_trials < 1:
        raise FieldError("n_trials", n_trials, "an integer >= 1")
    started = time.perf_counter()
    tally = _Tally(design.num_doses)
    state = TrialState.initial(int(n_trials), design.num_doses, design.start_dose - 1)
    for _ in range(MAX_COHORTS):
        if state.num_rows == 0:
            break
        step = design.step(state)
        tally.add(design, state.take(step.stop), np.ones(int(step.stop.sum())))
        going = ~step.stop
        dose, size = step.next_dose[going], step.cohort_size[going]
        state = state.take(going).advance(dose, size, rng.binomial(size, truth[dose]))
    else:
        raise RuntimeError(f"{design.label} did not stop within {MAX_COHORTS} cohorts; wrap it in StopAtN")
    return tally.result(design, truth, "monte_carlo", int(n_trials), seed, started, float(n_trials))


def simulate_trials_loop(design: AbstractDesign, truth, n_trials: int = 100, rng=None) -> OperatingCharacteristics:
    """Reference Monte Carlo: one trial at a time, one :meth:`fit`-sized state per cohort."""
    truth = check_truth(truth, design.num_doses)
    rng, seed = _generator(rng)
    started = time.perf_counter()
    tally = _Tally(design.num_doses)
    for _ in range(int(n_trials)):
        state = TrialState.initial(1, design.num_doses, design.start_dose - 1)
        for _ in range(MAX_COHORTS):
            step = design.step(state)
            if step.stop[0]:
                break
            dose, size = step.next_dose, step.cohort_size
            state = state.advance(dose, size, np.array([rng.binomial(size[0], truth[dose[0]])]))
        tally.add(design, state, np.ones(1))
    return tally.result(design, truth, "monte_carlo", int(n_trials), seed, started, float(n_trials))


def enumerate_trials(design: AbstractDesign, truth, max_states: int = 5_000_000) -> OperatingCharacteristics:
    """Exact operating characteristics by summing over every path of the trial.

    Parameters
    ----------
    design : AbstractDesign
        The design (it must stop on every path, e.g. through :class:`StopAtN`).
    truth : sequence of float
        True DLT probability at each dose.
    max_states : int
        Refuse to go on when more distinct states than this are alive at once.
    """
    truth = check_truth(truth, design.num_doses)
    started = time.perf_counter()
    tally = _Tally(design.num_doses)
    state = TrialState.initial(1, design.num_doses, design.start_dose - 1)
    prob = np.ones(1)
    for _ in range(MAX_COHORTS):
        if state.num_rows == 0:
            break
        step = design.step(state)
        tally.add(design, state.take(step.stop), prob[step.stop])
        going = ~step.stop
        state, prob = state.take(going), prob[going]
        dose, size = step.next_dose[going], step.cohort_size[going]
        children, child_prob = [], []
        for n_dlt in range(int(size.max(initial=0)) + 1):
            p = prob * stats.binom.pmf(n_dlt, size, truth[dose])
            keep = p > 0
            children.append(state.take(keep).advance(dose[keep], size[keep], np.full(int(keep.sum()), n_dlt)).key())
            child_prob.append(p[keep])
        keys = np.concatenate(children) if children else np.empty((0, 2 * design.num_doses + 3), np.int64)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        if len(unique) > max_states:
            raise RuntimeError(f"enumeration exceeded {max_states} states; use simulate_trials")
        prob = np.bincount(inverse.ravel(), weights=np.concatenate(child_prob) if child_prob else None, minlength=len(unique))
        state = TrialState.from_key(unique, design.num_doses)
    else:
        raise RuntimeError(f"{design.label} did not stop within {MAX_COHORTS} cohorts; wrap it in StopAtN")
    return tally.result(design, truth, "exact", None, None, started, 1.0)
