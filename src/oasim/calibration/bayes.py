"""Bayesian calibration of a few population-level parameters to published arm statistics.

The simulator (a whole virtual trial per study) costs seconds per parameter vector, far too
much for direct MCMC in a 30-minute budget on two cores. So the calibration follows the usual
route for expensive simulators (Kennedy & O'Hagan 2001, J R Stat Soc B 63:425; the history
matching/emulation practice of Andrianakis et al. 2015, PLoS Comput Biol 11:e1003968):

1. a space-filling design (Latin hypercube, ``scipy.stats.qmc``) in the parameters'
   prior-quantile space ``u ∈ (0, 1)^d``; the simulator runs once per design point, in
   resumable chunks;
2. one Gaussian-process emulator per target statistic (scikit-learn, Matérn 5/2 with automatic
   relevance determination plus a white-noise term for the simulator's Monte-Carlo noise);
3. affine-invariant ensemble MCMC (emcee; Foreman-Mackey et al. 2013, PASP 125:306) on the
   emulated posterior, vectorised over walkers. Because the chain moves in prior-quantile
   space the prior density is uniform there and the log posterior is the log likelihood.

emcee was chosen over SMC-ABC (pyabc) because the arm statistics come with their own sampling
error (n, SD/SE/IQR/CI), which gives an explicit likelihood; ABC would throw that away.

The likelihood of each published statistic respects the arm's n and its spread:

* mean / mean_change: ``observed ~ N(predicted, se_obs² + se_sim² + var_emulator)`` with
  ``se_obs`` = SD/√n, SE, CI width/3.92 or, for a median with IQR, 1.2533·SD/√n (the
  large-sample SE of a median of a normal sample) with SD = IQR/η(n) (:func:`iqr_sd`, Wan et al.
  2014: IQR/1.349 for large n, IQR/1.163 for n = 10);
* proportion: binomial with k = round(p·n) events, at the emulated probability.

Published arms are not independent draws around one model: studies differ in populations,
co-interventions, readers and reporting. As in model-based meta-analysis of arm-level summary
data (Mandema et al. 2011, Clin Pharmacol Ther 90:828; Boucher & Bennetts 2016, CPT
Pharmacometrics Syst Pharmacol 5:54), the continuous statistics of one study share a
between-study random effect, those of one arm a between-arm random effect, and every row has a
residual error beyond its sampling error:

    observed = predicted(θ) + (η_study + η_arm + ε_row) · scale,   η ~ N(0, τ²)

with ``scale`` the instrument's maximum, so the τ's are fractions of the scale and one set of τ
serves VAS, WOMAC and their subscales. Integrating the η's out makes each study one
multivariate normal block. The τ's are sampled with the model parameters (uniform priors on
the SDs, Gelman 2006, Bayesian Anal 1:515), so one study that the model cannot follow inflates
τ instead of dragging every parameter to a bound, and the predictive interval of a *new* study
carries τ.

The rows of one arm (VAS and WOMAC subscales and total, at several visits) are statistics of the
same patients, so their sampling errors are correlated: an arm whose ten patients happen to do
badly is worse on every row. Treated as independent, such a coherent shift looks impossible by
chance and is charged to the arm random effect, inflating τ_arm. The sampling covariance of two
rows of one arm is ``ρ·se_j·se_k``, with ρ the correlation of the two statistics across replicate
trials of the model itself (``fit_arms.sampling_correlation``: the arm's design replayed at the
priors' medians).

Three refinements, each with its own SD (any may be left out of a calibration; it is then 0):

* rows read from a *secondary* source (values transcribed from a chart in a web application,
  not the paper's tables; ``Target.secondary``) carry an extra between-arm and row SD on top of
  the ones above (``tau_arm_secondary``, ``sigma_row_secondary``, added in variance), so the
  reading error of one such source does not widen every primary study's predictive interval,
  and a new secondary-source study gets the extra width;
* a study's treatment effect differs from the model's by a random fraction δ_study ~ N(0,
  τ_effect²), shared by all of the study's cell or vesicle arms (a random E_max between studies,
  as in model-based meta-analysis; Mandema et al. 2011): a treated row with a control row in its
  study (``Target.control``) gets ``δ_study · (m_j − m_control)``, adding τ_effect²·Δ Δᵀ to the
  study's covariance, Δ the model's effects at θ. Heterogeneity of the effect is then one number
  per study, not a free shift per arm, so the arms of a dose-ranging study keep the model's dose
  response; control arms and single-arm studies get no such term;
* AE proportions of one study share a random shift of the log-odds,
  ``logit p = logit p_model + η_study``, η ~ N(0, τ_ae²) (``tau_ae_logit``): trials ascertain
  and report adverse events differently (a solicited diary or not, what counts as related).
  The study's binomial likelihood is integrated over η by adaptive Gauss–Hermite quadrature
  (nodes of ``numpy.polynomial.hermite_e.hermegauss`` centred and scaled at the integrand's mode).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg import solve_triangular

from ..errors import FieldError, OasimError
from ..parameters.parameter_set import HETEROGENEITY_SDS

PRIOR_KINDS = ("lognormal", "normal", "uniform", "loguniform")
_Z95 = 1.959963984540054


class CalibrationError(OasimError):
    """A calibration input (prior, target, design) is unusable."""


@dataclass(frozen=True)
class Prior:
    """Prior of one calibrated parameter.

    ``low``/``high`` are the 2.5 % and 97.5 % quantiles of a log-normal or normal prior, or the
    bounds of a uniform or log-uniform one, in the parameter's ``unit``. ``reason`` says why.
    """

    name: str
    distribution: Literal["lognormal", "normal", "uniform", "loguniform"]
    low: float
    high: float
    unit: str
    reason: str

    def __post_init__(self):
        if self.distribution not in PRIOR_KINDS:
            raise FieldError(f"{self.name}.distribution", self.distribution, f"one of {PRIOR_KINDS}")
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            raise FieldError(f"{self.name}.low/high", (self.low, self.high), "finite with low < high")
        if self.distribution in ("lognormal", "loguniform") and self.low <= 0:
            raise FieldError(f"{self.name}.low", self.low, f"> 0 for a {self.distribution} prior")
        if len(self.reason.strip()) < 3:
            raise FieldError(f"{self.name}.reason", self.reason, "a reason for the prior range")

    @property
    def frozen(self):
        return _frozen(self.distribution, self.low, self.high)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Parameter values at prior quantiles ``u``."""
        return self.frozen.ppf(u)

    def to_unit(self, value: np.ndarray) -> np.ndarray:
        return self.frozen.cdf(value)


