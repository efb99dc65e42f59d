"""Residual covariance structures of the MMRM, in SAS PROC MIXED's parameterisation.

Each structure maps an unconstrained optimisation vector ``theta`` to the visit-by-visit
covariance matrix ``Sigma`` (with its Jacobian, for analytic REML gradients), and maps
``theta`` to SAS's *natural* covariance parameters ``phi`` (the rows of SAS's "Covariance
Parameter Estimates" table). Inference (Satterthwaite, Kenward–Roger) is done in ``phi``
because the Kenward–Roger adjustment depends on the parameterisation; SAS's is used so that
results agree with ``DDFM=KR``. Structures (SAS ``TYPE=``):

* ``us``    — UN: ``phi`` = lower-triangle covariances UN(1,1), UN(2,1), UN(2,2), ... ;
  optimised on the log-Cholesky factor (Pinheiro & Bates 1996).
* ``toeph`` — TOEPH: variances σ²_1..σ²_m, then correlations ρ_1..ρ_{m-1} at lags 1..m-1.
* ``ar1h``  — ARH(1): variances σ²_1..σ²_m, then ρ; Σ_ab = σ_a σ_b ρ^|a-b|.
* ``cs``    — CS: common covariance σ_1 and residual σ²; Σ = σ_1 J + σ² I.

Not covered: spatial structures, group-specific covariances, ante-dependence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STRUCTURES", "CovarianceStructure", "get_structure"]


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class CovarianceStructure:
    """A residual covariance structure over ``n_visits`` ordered visits."""

    name: str
    n_visits: int

    # ---- sizes and labels -------------------------------------------------------------
    @property
    def n_params(self) -> int:
        m = self.n_visits
        return {"us": m * (m + 1) // 2, "toeph": 2 * m - 1, "ar1h": m + 1, "cs": 2}[self.name]

    def param_names(self) -> list[str]:
        """Names of the natural parameters, as SAS prints them."""
        m = self.n_visits
        if self.name == "us":
            return [f"UN({a + 1},{b + 1})" for a in range(m) for b in range(a + 1)]
        if self.name == "toeph":
            return [f"Var({a + 1})" for a in range(m)] + [f"TOEPH({k})" for k in range(1, m)]
        if self.name == "ar1h":
            return [f"Var({a + 1})" for a in range(m)] + ["ARH(1)"]
        return ["CS", "Residual"]

    # ---- optimisation parameterisation ----------------------------------------------------
    def start(self, sample_cov: np.ndarray) -> np.ndarray:
        """Unconstrained starting vector from a (positive definite) sample covariance."""
        m = self.n_visits
        variances = np.clip(np.diag(sample_cov), 1e-8, None)
        sd = np.sqrt(variances)
        corr = sample_cov / np.outer(sd, sd)
        if self.name == "us":
            chol = np.linalg.cholesky(sample_cov)
            theta = chol[np.tril_indices(m)]
            diag_pos = [a * (a + 1) // 2 + a for a in range(m)]
            theta[diag_pos] = np.log(np.diag(chol))
            return theta
        if self.name == "cs":
            rho = np.mean(corr[np.triu_indices(m, 1)]) if m > 1 else 0.0
            low = -1.0 / max(m - 1, 1)
            frac = np.clip((rho - low) / (1 - low), 0.02, 0.98)
            return np.array([np.log(variances.mean()), np.log(frac / (1 - frac))])
        lags = [np.mean(np.diag(corr, k)) for k in range(1, m)]
        if self.name == "ar1h":
            rho = np.clip(lags[0] if lags else 0.0, -0.9, 0.9)
            return np.concatenate([np.log(sd), [np.arctanh(rho)]])
        rhos = np.clip(np.array(lags) * 0.9, -0.9, 0.9)  # shrink for positive definiteness
        return np.concatenate([np.log(sd), np.arctanh(rhos)])

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """SAS parameters ``phi`` from the optimisation vector ``theta``."""
        m = self.n_visits
        if self.name == "us":
            sigma = self._us_sigma(theta)
            return sigma[np.tril_indices(m)]
        if self.name == "cs":
            total = np.exp(theta[0])
            low = -1.0 / max(m - 1, 1)
            rho = low + (1 - low) * _logistic(theta[1])
            return np.array([total * rho, total * (1 - rho)])
        return np.concatenate([np.exp(2 * theta[:m]), np.tanh(theta[m:])])

    def sigma_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Σ(theta) and ∂Σ/∂theta with shape (n_params, m, m)."""
        if self.name == "us":
            return self._us_sigma_jacobian(theta)
        phi = self.natural(theta)
        sigma, d_phi, _ = self.natural_derivatives(phi, second=False)
        return sigma, np.einsum("k,kab->kab", self._dphi_dtheta(theta, phi), d_phi)

    def _dphi_dtheta(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        # diagonal Jacobian for the non-US structures (phi_k depends on theta_k only, CS aside)
        m = self.n_visits
        if self.name == "cs":
            raise AssertionError("CS handled by its own Jacobian")
        return np.concatenate([2 * phi[:m], 1 - phi[m:] ** 2])

    def _us_sigma(self, theta: np.ndarray) -> np.ndarray:
        m = self.n_visits
        chol = np.zeros((m, m))
        chol[np.tril_indices(m)] = theta
        chol[np.diag_indices(m)] = np.exp(np.diag(chol))
        return chol @ chol.T

    def _us_sigma_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.n_visits
        chol = np.zeros((m, m))
        rows, cols = np.tril_indices(m)
        chol[rows, cols] = theta
        chol[np.diag_indices(m)] = np.exp(np.diag(chol))
        jac = np.zeros((len(theta), m, m))
        for k, (a, b) in enumerate(zip(rows, cols)):
            scale = chol[a, a] if a == b else 1.0
            # d(LL')/dL_ab = E_ab L' + L E_ba
            jac[k, a, :] += scale * chol[:, b]
            jac[k, :, a] += scale * chol[:, b]
        return chol @ chol.T, jac

    # ---- natural (SAS) parameterisation --------------------------------------------------
    def natural_derivatives(self, phi: np.ndarray, second: bool = True):
        """Σ(phi), ∂Σ/∂phi (q, m, m) and, if ``second``, ∂²Σ/∂phi∂phi (q, q, m, m)."""
        m = self.n_visits
        q = len(phi)
        d2 = np.zeros((q, q, m, m)) if second else None
        if self.name == "us":
            rows, cols = np.tril_indices(m)
            sigma = np.zeros((m, m))
            sigma[rows, cols] = phi
            sigma[cols, rows] = phi
            d1 = np.zeros((q, m, m))
            d1[np.arange(q), rows, cols] = 1.0
            d1[np.arange(q), cols, rows] = 1.0
            return sigma, d1, d2
        if self.name == "cs":
            d1 = np.stack([np.ones((m, m)), np.eye(m)])
            return phi[0] * d1[0] + phi[1] * d1[1], d1, d2
        variances, corr_params = phi[:m], phi[m:]
        lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
        if self.name == "ar1h":
            rho = corr_params[0]
            corr = rho**lag
            d_corr = np.array([lag * np.where(lag > 0, rho ** np.maximum(lag - 1, 0), 0.0)])
            d2_corr = np.array([[lag * (lag - 1) * np.where(lag > 1, rho ** np.maximum(lag - 2, 0), 0.0)]])
        else:  # toeph
            corr = np.concatenate([[1.0], corr_params])[lag]
            d_corr = np.array([(lag == k).astype(float) for k in range(1, m)])
            d2_corr = np.zeros((m - 1, m - 1, m, m))
        sd = np.sqrt(variances)
        scale = np.outer(sd, sd)
        sigma = scale * corr
        # exponents of s_c in sqrt(s_a s_b): e[c, a, b] = (δ_ac + δ_bc) / 2
        eye = np.eye(m)
        expo = 0.5 * (eye[:, :, None] + eye[:, None, :])
        d_scale = expo * scale / variances[:, None, None]
        n_corr = q - m
        d1 = np.concatenate([d_scale * corr, scale * d_corr])
        if second:
            d2_scale = (expo[:, None] * (expo[None, :] - eye[:, :, None, None]) * scale
                        / np.multiply.outer(variances, variances)[:, :, None, None])
            d2[:m, :m] = d2_scale * corr
            cross = d_scale[:, None] * d_corr[None, :]
            d2[:m, m:] = cross
            d2[m:, :m] = cross.transpose(1, 0, 2, 3)
            d2[m:, m:] = scale * d2_corr.reshape(n_corr, n_corr, m, m)
        return sigma, d1, d2


def _cs_sigma_and_jacobian(structure: CovarianceStructure, theta: np.ndarray):
    m = structure.n_visits
    total = np.exp(theta[0])
    low = -1.0 / max(m - 1, 1)
    logistic = _logistic(theta[1])
    rho = low + (1 - low) * logistic
    corr = np.full((m, m), rho)
    np.fill_diagonal(corr, 1.0)
    d_corr = np.full((m, m), (1 - low) * logistic * (1 - logistic))
    np.fill_diagonal(d_corr, 0.0)
    return total * corr, np.stack([total * corr, total * d_corr])


STRUCTURES = ("us", "toeph", "ar1h", "cs")


class _CompoundSymmetry(CovarianceStructure):
    def sigma_and_jacobian(self, theta):  # noqa: D102 - documented on the base class
        return _cs_sigma_and_jacobian(self, theta)


def get_structure(name: str, n_visits: int) -> CovarianceStructure:
    """The structure ``name`` (one of :data:`STRUCTURES`) over ``n_visits`` visits."""
    if name == "cs":
        return _CompoundSymmetry(name, n_visits)
    return CovarianceStructure(name, n_visits)
