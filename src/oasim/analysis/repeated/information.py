"""Second-order REML quantities in SAS's covariance parameterisation.

For natural covariance parameters φ (see :mod:`.covariance`) this module computes, summed over
missingness patterns,

* ``P_h  = X' ∂V⁻¹/∂φ_h X``,
* ``Q_hj = X' ∂V⁻¹/∂φ_h V ∂V⁻¹/∂φ_j X``,
* ``R_hj = X' V⁻¹ ∂²V/∂φ_h∂φ_j V⁻¹ X``,

and the observed Hessian of −2ℓ_R, whose inverse (times 2) is the asymptotic covariance ``W``
of φ̂ used by Satterthwaite and Kenward–Roger (Kenward & Roger 1997, Biometrics 53:983). The
Hessian follows the REML second-derivative identities (e.g. Wolfinger et al. 1994):

    ∂²(−2ℓ_R)/∂φ_h∂φ_j = tr(P V_hj) − tr(P V_h P V_j) + 2 y'P V_h P V_j P y − y'P V_hj P y
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oasim.analysis.repeated.likelihood import RemlEvaluation, RepeatedData

__all__ = ["Information", "compute_information"]


@dataclass(frozen=True, eq=False)
class Information:
    """P (q,p,p), Q (q,q,p,p), R (q,q,p,p), Hessian of −2ℓ_R (q,q) and W = 2 H⁻¹."""

    P: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    hessian: np.ndarray
    W: np.ndarray


def compute_information(evaluation: RemlEvaluation, data: RepeatedData, d1: np.ndarray,
                        d2: np.ndarray | None) -> Information:
    """Assemble P, Q, R and the observed information at a REML optimum.

    Parameters
    ----------
    evaluation : RemlEvaluation
        REML quantities at φ̂.
    data : RepeatedData
    d1 : ndarray (q, m, m)
        ∂Σ/∂φ.
    d2 : ndarray (q, q, m, m) or None
        ∂²Σ/∂φ∂φ; ``None`` when Σ is linear in φ (UN, CS).
    """
    q = d1.shape[0]
    p = data.n_coef
    phi_cov = evaluation.beta_cov
    P = np.zeros((q, p, p))
    Q = np.zeros((q, q, p, p))
    R = np.zeros((q, q, p, p))
    trace_second = np.zeros((q, q))  # tr(P V_hj) − y'P V_hj P y
    trace_vv = np.zeros((q, q))  # Σ_i tr(Σ_i⁻¹ Σ_h Σ_i⁻¹ Σ_j)
    quad_vv = np.zeros((q, q))  # Σ_i u_i' Σ_h Σ_i⁻¹ Σ_j u_i
    b_vectors = np.zeros((q, p))  # Σ_i X_i' Σ_i⁻¹ Σ_h u_i
    for pattern, inverse, u in zip(data.patterns, evaluation.inverses, evaluation.weighted_residuals):
        idx = np.ix_(pattern.visits, pattern.visits)
        dsig = d1[:, idx[0], idx[1]]  # (q, k, k)
        moments = pattern.design_moments()  # (k, k, p, p)
        a_d = np.einsum("kl,hlm->hkm", inverse, dsig)  # Σ⁻¹ Σ_h
        a_d_a = a_d @ inverse  # Σ⁻¹ Σ_h Σ⁻¹
        P -= np.einsum("hkl,klab->hab", a_d_a, moments, optimize=True)
        chain = np.einsum("hkl,jlm->hjkm", a_d_a, dsig)  # Σ⁻¹Σ_hΣ⁻¹Σ_j
        Q += np.einsum("hjkm,mn,knab->hjab", chain, inverse, moments, optimize=True)
        trace_vv += pattern.n_subjects * np.einsum("hkl,jlk->hj", a_d, a_d)
        uu = u.T @ u
        quad_vv += np.einsum("hkl,lm,jmn,nk->hj", dsig, inverse, dsig, uu, optimize=True)
        weighted_design = np.einsum("nka,kl->nla", pattern.design, inverse, optimize=True)
        b_vectors += np.einsum("nla,hlm,nm->ha", weighted_design, dsig, u, optimize=True)
        if d2 is not None:
            dsig2 = d2[:, :, idx[0], idx[1]]
            spread = np.einsum("nka,ab,nlb->kl", pattern.design, phi_cov, pattern.design, optimize=True)
            weight = pattern.n_subjects * inverse - inverse @ spread @ inverse - uu
            trace_second += np.einsum("hjkl,lk->hj", dsig2, weight)
            R += np.einsum("kl,hjlm,mn,knab->hjab", inverse, dsig2, inverse, moments, optimize=True)
    trace_pvpv = (trace_vv
                  - 2.0 * np.einsum("ab,hjba->hj", phi_cov, Q)
                  + np.einsum("ab,hbc,cd,jda->hj", phi_cov, P, phi_cov, P, optimize=True))
    quad_pvpv = quad_vv - b_vectors @ phi_cov @ b_vectors.T
    hessian = trace_second - trace_pvpv + 2.0 * quad_pvpv
    hessian = 0.5 * (hessian + hessian.T)
    W = 2.0 * np.linalg.inv(hessian)
    return Information(P=P, Q=Q, R=R, hessian=hessian, W=W)
