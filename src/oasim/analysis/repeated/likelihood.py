"""Restricted (REML) likelihood of the MMRM, evaluated pattern by pattern.

Subjects sharing the same set of observed visits (a *missingness pattern*) share the same
residual covariance ``Σ_i = S_i' Σ S_i``, so one Cholesky factor per pattern serves all of them
and every sum over subjects becomes a batched ``einsum``. Missing visits simply drop out of
``Σ_i``: this is the direct-likelihood (MAR, no imputation) analysis.

    −2 ℓ_R(θ) = Σ_i log|Σ_i| + log|X'V⁻¹X| + r'V⁻¹r + (N − p) log 2π,   r = y − Xβ̂(θ)

The gradient with respect to any parameter is ``⟨∂Σ/∂θ_h, K⟩`` for one m×m matrix ``K``
assembled from the patterns (Harville 1977, JASA 72:320; Wolfinger, Tobias & Sall 1994, SIAM
J Sci Comput 15:1294 for the REML derivatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = ["Pattern", "RepeatedData", "RemlEvaluation", "evaluate_reml"]


@dataclass(frozen=True, eq=False)
class Pattern:
    """Subjects with the same observed visits ``visits`` (indices into the visit levels)."""

    visits: np.ndarray  # (k,)
    design: np.ndarray  # (n, k, p)
    response: np.ndarray  # (n, k)
    subjects: np.ndarray  # (n,) subject labels

    @property
    def n_subjects(self) -> int:
        return self.design.shape[0]

    def design_moments(self) -> np.ndarray:
        """Σ_i X_i[k,a] X_i[l,b] with shape (k, k, p, p), for the P/Q/R matrices."""
        return np.einsum("nka,nlb->klab", self.design, self.design, optimize=True)


@dataclass(frozen=True, eq=False)
class RepeatedData:
    """Design and response of a repeated-measures data set grouped by missingness pattern."""

    patterns: tuple[Pattern, ...]
    n_visits: int
    n_obs: int
    n_coef: int

    @classmethod
    def from_long(cls, design: np.ndarray, response: np.ndarray, subject_codes: np.ndarray,
                  visit_codes: np.ndarray, subjects: np.ndarray, n_visits: int) -> "RepeatedData":
        """Group long-format rows (one per subject-visit, complete cases) by pattern."""
        order = np.lexsort((visit_codes, subject_codes))
        design, response = design[order], response[order]
        subject_codes, visit_codes = subject_codes[order], visit_codes[order]
        starts = np.flatnonzero(np.r_[True, subject_codes[1:] != subject_codes[:-1]])
        ends = np.r_[starts[1:], len(subject_codes)]
        by_key: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        for start, end in zip(starts, ends):
            by_key.setdefault(tuple(visit_codes[start:end]), []).append((start, end))
        patterns = []
        for key, spans in sorted(by_key.items()):
            rows = np.concatenate([np.arange(s, e) for s, e in spans])
            k = len(key)
            patterns.append(Pattern(
                visits=np.array(key),
                design=design[rows].reshape(len(spans), k, -1),
                response=response[rows].reshape(len(spans), k),
                subjects=subjects[subject_codes[[s for s, _ in spans]]],
            ))
        return cls(tuple(patterns), n_visits, len(response), design.shape[1])


@dataclass(frozen=True, eq=False)
class RemlEvaluation:
    """REML quantities at one covariance matrix."""

    neg2_loglik: float
    beta: np.ndarray
    beta_cov: np.ndarray  # Φ = (X'V⁻¹X)⁻¹
    gradient_matrix: np.ndarray  # K: ∂(−2ℓ_R)/∂θ_h = ⟨∂Σ/∂θ_h, K⟩
    inverses: tuple[np.ndarray, ...]  # Σ_p⁻¹ per pattern
    weighted_residuals: tuple[np.ndarray, ...]  # u_i = Σ_i⁻¹ r_i per pattern, (n, k)


class NotPositiveDefinite(ArithmeticError):
    """Σ (or X'V⁻¹X) is not positive definite at the requested parameters."""


def evaluate_reml(sigma: np.ndarray, data: RepeatedData, with_gradient: bool = True) -> RemlEvaluation:
    """−2 REML log-likelihood, GLS estimates and gradient matrix at covariance ``sigma``."""
    p = data.n_coef
    xtax = np.zeros((p, p))
    xtay = np.zeros(p)
    logdet_sigma = 0.0
    inverses = []
    for pattern in data.patterns:
        block = sigma[np.ix_(pattern.visits, pattern.visits)]
        try:
            factor = linalg.cho_factor(block, lower=True, check_finite=False)
        except linalg.LinAlgError as exc:
            raise NotPositiveDefinite("residual covariance not positive definite") from exc
        inverse = linalg.cho_solve(factor, np.eye(len(pattern.visits)), check_finite=False)
        inverses.append(inverse)
        logdet_sigma += pattern.n_subjects * 2.0 * np.sum(np.log(np.diag(factor[0])))
        weighted = np.einsum("nka,kl->nla", pattern.design, inverse, optimize=True)
        xtax += np.einsum("nla,nlb->ab", weighted, pattern.design, optimize=True)
        xtay += np.einsum("nla,nl->a", weighted, pattern.response, optimize=True)
    try:
        xfactor = linalg.cho_factor(xtax, lower=True, check_finite=False)
    except linalg.LinAlgError as exc:
        raise NotPositiveDefinite("X'V^-1 X is singular (rank-deficient design?)") from exc
    beta = linalg.cho_solve(xfactor, xtay, check_finite=False)
    beta_cov = linalg.cho_solve(xfactor, np.eye(p), check_finite=False)
    logdet_xtax = 2.0 * np.sum(np.log(np.diag(xfactor[0])))

    quadratic = 0.0
    gradient_matrix = np.zeros_like(sigma)
    residuals_weighted = []
    for pattern, inverse in zip(data.patterns, inverses):
        resid = pattern.response - pattern.design @ beta
        u = resid @ inverse
        residuals_weighted.append(u)
        quadratic += float(np.sum(resid * u))
        if with_gradient:
            spread = np.einsum("nka,ab,nlb->kl", pattern.design, beta_cov, pattern.design, optimize=True)
            block = pattern.n_subjects * inverse - inverse @ spread @ inverse - u.T @ u
            gradient_matrix[np.ix_(pattern.visits, pattern.visits)] += block
    neg2 = logdet_sigma + logdet_xtax + quadratic + (data.n_obs - p) * np.log(2 * np.pi)
    return RemlEvaluation(neg2, beta, beta_cov, gradient_matrix, tuple(inverses), tuple(residuals_weighted))