@functools.lru_cache(maxsize=256)
def _frozen(distribution: str, low: float, high: float):
    """The scipy distribution of a prior, built once (constructing a frozen scipy distribution
    costs about a millisecond, which the MCMC would pay at every step)."""
    if distribution == "uniform":
        return stats.uniform(low, high - low)
    if distribution == "loguniform":
        return stats.loguniform(low, high)
    if distribution == "normal":
        return stats.norm(0.5 * (low + high), (high - low) / (2 * _Z95))
    mu = 0.5 * (np.log(low) + np.log(high))
    return stats.lognorm(s=(np.log(high) - np.log(low)) / (2 * _Z95), scale=np.exp(mu))


STATISTICS = ("mean", "median", "proportion", "mean_change")


@dataclass(frozen=True)
class Target:
    """One published statistic with the size of its sampling error."""

    label: str
    statistic: str
    value: float
    n: int
    se: float | None = None  # standard error of ``value``; None for a proportion
    study: str = ""  # rows of one study share the between-study random effect
    arm: str = ""  # rows of one arm (within a study) share the between-arm random effect
    scale: float | None = None  # instrument maximum the random effects scale with; None: no random effect
    secondary: bool = False  # read from a secondary source: the extra SDs of the module docstring apply
    control: str = ""  # label of the control arm's matching row (treatment-effect random effect), "" for none

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise FieldError(f"{self.label}.statistic", self.statistic, f"one of {STATISTICS}")
        if self.n < 1:
            raise FieldError(f"{self.label}.n", self.n, ">= 1")
        if self.statistic == "proportion":
            if not 0 <= self.value <= 1:
                raise FieldError(f"{self.label}.value", self.value, "a proportion in [0, 1]")
        elif self.se is not None and not (np.isfinite(self.se) and self.se > 0):
            raise FieldError(f"{self.label}.se", self.se, "> 0, or None to use the simulated spread")
        if self.scale is not None and not (np.isfinite(self.scale) and self.scale > 0):
            raise FieldError(f"{self.label}.scale", self.scale, "> 0, or None for no random effect")


def standard_error(statistic: str, n: int, spread_type: str, low: float | None, high: float | None) -> float | None:
    """Standard error of a reported statistic from its reported spread (None if not given)."""
    if spread_type == "sd":
        return float(low) / np.sqrt(n)
    if spread_type == "se":
        return float(low)
    if spread_type == "ci95":
        return (float(high) - float(low)) / (2 * _Z95)
    if spread_type == "iqr":
        return 1.2533 * iqr_sd(low, high, n) / np.sqrt(n)
    if spread_type == "none":
        return None
    raise FieldError("spread_type", spread_type, "sd, se, ci95, iqr or none")


def iqr_sd(q1: float, q3: float, n: int) -> float:
    """SD of a sample of n from its interquartile range: (q3 − q1)/η(n), η(n) =
    2·Φ⁻¹((0.75n − 0.125)/(n + 0.25)), the expected IQR of n standard normal values by Blom's
    approximation (Wan et al. 2014, BMC Med Res Methodol 14:135, scenario C3). η tends to
    1.349 (the IQR of a normal) as n grows; for n = 10 it is 1.163, so the SD is 16 % larger than
    IQR/1.349."""
    if n < 2:
        raise FieldError("n", n, ">= 2 for a spread given as an interquartile range")
    eta = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    return (float(q3) - float(q1)) / eta


def scored_value(statistic: str, value: float, n: int) -> float:
    """The value a published statistic is scored at: a proportion is the count it was rounded from,
    round(p·n)/n (Chen2021's 0.733 of 15 subjects is 11/15 = 0.7333, which a simulated 11/15 must
    match), as the likelihood counts events; other statistics as published."""
    return round(value * n) / n if statistic == "proportion" else value


def instrument_bounds(statistic: str, scale_max: float) -> tuple[float, float]:
    """(low, high) a score statistic can take on an instrument of maximum ``scale_max``: [0, max]
    for a mean or median, [−max, max] for a mean change. Normal random effects added to a mean
    near the floor can cross it (a VAS mean of −20 mm); a new study's arm mean cannot."""
    return (-scale_max if statistic == "mean_change" else 0.0), scale_max


