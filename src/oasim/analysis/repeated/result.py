"""MMRM result object: coefficients, LS means by visit, treatment contrasts and F tests.

LS means average the model over class covariates with equal weights and hold numeric
covariates (baseline) at their mean over the analysed rows, as SAS ``LSMEANS`` and R
``emmeans`` do. Every contrast uses the fit's df method: Satterthwaite with the model-based
covariance Φ, or Kenward–Roger with the adjusted covariance Φ_A.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from oasim.analysis._common import level_text, make_summary
from oasim.analysis._lsmeans import is_categorical, lsmean_matrix
from oasim.analysis.repeated.dof import (kenward_roger_covariance, kenward_roger_test, satterthwaite_df,
                                     satterthwaite_test)

__all__ = ["MmrmFit", "MmrmResult", "build_result"]


@dataclass(frozen=True, eq=False)
class MmrmFit:
    """Internal state of a converged fit (the analogue of a statsmodels results instance)."""

    data: pd.DataFrame
    design_info: object
    coef_names: list
    structure: object
    phi: np.ndarray
    sigma: np.ndarray
    evaluation: object
    info: object
    report: object
    n_subjects: int
    n_obs: int
    n_patterns: int

    @property
    def beta(self) -> np.ndarray:
        return self.evaluation.beta

    @property
    def beta_cov(self) -> np.ndarray:
        return self.evaluation.beta_cov


@dataclass(frozen=True, eq=False)
class MmrmResult:
    """REML fit of an MMRM with small-sample inference.

    Attributes
    ----------
    model_result : MmrmFit
        Raw fit state (β̂, Φ, covariance parameters, information matrices, optimiser report).
    coefficients : DataFrame
        ``estimate``, ``se``, ``df``, ``t``, ``p_value``, ``ci_lower``, ``ci_upper`` per column of X.
    lsmeans : DataFrame
        One row per (visit, arm).
    contrasts : DataFrame
        Arm minus control at each visit.
    tests : DataFrame
        F tests: treatment (averaged over visits; SAS type 3 for the arm effect) and
        treatment × visit.
    covariance : DataFrame
        Estimated visit-by-visit residual covariance.
    covariance_parameters : DataFrame
        SAS-named covariance parameters with asymptotic SEs.
    neg2_reml_loglik : float
        −2 REML log-likelihood including the constant (as SAS prints it).
    """

    model_result: MmrmFit = field(repr=False)
    coefficients: pd.DataFrame = field(repr=False)
    lsmeans: pd.DataFrame = field(repr=False)
    contrasts: pd.DataFrame = field(repr=False)
    tests: pd.DataFrame = field(repr=False)
    covariance: pd.DataFrame = field(repr=False)
    covariance_parameters: pd.DataFrame = field(repr=False)
    neg2_reml_loglik: float
    covariance_structure: str
    df_method: str
    formula: str
    n_subjects: int
    n_obs: int
    alpha: float
    fit_seconds: float
    inputs_hash: str
    beta_cov_used: np.ndarray = field(repr=False)

    @cached_property
    def aic(self) -> float:
        """SAS AIC: −2ℓ_R + 2 (number of covariance parameters)."""
        return self.neg2_reml_loglik + 2 * len(self.model_result.phi)

    @cached_property
    def bic(self) -> float:
        """SAS BIC: −2ℓ_R + q log(number of subjects)."""
        return self.neg2_reml_loglik + len(self.model_result.phi) * np.log(self.n_subjects)

    def contrast(self, weights, label: str = "contrast") -> pd.DataFrame:
        """Estimate, SE, df, t, p and CI of the one-row contrast ``weights @ beta``."""
        return _contrast_rows(self.model_result, np.atleast_2d(np.asarray(weights, float)), [label],
                              self.df_method, self.beta_cov_used, self.alpha)

    def test(self, weights) -> dict:
        """F test of ``weights @ beta = 0`` (rows are contrasts) with the fit's df method."""
        return _f_test(self.model_result, np.atleast_2d(np.asarray(weights, float)), self.df_method,
                       self.beta_cov_used)

    def to_frame(self) -> pd.DataFrame:
        """LS means and treatment contrasts in one long table (``kind`` column)."""
        return pd.concat([self.lsmeans.assign(kind="lsmean"), self.contrasts.assign(kind="contrast")],
                         ignore_index=True)

    def summary(self):
        """Printable summary (text and HTML)."""
        report = self.model_result.report
        info = {
            "Covariance": self.covariance_structure, "DF method": self.df_method,
            "CI level": f"{level_text(self.alpha)} (two-sided, t)",
            "Subjects / obs": f"{self.n_subjects} / {self.n_obs}",
            "-2 REML logLik": f"{self.neg2_reml_loglik:.4f}", "AIC / BIC": f"{self.aic:.1f} / {self.bic:.1f}",
            "Optimiser": f"{'+'.join(report.methods)}, |grad| {report.gradient_norm:.1e}",
            "Fit time": f"{self.fit_seconds:.2f} s", "Inputs hash": self.inputs_hash[:16],
        }
        tables = {"Fixed effects": self.coefficients, "LS means": self.lsmeans.set_index(["visit", "arm"]),
                  "Treatment contrasts": self.contrasts.set_index(["visit", "arm"]),
                  "F tests": self.tests, "Covariance parameters": self.covariance_parameters}
        return make_summary(f"MMRM (REML, {self.covariance_structure})", tables, info)


