"""The continual reassessment method (CRM), Bayesian one-parameter version.

O'Quigley J, Pepe M, Fisher L (1990). Continual reassessment method: a practical design for
phase 1 clinical trials in cancer. *Biometrics* 46(1):33-48.

The DLT probability at dose k is the skeleton value raised to exp(beta) (empiric / power
model), or logistic with fixed intercept a0: p_k = expit(a0 + exp(beta) x_k) with x_k chosen so
that beta = 0 reproduces the skeleton. The prior is beta ~ N(0, sigma^2), sigma^2 = 1.34 by
default. The posterior is computed by quadrature on a fixed grid of beta (trapezoid rule,
vectorised over trials). As in the R package dfcrm (Cheung 2011, *Dose Finding by the
Continual Reassessment Method*, CRC), the next dose is the one whose plug-in estimate
p_k(E[beta | data]) is closest to the target, restricted to no skipping of untried doses
(at most one above the current dose) and no escalation right after a cohort whose DLT rate
is >= target (coherence); the final recommendation is unrestricted. The trial stops early,
with no dose recommended, when P(p_1 > target | data) > ``stop_tox_prob`` (the R package
escalation's ``stop_when_too_toxic``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit

from oasim.errors import FieldError
from oasim.trial.escalation.design import AbstractDesign, check_cohort_size, check_start_dose, check_target
from oasim.trial.escalation.outcomes import as_outcomes
from oasim.trial.escalation.state import Step, TrialState

_CHUNK_ROWS = 4096  # bounds memory of the (rows, grid) posterior arrays


@dataclass(frozen=True, eq=False)
class CrmPosterior:
    """Posterior summaries per trial row (arrays have a leading row axis).

    ``beta_mean``, ``beta_var``: moments of beta; ``prob_dlt_plugin``: p_k(E[beta]) (the
    estimate dfcrm reports and doses by); ``prob_dlt_mean``: E[p_k]; ``prob_exceeds_target``:
    P(p_k > target).
    """

    beta_mean: np.ndarray
    beta_var: np.ndarray
    prob_dlt_plugin: np.ndarray
    prob_dlt_mean: np.ndarray
    prob_exceeds_target: np.ndarray


@dataclass(frozen=True)
class Crm(AbstractDesign):
    """Bayesian CRM (O'Quigley, Pepe & Fisher 1990).

    Parameters
    ----------
    skeleton : tuple of float
        Prior guesses of the DLT probability at each dose, strictly increasing in (0, 1).
    target : float
        Target DLT probability.
    model : {"empiric", "logistic"}
        Dose-toxicity model.
    prior_sd : float
        Standard deviation of the normal prior on beta.
    intercept : float
        Fixed intercept a0 of the logistic model.
    cohort_size, start_dose : int
        Subjects per cohort and first dose (1-based).
    restrict : bool
        Apply the no-skipping and coherence restrictions.
    stop_tox_prob : float or None
        Stop when P(p_1 > target | data) exceeds this; None never stops early.
    n_grid : int
        Quadrature points over beta in +-10 prior SDs.
    """

    skeleton: tuple[float, ...]
    target: float
    model: str = "empiric"
    prior_sd: float = float(np.sqrt(1.34))
    intercept: float = 3.0
    cohort_size: int = 3
    start_dose: int = 1
    restrict: bool = True
    stop_tox_prob: float | None = 0.9
    n_grid: int = 401

    def __post_init__(self):
        skeleton = np.asarray(self.skeleton, dtype=float).ravel()
        if skeleton.size < 1 or np.any((skeleton <= 0) | (skeleton >= 1)) or np.any(np.diff(skeleton) <= 0):
            raise FieldError("skeleton", list(np.asarray(self.skeleton).ravel()), "strictly increasing probabilities in (0, 1)")
        object.__setattr__(self, "skeleton", tuple(float(s) for s in skeleton))
        check_target(self.target)
        check_cohort_size(self.cohort_size)
        check_start_dose(self.start_dose, self.num_doses)
        if self.model not in ("empiric", "logistic"):
            raise FieldError("model", self.model, "'empiric' or 'logistic'")
        if self.model == "logistic" and not np.all(logit(skeleton) < self.intercept):
            raise FieldError("intercept", self.intercept, f"> logit of every skeleton value (> {logit(skeleton[-1]):.3f})")
        if not self.prior_sd > 0:
            raise FieldError("prior_sd", self.prior_sd, "> 0")
        if self.stop_tox_prob is not None and not 0 < self.stop_tox_prob < 1:
            raise FieldError("stop_tox_prob", self.stop_tox_prob, "a probability in (0, 1), or None")

    @property
    def num_doses(self) -> int:
        return len(self.skeleton)

    @property
    def label(self) -> str:
        return f"CRM({self.model}, target={self.target:g})"

    def prob_dlt(self, beta: np.ndarray) -> np.ndarray:
        """DLT probability at every dose for each beta, shape (len(beta), doses)."""
        log_p, _ = _log_prob_tables(self.skeleton, self.model, self.intercept, np.atleast_1d(beta))
        return np.exp(log_p)

    def _grid(self):
        beta = np.linspace(-10 * self.prior_sd, 10 * self.prior_sd, self.n_grid)
        log_p, log_q = _log_prob_tables(self.skeleton, self.model, self.intercept, beta)
        trapezoid = np.full(self.n_grid, beta[1] - beta[0])
        trapezoid[[0, -1]] /= 2
        log_prior = -0.5 * (beta / self.prior_sd) ** 2 + np.log(trapezoid)
        return beta, log_p, log_q, log_prior

    def posterior(self, state: TrialState) -> CrmPosterior:
        """Posterior summaries for every row of ``state``.

        Simulated trials share few distinct (subjects, DLTs) tables, so the quadrature runs
        once per distinct table and is broadcast back to the rows.
        """
        counts = np.concatenate([state.n, state.dlt], axis=1)
        distinct, inverse = np.unique(counts, axis=0, return_inverse=True)
        k = self.num_doses
        post = self._posterior_of_counts(distinct[:, :k], distinct[:, k:])
        inverse = inverse.ravel()
        return CrmPosterior(*(getattr(post, f)[inverse] for f in CrmPosterior.__dataclass_fields__))

    def _posterior_of_counts(self, n_at_dose: np.ndarray, dlt_at_dose: np.ndarray) -> CrmPosterior:
        beta, log_p, log_q, log_prior = _cached_grid(self)
        p = np.exp(log_p)
        over = (p > self.target).astype(float)  # float operands keep every product on BLAS
        parts = []
        for lo in range(0, len(n_at_dose), _CHUNK_ROWS):
            n, dlt = n_at_dose[lo : lo + _CHUNK_ROWS].astype(float), dlt_at_dose[lo : lo + _CHUNK_ROWS].astype(float)
            log_post = dlt @ log_p.T + (n - dlt) @ log_q.T + log_prior
            weight = np.exp(log_post - log_post.max(axis=1, keepdims=True))
            weight /= weight.sum(axis=1, keepdims=True)
            mean = weight @ beta
            parts.append((mean, weight @ beta**2 - mean**2, weight @ p, weight @ over))
        mean, var, p_mean, exceeds = (np.concatenate(x) for x in zip(*parts)) if parts else [np.empty(0)] * 4
        plugin = self.prob_dlt(mean) if len(mean) else np.empty((0, self.num_doses))
        return CrmPosterior(mean, var, plugin, p_mean.reshape(-1, self.num_doses), exceeds.reshape(-1, self.num_doses))

    def posterior_of(self, outcomes) -> CrmPosterior:
        """Posterior after one trial's outcomes (``"1NNN 2NTN"``), rows of length 1."""
        return self.posterior(TrialState.from_outcomes(as_outcomes(outcomes), self.num_doses, self.start_dose - 1))

    def _too_toxic(self, state: TrialState, post: CrmPosterior) -> np.ndarray:
        if self.stop_tox_prob is None:
            return np.zeros(state.num_rows, dtype=bool)
        return (state.n[:, 0] > 0) & (post.prob_exceeds_target[:, 0] > self.stop_tox_prob)

    def _decide(self, state: TrialState) -> Step:
        post = self.posterior(state)
        best = np.argmin(np.abs(post.prob_dlt_plugin - self.target), axis=1)
        if self.restrict:
            coherent_cap = np.where(state.last_dlt >= self.target * state.last_size, state.current, state.current + 1)
            best = np.minimum(best, coherent_cap)
        return Step(best, self._too_toxic(state, post), np.full(state.num_rows, self.cohort_size))

    def select(self, state: TrialState) -> np.ndarray:
        post = self.posterior(state)
        best = np.argmin(np.abs(post.prob_dlt_plugin - self.target), axis=1)
        return np.where(self._too_toxic(state, post) | (state.total_n == 0), -1, best)


@functools.lru_cache(maxsize=32)
def _cached_grid(design: Crm):
    return design._grid()


def _log_prob_tables(skeleton: tuple, model: str, intercept: float, beta: np.ndarray):
    """log p and log(1 - p), shape (len(beta), doses), computed without underflow."""
    skeleton, beta = np.asarray(skeleton), np.asarray(beta, dtype=float)[:, None]
    if model == "empiric":
        log_p = np.exp(beta) * np.log(skeleton)[None, :]
        return log_p, np.log(-np.expm1(log_p))
    eta = intercept + np.exp(beta) * (logit(skeleton) - intercept)[None, :]
    return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)