#: simulator(theta (k, d) in parameter units, seeds (k,)) -> (mean (k, m), sd (k, m)) per target:
#: the predicted statistic and the between-subject SD used when a target reports no spread.
Simulator = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def one_blas_thread():
    """Context in which BLAS runs on one thread. The emulators' matrix products are small (a few
    hundred design points): with OpenBLAS's two threads on a 2-core machine that has anything
    else running, a predict of 68 emulators at 34 walkers took 0.26-0.34 s on average against
    0.02-0.04 s on one thread (best-of-10 2.4 vs 3.5 ms when nothing competes), since the
    threads spin waiting for each other. One thread also fixes the summation order."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@dataclass
class Emulator:
    """One Gaussian process per target, on prior-quantile inputs."""

    models: list
    sd_mean: np.ndarray  # mean simulated between-subject SD per target (for targets without spread)
    holdout_r2: np.ndarray

    def __getstate__(self):
        # the closed-form predictors are rebuilt from the GPs on first use: not pickled (a third
        # of the size once formed), so work files and Dask tasks carry the fitted models only
        return {k: v for k, v in self.__dict__.items() if k not in ("_stacked", "_fast_cache")}

    @classmethod
    def fit(cls, u: np.ndarray, y: np.ndarray, sd: np.ndarray, seed: int, holdout_fraction: float = 0.15,
            restarts: int = 2) -> "Emulator":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        rng = np.random.default_rng(seed)
        k, d = u.shape
        ok = np.all(np.isfinite(y), axis=1)
        u, y, sd = u[ok], y[ok], sd[ok]
        if len(u) < 2 * d + 2:
            raise CalibrationError(f"only {len(u)} finite design points for {d} parameters: need >= {2 * d + 2}")
        test = rng.random(len(u)) < holdout_fraction
        models, r2 = [], []
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        for j in range(y.shape[1]):
            kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=2.5)
                      + WhiteKernel(1e-2, (1e-8, 1.0)))
            gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=restarts,
                                          random_state=int(rng.integers(2**31)))
            with warnings.catch_warnings(), one_blas_thread():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(u[~test], y[~test, j])
                if test.sum() >= 3:
                    pred = gp.predict(u[test])
                    ss = np.sum((y[test, j] - y[test, j].mean()) ** 2)
                    r2.append(1 - np.sum((y[test, j] - pred) ** 2) / ss if ss > 0 else np.nan)
                else:
                    r2.append(np.nan)
                gp.fit(u, y[:, j])  # refit on everything for the posterior
            models.append(gp)
        with warnings.catch_warnings():  # a column of proportions has no between-subject SD: all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            sd_mean = np.nanmean(sd, axis=0)
        return cls(models, sd_mean, np.asarray(r2))

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean (k, m), variance (k, m)) of the emulated statistics at ``u`` (k, d).

        The noise-free latent GP (the white-noise term is the simulator's Monte-Carlo error,
        already in the likelihood as the trial's own sampling error), evaluated in closed form
        from the fitted sklearn models: sklearn's ``predict`` costs ~1 ms of checks per call,
        which dominated the MCMC.
        """
        u = np.atleast_2d(u)
        if not hasattr(self, "_stacked"):
            self._stacked = _StackedLatentMatern(self._fast)
        return self._stacked(u)

    @property
    def _fast(self):
        if not hasattr(self, "_fast_cache"):
            self._fast_cache = [_LatentMatern(gp) for gp in self.models]
        return self._fast_cache


class _LatentMatern:
    """Mean and variance of a fitted ``C * Matern(nu=2.5, ARD) + White`` GP without the white term."""

    def __init__(self, gp):
        kernel = gp.kernel_
        self.amplitude = float(kernel.k1.k1.constant_value)
        self.length = np.atleast_1d(kernel.k1.k2.length_scale).astype(float)
        self.x = gp.X_train_ / self.length
        self.alpha = gp.alpha_.ravel()
        # inverse Cholesky factor of the training covariance (with noise), formed once
        self.chol_inv = solve_triangular(gp.L_, np.eye(len(self.x)), lower=True)
        self.y_mean = float(np.ravel(gp._y_train_mean)[0])
        self.y_std = float(np.ravel(gp._y_train_std)[0])

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = u / self.length
        r = np.sqrt(np.maximum(((z[:, None, :] - self.x[None, :, :]) ** 2).sum(-1), 0.0))
        k = self.amplitude * (1 + np.sqrt(5) * r + 5.0 / 3.0 * r * r) * np.exp(-np.sqrt(5) * r)
        mean = k @ self.alpha
        v = self.chol_inv @ k.T
        var = np.maximum(self.amplitude - np.einsum("ij,ij->j", v, v), 0.0)
        return mean * self.y_std + self.y_mean, var * self.y_std ** 2


class _StackedLatentMatern:
    """All targets' latent GPs at once (they share the design points; each has its own length
    scales): one array expression instead of a Python loop over targets."""

    def __init__(self, parts: Sequence[_LatentMatern]):
        self.length = np.stack([p.length * np.ones(p.x.shape[1]) for p in parts])  # (m, d)
        self.x = np.stack([p.x for p in parts])  # (m, n, d), already scaled by each length
        self.alpha = np.stack([p.alpha for p in parts])  # (m, n)
        self.chol_inv = np.stack([p.chol_inv for p in parts])  # (m, n, n)
        self.amplitude = np.array([p.amplitude for p in parts])  # (m,)
        self.y_mean = np.array([p.y_mean for p in parts])
        self.y_std = np.array([p.y_std for p in parts])
        self._x_t = np.ascontiguousarray(self.x.transpose(0, 2, 1))
        self._chol_inv_t = np.ascontiguousarray(self.chol_inv.transpose(0, 2, 1))

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = u[None, :, :] / self.length[:, None, :]  # (m, k, d)
        # batched matmul (BLAS) rather than einsum: ~5x faster for these shapes
        sq = (z * z).sum(-1)[:, :, None] + (self.x * self.x).sum(-1)[:, None, :] \
            - 2.0 * np.matmul(z, self._x_t)
        r = np.sqrt(np.maximum(sq, 0.0))
        k = self.amplitude[:, None, None] * (1 + np.sqrt(5) * r + 5.0 / 3.0 * r * r) * np.exp(-np.sqrt(5) * r)
        mean = np.matmul(k, self.alpha[:, :, None])[:, :, 0].T
        v = np.matmul(k, self._chol_inv_t)  # (m, k, n)
        var = np.maximum(self.amplitude[None, :] - np.einsum("mki,mki->km", v, v), 0.0)
        return mean * self.y_std + self.y_mean, var * self.y_std ** 2


#: names of the heterogeneity SDs, in the order a (k, 3) ``tau`` array holds them
HETEROGENEITY = HETEROGENEITY_SDS


#: probabilists' Gauss–Hermite nodes and weights for the AE random effect, used adaptively
#: (centred and scaled at the integrand's mode; Liu & Pierce 1994, Biometrika 81:624): 20 nodes
#: match adaptive quadrature to < 1e-8 relative up to n = 220 and τ_ae = 2 (test_bayes.py)
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(20)
_GH_LOG_W = np.log(_GH_WEIGHTS) + 0.5 * _GH_NODES ** 2


def tau_matrix(heterogeneity: Sequence[Prior], u: np.ndarray) -> np.ndarray:
    """(k, len(HETEROGENEITY)) SDs at prior quantiles ``u`` (k, len(heterogeneity)) of the
    calibrated ones; SDs a calibration leaves out are 0."""
    u = np.atleast_2d(u)
    tau = np.zeros((u.shape[0], len(HETEROGENEITY)))
    tau[:, [HETEROGENEITY.index(p.name) for p in heterogeneity]] = to_parameters(heterogeneity, u)
    return tau