def _one_contrast(fit: MmrmFit, row: np.ndarray, df_method: str, beta_cov_used: np.ndarray):
    estimate = float(row @ fit.beta)
    se = float(np.sqrt(row @ beta_cov_used @ row))
    if df_method == "satterthwaite":
        dof = satterthwaite_df(row, fit.beta_cov, fit.info)
    elif df_method.startswith("kenward"):
        dof = kenward_roger_test(row, fit.beta, fit.beta_cov, beta_cov_used, fit.info)[2]
    else:
        dof = float(fit.n_obs - len(fit.beta))
    return estimate, se, dof


def _contrast_rows(fit, rows, labels, df_method, beta_cov_used, alpha) -> pd.DataFrame:
    records = []
    for row in rows:
        estimate, se, dof = _one_contrast(fit, row, df_method, beta_cov_used)
        t_value = estimate / se
        half = stats.t.ppf(1 - alpha / 2, dof) * se
        records.append({"estimate": estimate, "se": se, "df": dof, "t": t_value,
                        "p_value": 2 * stats.t.sf(abs(t_value), dof),
                        "ci_lower": estimate - half, "ci_upper": estimate + half})
    return pd.DataFrame(records, index=pd.Index(labels))


def _f_test(fit, rows, df_method, beta_cov_used) -> dict:
    if df_method.startswith("kenward"):
        f_stat, num_df, den_df, scale = kenward_roger_test(rows, fit.beta, fit.beta_cov, beta_cov_used, fit.info)
    elif df_method == "satterthwaite":
        f_stat, num_df, den_df = satterthwaite_test(rows, fit.beta, fit.beta_cov, fit.info)
    else:
        f_stat, num_df, _ = satterthwaite_test(rows, fit.beta, fit.beta_cov, fit.info)
        den_df = float(fit.n_obs - len(fit.beta))
    p_value = float(stats.f.sf(f_stat, num_df, den_df)) if num_df else np.nan
    return {"num_df": num_df, "den_df": den_df, "F": f_stat, "p_value": p_value}


def build_result(fit: MmrmFit, *, response, treatment, visit, baseline, covariates, control, arms, visits,
                 df_method, alpha, formula, inputs_hash, started) -> MmrmResult:
    """Assemble tables from a converged :class:`MmrmFit`."""
    linear = df_method == "kenward-roger-linear"
    beta_cov_used = (kenward_roger_covariance(fit.beta_cov, fit.info, linear=linear)
                     if df_method.startswith("kenward") else fit.beta_cov)
    eye = np.eye(len(fit.beta))
    coefficients = _contrast_rows(fit, eye, fit.coef_names, df_method, beta_cov_used, alpha)

    data = fit.data
    averaged = [c for c in covariates if is_categorical(data[c])]
    numeric = [c for c in [baseline, *covariates] if c is not None and not is_categorical(data[c])]
    grid, rows = lsmean_matrix(fit.design_info, data, {visit: visits, treatment: arms}, averaged, numeric,
                               fixed={response: 0.0})
    lsmeans = _contrast_rows(fit, rows, list(range(len(rows))), df_method, beta_cov_used, alpha)
    lsmeans.insert(0, "arm", grid[treatment].to_numpy())
    lsmeans.insert(0, "visit", grid[visit].to_numpy())
    lsmeans = lsmeans.reset_index(drop=True)

    position = {(v, a): k for k, (v, a) in enumerate(zip(grid[visit], grid[treatment]))}
    others = [a for a in arms if a != control]
    diff_rows, labels = [], []
    for v in visits:
        for a in others:
            diff_rows.append(rows[position[(v, a)]] - rows[position[(v, control)]])
            labels.append((v, a))
    contrasts = pd.DataFrame()
    tests = pd.DataFrame()
    if diff_rows:
        contrasts = _contrast_rows(fit, np.array(diff_rows), list(range(len(labels))), df_method,
                                   beta_cov_used, alpha).reset_index(drop=True)
        contrasts.insert(0, "arm", [a for _, a in labels])
        contrasts.insert(0, "visit", [v for v, _ in labels])
        diffs = np.array(diff_rows).reshape(len(visits), len(others), -1)
        overall = diffs.mean(axis=0)
        test_rows = {treatment: _f_test(fit, overall, df_method, beta_cov_used)}
        if len(visits) > 1:
            interaction = (diffs[1:] - diffs[:1]).reshape(-1, diffs.shape[-1])
            test_rows[f"{treatment}:{visit}"] = _f_test(fit, interaction, df_method, beta_cov_used)
        tests = pd.DataFrame.from_dict(test_rows, orient="index")

    covariance = pd.DataFrame(fit.sigma, index=visits, columns=visits)
    names = fit.structure.param_names()
    covariance_parameters = pd.DataFrame({"estimate": fit.phi, "se": np.sqrt(np.clip(np.diag(fit.info.W), 0, None))},
                                         index=names)
    return MmrmResult(
        model_result=fit, coefficients=coefficients, lsmeans=lsmeans, contrasts=contrasts, tests=tests,
        covariance=covariance, covariance_parameters=covariance_parameters,
        neg2_reml_loglik=float(fit.evaluation.neg2_loglik), covariance_structure=fit.structure.name,
        df_method=df_method, formula=formula, n_subjects=fit.n_subjects, n_obs=fit.n_obs, alpha=alpha,
        fit_seconds=time.perf_counter() - started, inputs_hash=inputs_hash, beta_cov_used=beta_cov_used,
    )