def crm_skeleton(
    target: float, num_doses: int, prior_mtd: int, halfwidth: float = 0.05, model: str = "empiric", intercept: float = 3.0
) -> tuple[float, ...]:
    """Skeleton by the indifference-interval method of Lee & Cheung (2009, *Clin Trials* 6:227).

    Adjacent doses are spaced so that each dose is the best choice when its true DLT rate
    lies within ``target +- halfwidth``; dose ``prior_mtd`` (1-based) gets the target itself.
    """
    check_target(target)
    if not 0 < halfwidth < min(target, 1 - target):
        raise FieldError("halfwidth", halfwidth, f"in (0, {min(target, 1 - target):g})")
    if not 1 <= prior_mtd <= num_doses:
        raise FieldError("prior_mtd", prior_mtd, f"an integer in 1..{num_doses}")
    nu = prior_mtd - 1
    if model == "empiric":  # work with log p; beta = 0 at each step
        to_scale, lo, hi = np.log, np.log(target - halfwidth), np.log(target + halfwidth)
    else:
        to_scale, lo, hi = (lambda p: logit(p) - intercept), logit(target - halfwidth) - intercept, logit(target + halfwidth) - intercept
    scaled = np.empty(num_doses)
    scaled[nu] = to_scale(target)
    for k in range(nu, 0, -1):  # dose k-1 is indifferent with dose k at target - halfwidth ... + halfwidth
        scaled[k - 1] = lo * scaled[k] / hi
    for k in range(nu, num_doses - 1):
        scaled[k + 1] = hi * scaled[k] / lo
    values = np.exp(scaled) if model == "empiric" else expit(intercept + scaled)
    return tuple(float(v) for v in values)