def _padded(tau: np.ndarray, k: int) -> np.ndarray:
    """``tau`` as (k, len(HETEROGENEITY)): given columns are the first ones in HETEROGENEITY's
    order (e.g. the three score SDs), the rest 0."""
    tau = np.atleast_2d(np.asarray(tau, float))
    if tau.shape[1] > len(HETEROGENEITY):
        raise CalibrationError(f"tau: {tau.shape[1]} columns, at most {len(HETEROGENEITY)} {HETEROGENEITY}")
    out = np.zeros((k, len(HETEROGENEITY)))
    out[:, :tau.shape[1]] = tau
    return out


class ArmLikelihood:
    """Log likelihood of published statistics, vectorised over k predicted vectors.

    Continuous rows with a ``scale`` get the random-effects structure of the module docstring
    (one multivariate normal block per study); continuous rows without one are independent
    normals; proportions are binomial, with a study-level logit random effect when
    ``tau_ae_logit`` > 0. Built once per target set: the block layout is fixed.
    """

    def __init__(self, targets: Sequence[Target], sd_sim: np.ndarray, sampling_corr: np.ndarray | None = None):
        self.targets = list(targets)
        self.prop = np.array([t.statistic == "proportion" for t in targets], bool)
        self.value = np.array([t.value for t in targets], float)
        self.n = np.array([t.n for t in targets], float)
        self.secondary = np.array([bool(t.secondary) for t in targets], bool)
        self.se_obs = np.array([1.0 if self.prop[j] else (t.se if t.se is not None else sd_sim[j] / np.sqrt(t.n))
                                for j, t in enumerate(targets)])
        unknown = [t.label for j, t in enumerate(targets) if not np.isfinite(self.se_obs[j])]
        if unknown:  # no published spread and no simulated one (a one-replicate design): the likelihood would be NaN
            raise CalibrationError(f"{len(unknown)} row(s) without a published spread have no simulated spread either "
                                   f"(e.g. {unknown[0]!r}): simulate at least 2 replicates per design point "
                                   "(--replicates), or give the rows' SD, SE, CI or IQR")
        self.scaled = np.array([not self.prop[j] and t.scale is not None for j, t in enumerate(targets)], bool)
        self.scale = np.array([t.scale if self.scaled[j] else 0.0 for j, t in enumerate(targets)], float)
        # the control row of each treated score row of a study (-1: none); the study's treatment-effect
        # random effect scales the model's effect m_j - m_control
        label = {t.label: j for j, t in enumerate(targets)}
        self.control = np.array([label.get(t.control, -1) if t.control and self.scaled[j] else -1
                                 for j, t in enumerate(targets)], int)
        for j in np.flatnonzero(self.control >= 0):
            c = self.control[j]
            if not self.scaled[c] or targets[c].study != targets[j].study:
                raise FieldError(f"{targets[j].label}.control", targets[j].control,
                                 "a score row of the same study (the control arm's matching row)")
        self.independent = np.flatnonzero(~self.prop & ~self.scaled)
        corr = _checked_sampling_corr(sampling_corr, self.targets)
        # (columns, scale, same-arm matrix, both-secondary same-arm matrix, secondary, sampling covariance) per study
        self.blocks = []
        for study in dict.fromkeys(t.study for j, t in enumerate(targets) if self.scaled[j]):
            cols = np.array([j for j, t in enumerate(targets) if self.scaled[j] and t.study == study])
            s = self.scale[cols]
            arms = np.array([targets[j].arm for j in cols])
            same_arm = (arms[:, None] == arms[None, :]).astype(float)
            sec = self.secondary[cols].astype(float)
            # rows of one arm come from the same patients: their sampling errors are correlated
            sampling = np.outer(self.se_obs[cols], self.se_obs[cols]) * corr[np.ix_(cols, cols)] * same_arm
            self.blocks.append((cols, s, same_arm, same_arm * np.outer(sec, sec), sec, sampling))
        # AE proportions: one group per study (they share the study's logit effect)
        self.events = np.round(self.value * self.n)
        self.prop_groups = [np.array([j for j, t in enumerate(targets) if self.prop[j] and t.study == study])
                            for study in dict.fromkeys(t.study for j, t in enumerate(targets) if self.prop[j])]

    def __call__(self, predicted: np.ndarray, variance: np.ndarray, tau: np.ndarray | None = None) -> np.ndarray:
        k = predicted.shape[0]
        tau = np.zeros((k, len(HETEROGENEITY))) if tau is None else _padded(tau, k)
        total = np.zeros(k)
        j = self.independent
        if j.size:
            var = self.se_obs[j] ** 2 + variance[:, j]
            resid = self.value[j] - predicted[:, j]
            total += (-0.5 * (np.log(2 * np.pi * var) + resid ** 2 / var)).sum(axis=1)
        for b, (cols, *_) in enumerate(self.blocks):
            cov = self.block_covariance(b, predicted, variance, tau)
            resid = self.value[cols] - predicted[:, cols]
            chol = np.linalg.cholesky(cov)
            w = np.linalg.solve(chol, resid[:, :, None])[:, :, 0]
            logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            total += -0.5 * (len(cols) * np.log(2 * np.pi) + logdet + (w * w).sum(axis=1))
        if self.prop_groups:
            tau_ae = tau[:, HETEROGENEITY.index("tau_ae_logit")]
            for cols in self.prop_groups:
                total += self._proportions(predicted[:, cols], cols, tau_ae)
        return total

    def block_covariance(self, b: int, predicted: np.ndarray, variance: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """(k, c, c) covariance of the published values of study block ``b``'s c score rows around the
        predicted ones: the study's, arms' and rows' random effects, the treatment-effect term
        τ_effect²·ΔΔᵀ, the correlated sampling errors of one arm's rows and the emulator variance;
        ``tau`` (k, len(HETEROGENEITY))."""
        cols, s, same_arm, same_arm2, sec, sampling = self.blocks[b]
        t_study, t_arm, s_row, t_arm2, s_row2 = (tau[:, i, None] ** 2 for i in range(5))  # (k, 1) variances
        ss = np.outer(s, s)
        cov = (t_study[:, :, None] * ss + t_arm[:, :, None] * ss * same_arm
               + t_arm2[:, :, None] * ss * same_arm2 + sampling)
        diag = variance[:, cols] + (s_row + s_row2 * sec) * s ** 2
        cov = cov + diag[:, :, None] * np.eye(len(cols))
        effect = self.effect(predicted, cols)
        if effect is not None:  # δ_study·(m_j - m_control): one δ for the study's treated arms
            t_effect = tau[:, HETEROGENEITY.index("tau_effect"), None, None] ** 2
            cov = cov + t_effect * effect[:, :, None] * effect[:, None, :]
        return cov

    def _proportions(self, p_model: np.ndarray, cols: np.ndarray, tau_ae: np.ndarray) -> np.ndarray:
        """log ∫ Π_j Binom(k_j | n_j, expit(logit p_j + η)) N(η; 0, τ²) dη for one study, (k,).

        The log integrand is concave in η, so a few Newton steps find its mode μ and curvature;
        Gauss–Hermite nodes placed at μ + σ̂·z (σ̂ = curvature^(-1/2)) then integrate it."""
        p = np.clip(p_model, 1e-6, 1 - 1e-6)
        n, events = self.n[cols], self.events[cols]
        logc = special.gammaln(n + 1) - special.gammaln(events + 1) - special.gammaln(n - events + 1)
        plain = (logc + events * np.log(p) + (n - events) * np.log1p(-p)).sum(axis=1)
        if not np.any(tau_ae > 0):
            return plain
        logit = np.log(p) - np.log1p(-p)
        prec = 1.0 / np.maximum(tau_ae, 1e-6) ** 2
        mu = np.zeros(len(tau_ae))
        for _ in range(30):
            q = special.expit(logit + mu[:, None])
            grad = (events - n * q).sum(axis=1) - mu * prec
            curv = (n * q * (1 - q)).sum(axis=1) + prec
            step = np.clip(grad / curv, -2.0, 2.0)
            mu += step
            if np.all(np.abs(step) < 1e-10):
                break
        q = special.expit(logit + mu[:, None])
        sig = 1.0 / np.sqrt((n * q * (1 - q)).sum(axis=1) + prec)
        eta = mu[:, None] + sig[:, None] * _GH_NODES[None, :]  # (k, nodes)
        x = logit[:, None, :] + eta[:, :, None]  # (k, nodes, rows); log p = -softplus(-x), log(1-p) = -softplus(x)
        ll = (logc - events * np.logaddexp(0.0, -x) - (n - events) * np.logaddexp(0.0, x)).sum(axis=2)
        log_prior = -0.5 * eta ** 2 * prec[:, None] + 0.5 * np.log(prec / (2 * np.pi))[:, None]
        integral = special.logsumexp(ll + log_prior + _GH_LOG_W[None, :], axis=1) + np.log(sig)
        return np.where(tau_ae > 0, integral, plain)

    def effect(self, predicted: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray | None:
        """(k, len(cols)) the model's treatment effect m_j − m_control(j) of each row (0 for a row
        without a control: control arms, single-arm studies); None if no row of ``cols`` has one."""
        cols = np.arange(len(self.targets)) if cols is None else cols
        ctrl = self.control[cols]
        paired = ctrl >= 0
        if not paired.any():
            return None
        out = np.zeros((predicted.shape[0], len(cols)))
        out[:, paired] = predicted[:, cols[paired]] - predicted[:, ctrl[paired]]
        return out

    def new_study_variance(self, tau: np.ndarray, predicted: np.ndarray | None = None) -> np.ndarray:
        """(k, m) variance a new study adds to each score row: (τ_study² + τ_arm² + σ_row²)·scale²,
        plus (τ_arm,secondary² + σ_row,secondary²)·scale² on secondary-source rows, plus
        τ_effect²·(m_j − m_control)² on treated rows with a control, at the ``predicted`` m (k, m)."""
        tau = _padded(tau, np.atleast_2d(tau).shape[0])
        base = (tau[:, :3] ** 2).sum(axis=1)[:, None]
        extra = (tau[:, 3:5] ** 2).sum(axis=1)[:, None] * self.secondary[None, :]
        out = (base + extra) * self.scale[None, :] ** 2
        effect = None if predicted is None else self.effect(predicted)
        if effect is not None:
            out = out + tau[:, HETEROGENEITY.index("tau_effect"), None] ** 2 * effect ** 2
        return out


def _checked_sampling_corr(corr: np.ndarray | None, targets: Sequence[Target]) -> np.ndarray:
    """The (m, m) sampling correlation of the targets' statistics (identity for None), checked:
    symmetric, unit diagonal, positive semi-definite; only pairs of score rows of one arm are used."""
    m = len(targets)
    if corr is None:
        return np.eye(m)
    corr = np.asarray(corr, float)
    if corr.shape != (m, m):
        raise FieldError("sampling_corr", f"shape {corr.shape}", f"({m}, {m}): one row and column per target")
    if not (np.all(np.isfinite(corr)) and np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1.0)):
        raise FieldError("sampling_corr", "not a correlation matrix", "finite, symmetric, ones on the diagonal")
    if np.linalg.eigvalsh(corr).min() < -1e-8:
        raise FieldError("sampling_corr", f"smallest eigenvalue {np.linalg.eigvalsh(corr).min():.3g}",
                         "positive semi-definite")
    return corr


def log_likelihood(targets: Sequence[Target], predicted: np.ndarray, variance: np.ndarray,
                   sd_sim: np.ndarray, tau: np.ndarray | None = None,
                   sampling_corr: np.ndarray | None = None) -> np.ndarray:
    """Log likelihood (k,) of the published statistics at k predicted vectors (k, m);
    ``tau`` (k, len(HETEROGENEITY)) holds the heterogeneity SDs (:data:`HETEROGENEITY`, 0 for
    one left out), None for none; ``sampling_corr`` (m, m) the correlation of the sampling errors
    of rows of one arm (same patients), None for independent rows."""
    return ArmLikelihood(targets, sd_sim, sampling_corr)(predicted, variance, tau)


@dataclass
class CalibrationResult:
    priors: list[Prior]
    targets: list[Target]
    draws: pd.DataFrame  # posterior draws in parameter units
    chain_u: np.ndarray = field(repr=False)  # (steps, walkers, d) in prior-quantile space
    acceptance: float
    autocorr_steps: np.ndarray
    ess: np.ndarray
    rhat: np.ndarray
    emulator_r2: np.ndarray
    design_points: int
    #: priors of the heterogeneity SDs sampled with the parameters (empty: no random effects);
    #: their dimensions follow the parameters' in ``chain_u``, their draws are in ``tau_draws``
    heterogeneity: list[Prior] = field(default_factory=list)
    tau_draws: pd.DataFrame | None = None

    @property
    def all_priors(self) -> list[Prior]:
        return list(self.priors) + list(self.heterogeneity)

    def summary(self) -> pd.DataFrame:
        rows = []
        both = self.draws if self.tau_draws is None else pd.concat([self.draws, self.tau_draws], axis=1)
        for i, p in enumerate(self.all_priors):
            x = both[p.name].to_numpy()
            q = np.percentile(x, [5, 50, 95])
            rows.append({"parameter": p.name, "unit": p.unit, "prior": f"{p.distribution} [{p.low:g}, {p.high:g}]",
                         "mean": x.mean(), "sd": x.std(ddof=1), "q05": q[0], "median": q[1], "q95": q[2],
                         "ess": self.ess[i], "rhat": self.rhat[i], "tau_steps": self.autocorr_steps[i]})
        return pd.DataFrame(rows)


def design(priors: Sequence[Prior], n_points: int, seed: int) -> np.ndarray:
    """Latin-hypercube points in prior-quantile space, kept inside (0, 1)."""
    from scipy.stats import qmc

    sampler = qmc.LatinHypercube(len(priors), rng=np.random.default_rng(seed))
    u = sampler.random(n_points)
    return np.clip(u, 1e-4, 1 - 1e-4)


def to_parameters(priors: Sequence[Prior], u: np.ndarray) -> np.ndarray:
    return np.column_stack([p.from_unit(u[:, i]) for i, p in enumerate(priors)])


def run_design(simulator: Simulator, priors: Sequence[Prior], n_points: int, seed: int,
               work_dir: Path | None = None, chunk: int = 16,
               progress: Callable[[int, int], None] | None = None,
               common_random_numbers: bool = True, engine=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate every design point; finished chunks are kept in ``work_dir`` so a rerun resumes.

    Returns (u (k, d), mean (k, m), sd (k, m)). Each chunk is written to a temporary file and
    renamed, so a killed run never leaves a half-written chunk.

    With ``common_random_numbers`` every design point gets the same simulator seed (the same
    virtual subjects), so differences between points are the parameters' effect and not Monte
    Carlo noise the emulators would otherwise have to fit (the variance-reduction technique of
    common random numbers).

    ``engine`` (:class:`oasim.distributed.Engine`, this process by default) runs the chunks not
    yet on disk, e.g. on a local Dask cluster (``simulator`` must then pickle, as
    :class:`~oasim.calibration.fit_arms.ArmTableSimulator` does); each chunk is a function of its
    own parameters and seeds only, so the result does not depend on it.
    """
    from ..distributed import Engine

    u = design(priors, n_points, seed)
    theta = to_parameters(priors, u)
    if common_random_numbers:
        seeds = np.full(n_points, np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0] % (2**63))
    else:
        seeds = np.random.SeedSequence(seed).generate_state(n_points, dtype=np.uint64) % (2**63)
    fingerprint = _fingerprint(priors, n_points, seed, common_random_numbers, simulator)
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    bounds = [(start, min(start + chunk, n_points)) for start in range(0, n_points, chunk)]
    paths = [work_dir / f"design_{fingerprint}_{start:06d}.npz" if work_dir is not None else None
             for start, _ in bounds]
    done: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, path in enumerate(paths):
        if path is not None and path.exists():
            with np.load(path) as saved:
                done[i] = (saved["mean"], saved["sd"])
    finished = sum(bounds[i][1] - bounds[i][0] for i in done)
    if progress is not None and done:
        progress(finished, n_points)
    todo = [i for i in range(len(bounds)) if i not in done]
    items = [(theta[a:b], seeds[a:b]) for a, b in (bounds[i] for i in todo)]
    chunks = (engine or Engine()).imap(_simulate_chunk, items, shared=(simulator,)) if items else ()
    for j, (m, s) in chunks:
        i = todo[j]
        if paths[i] is not None:
            tmp = paths[i].with_suffix(".tmp.npz")
            np.savez(tmp, mean=m, sd=s)
            os.replace(tmp, paths[i])
        done[i] = (m, s)
        finished += bounds[i][1] - bounds[i][0]
        if progress is not None:
            progress(finished, n_points)
    return u, np.vstack([done[i][0] for i in range(len(bounds))]), np.vstack([done[i][1] for i in range(len(bounds))])


def _simulate_chunk(simulator: Simulator, theta: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, s = simulator(theta, seeds)
    return np.asarray(m, float), np.asarray(s, float)


def _fingerprint(priors: Sequence[Prior], n_points: int, seed: int, crn: bool, simulator=None) -> str:
    """Name of a design's chunk files: the priors, points, seed and, when the simulator has one,
    its ``fingerprint`` (what it simulates: :class:`~oasim.calibration.fit_arms.ArmTableSimulator`
    hashes its table, parameters, rows, parameter set, replicates and the oasim version), so a
    resumed run never reads chunks of another table."""
    import hashlib

    text = json.dumps([[p.name, p.distribution, p.low, p.high] for p in priors] + [n_points, seed, crn]
                      + ([simulator.fingerprint] if getattr(simulator, "fingerprint", None) else []))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def sample_posterior(emulator: Emulator, priors: Sequence[Prior], targets: Sequence[Target], seed: int,
                     n_walkers: int | None = None, n_steps: int = 3000, burn_fraction: float = 0.5,
                     n_draws: int = 2000, heterogeneity: Sequence[Prior] = (),
                     sampling_corr: np.ndarray | None = None) -> CalibrationResult:
    """Ensemble MCMC (emcee) on the emulated posterior.

    The walkers move in z = Φ⁻¹(u), where the prior is a standard normal: no hard walls at the
    prior bounds (the stretch move stalls against them when the data push a parameter to an end
    of its range). The chain is reported in u = Φ(z); the emulators are evaluated at u clipped to
    the design's range. ``heterogeneity`` holds the priors of the random-effect SDs calibrated
    (some of :data:`HETEROGENEITY`; the others are 0), sampled alongside; empty for a likelihood
    without random effects. ``sampling_corr``: see :func:`log_likelihood`.
    """
    import emcee

    d, h = len(priors), len(heterogeneity)
    names = [p.name for p in heterogeneity]
    if len(set(names)) != h or not set(names) <= set(HETEROGENEITY):
        raise CalibrationError(f"heterogeneity: {names} given, need distinct names among {HETEROGENEITY}")
    n_walkers = n_walkers or max(4 * (d + h), 16)
    rng = np.random.default_rng(seed)
    likelihood = ArmLikelihood(targets, emulator.sd_mean, sampling_corr)

    def log_prob(z):
        z = np.atleast_2d(z)
        u = np.clip(stats.norm.cdf(z), 1e-4, 1 - 1e-4)
        m, v = emulator.predict(u[:, :d])
        tau = tau_matrix(heterogeneity, u[:, d:]) if h else None
        return likelihood(m, v, tau) - 0.5 * (z * z).sum(axis=1)

    # differential-evolution proposals (ter Braak 2006; ter Braak & Vrugt 2008, snooker) mixed as
    # in emcee's guide to moves: the default stretch move mixed slowly between the modes of the
    # potency-flare trade-off (split R-hat up to 1.29 after 6000 steps on the bundled table)
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(n_walkers, d + h, log_prob, vectorize=True, moves=moves)
    # emcee draws from a legacy RandomState; seed it from this run's Generator
    sampler.random_state = np.random.RandomState(np.random.MT19937(int(rng.integers(2**32)))).get_state()
    start = rng.normal(0.0, 0.5, size=(n_walkers, d + h))
    with one_blas_thread():
        sampler.run_mcmc(start, n_steps, progress=False)
    burn = int(n_steps * burn_fraction)
    chain = stats.norm.cdf(sampler.get_chain(discard=burn))  # (steps, walkers, d + h) in u
    tau = sampler.get_autocorr_time(discard=burn, quiet=True)
    n_kept = chain.shape[0] * chain.shape[1]
    ess = n_kept / np.maximum(tau, 1.0)
    rhat = _split_rhat(chain)
    flat = chain.reshape(-1, d + h)
    pick = rng.choice(len(flat), size=min(n_draws, len(flat)), replace=False)
    draws = pd.DataFrame(to_parameters(priors, flat[pick, :d]), columns=[p.name for p in priors])
    tau_draws = (pd.DataFrame(to_parameters(heterogeneity, flat[pick, d:]), columns=[p.name for p in heterogeneity])
                 if h else None)
    return CalibrationResult(list(priors), list(targets), draws, chain, float(np.mean(sampler.acceptance_fraction)),
                             tau, ess, rhat, emulator.holdout_r2, 0, list(heterogeneity), tau_draws)


def _new_study_draws(emulator: Emulator, chain_u: np.ndarray, targets: Sequence[Target],
                     heterogeneity: Sequence[Prior], seed: int, n_draws: int,
                     sampling_corr: np.ndarray | None = None):
    """Posterior draws for a new study: (rng, emulated means m and variances v at n_draws picked
    posterior parameter vectors, the likelihood of ``targets``, τ at the same draws, the variance
    the new study's random effects add). The rng is returned to draw on from."""
    rng = np.random.default_rng(seed)
    h = len(heterogeneity)
    d = chain_u.shape[-1] - h
    flat = chain_u.reshape(-1, d + h)
    pick = rng.choice(len(flat), size=min(n_draws, len(flat)), replace=False)
    m, v = emulator.predict(flat[pick, :d])
    likelihood = ArmLikelihood(targets, emulator.sd_mean, sampling_corr)
    tau = tau_matrix(heterogeneity, flat[pick, d:]) if h else np.zeros((len(pick), len(HETEROGENEITY)))
    return rng, m, v, likelihood, tau, likelihood.new_study_variance(tau, m)


def predictive_draws(emulator: Emulator, chain_u: np.ndarray, targets: Sequence[Target],
                     heterogeneity: Sequence[Prior], seed: int, n_draws: int = 1000) -> np.ndarray:
    """(n_draws, m) statistics of a *new* study run with each target's arm design: posterior
    parameter draws through the emulators (mean and variance), the new study's random effects
    at posterior τ draws (score rows on their scale, AE proportions on the log-odds), and the
    arm's own sampling error (binomial for proportions)."""
    rng, m, v, likelihood, tau, extra = _new_study_draws(emulator, chain_u, targets, heterogeneity, seed, n_draws)
    sim = m + rng.normal(size=m.shape) * np.sqrt(v + extra + likelihood.se_obs ** 2)
    # a score statistic stays on its instrument: [0, max] for a mean or median, [-max, max] for a change
    for j, t in enumerate(targets):
        if t.scale is not None and not likelihood.prop[j]:
            sim[:, j] = np.clip(sim[:, j], *instrument_bounds(t.statistic, t.scale))
    prop = likelihood.prop
    if prop.any():
        p = np.clip(m, 1e-9, 1 - 1e-9)
        tau_ae = tau[:, HETEROGENEITY.index("tau_ae_logit")]
        for cols in likelihood.prop_groups:  # the new study's AE log-odds shift, one per study and draw
            eta = rng.normal(size=len(m)) * tau_ae
            p[:, cols] = special.expit(special.logit(p[:, cols]) + eta[:, None])
        sim[:, prop] = rng.binomial(likelihood.n[prop].astype(int), p[:, prop]) / likelihood.n[prop]
    return sim


def anchored_predictive_draws(emulator: Emulator, chain_u: np.ndarray, targets: Sequence[Target],
                              heterogeneity: Sequence[Prior], seed: int, n_draws: int = 1000,
                              sampling_corr: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Predictions of a new study's treated follow-up rows *given its anchor rows*: (draws
    (n_draws, m), NaN in every other column; effective sample size of the reweighting per study).

    A study's anchors are the follow-up rows of its control arms (the arms its treated rows are
    paired with), which a trial observes without the treatment (baselines are not targets: the
    replay starts each arm at its published baseline). Given those,
    the study's random effects are partly known, and what is left to predict is the treatment
    effect. Per study block, with the rows' joint normal of the likelihood (mean m(θ), covariance
    C(θ, τ) of :meth:`ArmLikelihood.block_covariance`; the treatment-effect term has Δ = 0 on
    anchors, so they say nothing about δ):

    1. the posterior draws (θ, τ) fitted without the study are reweighted by the anchors'
       likelihood N(y_A; m_A, C_AA), which is Bayes' rule for adding the anchors to the fit
       (the study's rows are independent of the other studies given θ and τ), and resampled;
    2. each resampled draw gives a treated-row vector from the conditional normal
       N(m_T + C_TA C_AA⁻¹(y_A − m_A), C_TT − C_TA C_AA⁻¹ C_AT), clipped to the instrument.

    Studies without both anchors and treated rows, and treated rows without a control, give NaN
    columns; a study without both has no ESS entry. Used by
    the leave-one-study-out check to split a new study's interval into what its control arm
    would have told (the between-study and placebo-response heterogeneity) and what it would
    not (the treatment effect)."""
    rng, m, v, likelihood, tau, _ = _new_study_draws(emulator, chain_u, targets, heterogeneity, seed, n_draws,
                                                     sampling_corr)
    k = len(m)
    out = np.full((k, len(targets)), np.nan)
    ess = {}
    for b, (cols, *_rest) in enumerate(likelihood.blocks):
        ctrl = likelihood.control[cols]
        treated = ctrl >= 0
        control_arms = {targets[c].arm for c in ctrl[treated]}
        anchor = np.array([targets[j].arm in control_arms for j in cols]) & ~treated
        if not treated.any() or not anchor.any():
            continue
        ia, it = np.flatnonzero(anchor), np.flatnonzero(treated)
        a, t = cols[ia], cols[it]
        cov = likelihood.block_covariance(b, m, v, tau)
        c_aa = cov[:, ia[:, None], ia[None, :]]
        c_ta = cov[:, it[:, None], ia[None, :]]
        c_tt = cov[:, it[:, None], it[None, :]]
        chol = np.linalg.cholesky(c_aa)
        resid = likelihood.value[a] - m[:, a]
        w = np.linalg.solve(chol, resid[:, :, None])[:, :, 0]
        log_w = -np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1) - 0.5 * (w * w).sum(axis=1)
        weight = np.exp(log_w - log_w.max())
        weight /= weight.sum()
        ess[targets[cols[0]].study] = float(1.0 / np.sum(weight ** 2))
        # C_TA C_AA⁻¹ through the Cholesky factor: K = (L⁻¹ C_AT)ᵀ L⁻¹
        half = np.linalg.solve(chol, np.swapaxes(c_ta, 1, 2))  # (k, a, t) = L⁻¹ C_AT
        mean = m[:, t] + np.einsum("kat,ka->kt", half, w)
        var = c_tt - np.einsum("kat,kau->ktu", half, half)
        pick = rng.choice(k, size=k, p=weight)
        jitter = 1e-12 * np.outer(likelihood.scale[t], likelihood.scale[t]) * np.eye(len(t))
        z = np.linalg.cholesky(var[pick] + jitter) @ rng.normal(size=(k, len(t), 1))
        sim = mean[pick] + z[:, :, 0]
        for i, j in enumerate(t):
            sim[:, i] = np.clip(sim[:, i], *instrument_bounds(targets[j].statistic, targets[j].scale))
        out[:, t] = sim
    return out, ess


def predictive_variance_parts(emulator: Emulator, chain_u: np.ndarray, targets: Sequence[Target],
                              heterogeneity: Sequence[Prior], seed: int, n_draws: int = 1000) -> pd.DataFrame:
    """Where the width of each score row's new-study predictive interval comes from (proportions: NaN).

    The predictive draws of :func:`predictive_draws` are ``m(θ) + e``, with ``e`` normal of
    variance ``v_emulator(θ) + v_new_study(τ) + se_obs²`` given a posterior draw; by the law of
    total variance their variance (before the clip to the instrument) is the sum of

    * ``var_parameters`` = Var over posterior draws of the emulated statistic ``m(θ)``;
    * ``var_emulator`` = mean emulator variance (the GP's uncertainty about the simulator);
    * ``var_new_study`` = mean of (τ_study² + τ_arm² + σ_row² [+ secondary SDs²])·scale²;
    * ``var_sampling`` = se_obs², the arm's own sampling variance (the trial's CI is ±1.96·se_obs).

    ``floor_width_ratio`` = √((var_new_study + var_sampling) / var_sampling): the width ratio a
    model with exactly known parameters and a perfect emulator would still have, given the fitted
    between-study heterogeneity. Same posterior draws as :func:`predictive_draws` with this seed.
    """
    rng, m, v, likelihood, tau, extra = _new_study_draws(emulator, chain_u, targets, heterogeneity, seed, n_draws)
    score = ~likelihood.prop
    nan = np.full(len(targets), np.nan)
    parts = pd.DataFrame({
        "var_parameters": np.where(score, m.var(axis=0), nan),
        "var_emulator": np.where(score, v.mean(axis=0), nan),
        "var_new_study": np.where(score, extra.mean(axis=0), nan),
        "var_sampling": np.where(score, likelihood.se_obs ** 2, nan),
    })
    parts["floor_width_ratio"] = np.sqrt((parts.var_new_study + parts.var_sampling) / parts.var_sampling)
    return parts


def _split_rhat(chain: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (Vehtari et al. 2021) with walkers as chains, via ArviZ."""
    import arviz as az

    return np.array([float(az.rhat(np.ascontiguousarray(chain[:, :, i].T))) for i in range(chain.shape[2])])
