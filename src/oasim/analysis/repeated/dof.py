"""Denominator degrees of freedom for MMRM contrasts: Satterthwaite and Kenward–Roger.

* Satterthwaite (Satterthwaite 1946; Giesbrecht & Burns 1985): for a contrast ``c``,
  ``ν = 2 (c'Φc)² / (g' W g)`` with ``g_h = ∂(c'Φc)/∂φ_h = −c'Φ P_h Φ c``. Multi-row contrasts
  use the Fai & Cornelius (1996) spectral decomposition, as SAS does.
* Kenward–Roger (Kenward & Roger 1997, Biometrics 53:983): the small-sample adjusted covariance
  ``Φ_A = Φ + 2Φ {Σ_hj W_hj (Q_hj − P_h Φ P_j − ¼ R_hj)} Φ`` and the moment-matched F
  approximation (scale λ, denominator df m). With φ in SAS's parameterisation this matches
  PROC MIXED ``DDFM=KR``.
"""

from __future__ import annotations

import numpy as np

from oasim.analysis.repeated.information import Information

__all__ = ["kenward_roger_covariance", "kenward_roger_test", "satterthwaite_df", "satterthwaite_test"]


def satterthwaite_df(contrast: np.ndarray, beta_cov: np.ndarray, info: Information) -> float:
    """Satterthwaite df of the one-row contrast ``contrast`` (shape (p,))."""
    phi_c = beta_cov @ contrast
    variance = float(contrast @ phi_c)
    grad = -np.einsum("a,hab,b->h", phi_c, info.P, phi_c)
    denom = float(grad @ info.W @ grad)
    return 2.0 * variance**2 / denom if denom > 0 else np.inf


def row_basis(contrast: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the row space of ``contrast`` (drops redundant rows)."""
    contrast = np.atleast_2d(contrast)
    _, singular, vt = np.linalg.svd(contrast, full_matrices=False)
    keep = singular > max(singular.max(initial=0.0), 1e-300) * 1e-10
    return vt[keep]


def satterthwaite_test(contrast: np.ndarray, beta: np.ndarray, beta_cov: np.ndarray,
                       info: Information) -> tuple[float, float, float]:
    """F statistic, numerator df and denominator df (Fai & Cornelius 1996) for ``L β = 0``."""
    contrast = row_basis(contrast)
    if len(contrast) == 0:
        return np.nan, 0, np.nan
    estimate = contrast @ beta
    cov = contrast @ beta_cov @ contrast.T
    eigval, eigvec = np.linalg.eigh(cov)
    keep = eigval > eigval.max() * 1e-10
    eigval, eigvec = eigval[keep], eigvec[:, keep]
    rank = len(eigval)
    f_stat = float(estimate @ eigvec @ np.diag(1 / eigval) @ eigvec.T @ estimate) / rank
    rotated = eigvec.T @ contrast
    nus = np.array([satterthwaite_df(row, beta_cov, info) for row in rotated])
    if rank == 1:
        return f_stat, 1, float(nus[0])
    expectation = np.sum(nus / (nus - 2.0) * (nus > 2))
    denom_df = 2.0 * expectation / (expectation - rank) if expectation > rank else np.inf
    return f_stat, rank, float(denom_df)


def kenward_roger_covariance(beta_cov: np.ndarray, info: Information, linear: bool = False) -> np.ndarray:
    """Kenward–Roger adjusted covariance Φ_A of β̂ (``linear`` drops the R term)."""
    middle = np.einsum("hj,hjab->ab", info.W, info.Q)
    middle -= np.einsum("hj,hac,cd,jdb->ab", info.W, info.P, beta_cov, info.P, optimize=True)
    if not linear:
        middle -= 0.25 * np.einsum("hj,hjab->ab", info.W, info.R)
    adjusted = beta_cov + 2.0 * beta_cov @ middle @ beta_cov
    return 0.5 * (adjusted + adjusted.T)


def kenward_roger_test(contrast: np.ndarray, beta: np.ndarray, beta_cov: np.ndarray,
                       adjusted_cov: np.ndarray, info: Information) -> tuple[float, float, float, float]:
    """Scaled F statistic λF, numerator df, denominator df m and scale λ for ``L β = 0``."""
    contrast = np.atleast_2d(contrast)
    if len(contrast) > 1:
        contrast = row_basis(contrast)
    n_rows = len(contrast)
    if n_rows == 0 or not np.any(contrast):
        return np.nan, 0, np.nan, np.nan
    estimate = contrast @ beta
    # Θ uses the unadjusted Φ, as SAS does; for one row m then equals the Satterthwaite df
    theta = contrast.T @ np.linalg.solve(contrast @ beta_cov @ contrast.T, contrast)
    f_stat = float(estimate @ np.linalg.solve(contrast @ adjusted_cov @ contrast.T, estimate)) / n_rows
    pieces = np.einsum("ab,bc,hcd,de->hae", theta, beta_cov, info.P, beta_cov, optimize=True)
    traces = np.trace(pieces, axis1=1, axis2=2)
    a1 = float(traces @ info.W @ traces)
    a2 = float(np.einsum("hj,hab,jba->", info.W, pieces, pieces, optimize=True))
    c = float(n_rows)
    b = (a1 + 6.0 * a2) / (2.0 * c)
    g = ((c + 1.0) * a1 - (c + 4.0) * a2) / ((c + 2.0) * a2)
    denom = 3.0 * c + 2.0 * (1.0 - g)
    c1, c2, c3 = g / denom, (c - g) / denom, (c + 2.0 - g) / denom
    e_star = 1.0 / (1.0 - a2 / c)
    v_star = (2.0 / c) * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (c + 2.0) / (c * rho - 1.0)
    lam = m / (e_star * (m - 2.0))
    return lam * f_stat, c, m, lam
