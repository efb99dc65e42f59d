"""The public :func:`mmrm` entry point: design matrices, starting values, fit, inference.

Mixed model for repeated measures (Mallinckrodt et al. 2008, Drug Inf J 42:303): fixed effects
treatment × visit, baseline × visit and further covariates, an unstructured (or structured)
residual covariance across visits within subject, REML estimation, and small-sample
Satterthwaite or Kenward–Roger inference. Validated against SAS PROC MIXED and R ``mmrm`` on
``fev_data`` (see ``tests/analysis/data``). Not covered: random effects beyond the residual
covariance, group-specific covariances, weights, empirical (sandwich) covariance.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import patsy

from oasim.analysis._common import inputs_hash, require_columns, require_levels
from oasim.analysis._lsmeans import is_categorical, levels_of
from oasim.analysis.repeated.covariance import STRUCTURES, get_structure
from oasim.analysis.repeated.information import compute_information
from oasim.analysis.repeated.likelihood import RepeatedData, evaluate_reml
from oasim.analysis.repeated.optimise import OptimisationReport, minimise_reml
from oasim.analysis.repeated.result import MmrmFit, MmrmResult, build_result
from oasim.errors import FieldError

__all__ = ["mmrm"]

DF_METHODS = ("satterthwaite", "kenward-roger", "kenward-roger-linear", "residual")


def _q(name: str) -> str:
    return f"Q({name!r})"


def mmrm(
    df: pd.DataFrame,
    response: str = "CHG",
    treatment: str = "TRT01P",
    visit: str = "AVISIT",
    subject: str = "USUBJID",
    baseline: str | None = "BASE",
    covariates: tuple[str, ...] | list[str] = (),
    covariance: str = "us",
    df_method: str = "kenward-roger",
    control: object | None = None,
    baseline_by_visit: bool = True,
    formula: str | None = None,
    alpha: float = 0.05,
    covariance_parameters=None,
) -> MmrmResult:
    """Fit a mixed model for repeated measures by REML.

    Parameters
    ----------
    df : DataFrame
        Long format, one row per subject and post-baseline visit (ADaM BDS-like). Columns:
        ``subject`` (e.g. ``USUBJID``), ``visit`` (e.g. ``AVISIT``; a pandas Categorical fixes
        the visit order, otherwise sorted), ``treatment`` (arm, e.g. ``TRT01P``), ``response``
        (numeric, e.g. ``CHG``; missing values are allowed and are not imputed: the subject's
        observed visits enter the likelihood, which is valid under MAR), ``baseline`` (numeric,
        e.g. ``BASE``) and ``covariates``. Rows with a missing covariate are dropped.
    response, treatment, visit, subject, baseline : str
        Column names; ``baseline=None`` fits no baseline term.
    covariates : sequence of str
        Further covariates; string/categorical columns are class variables.
    covariance : {"us", "toeph", "ar1h", "cs"}
        Residual covariance: unstructured, heterogeneous Toeplitz, heterogeneous AR(1),
        compound symmetry (SAS ``TYPE=UN|TOEPH|ARH(1)|CS``).
    df_method : {"kenward-roger", "satterthwaite", "kenward-roger-linear", "residual"}
        Denominator degrees of freedom; Kenward–Roger also uses the adjusted covariance of β̂
        (SAS ``DDFM=KR``). "residual" uses N − rank(X).
    control : object, optional
        Comparator arm (default: first level of ``treatment``).
    baseline_by_visit : bool
        Include baseline × visit (default, the usual MMRM) or only a baseline main effect.
    formula : str, optional
        Right-hand side of the fixed effects in patsy syntax, replacing the default
        ``treatment * visit + baseline * visit + covariates`` (e.g. ``"RACE + SEX + ARMCD * AVISIT"``).
    alpha : float
        Confidence intervals are ``1 - alpha`` two-sided.
    covariance_parameters : sequence of float, optional
        Fix the covariance parameters at these values (SAS order and parameterisation, see
        :mod:`oasim.analysis.repeated.covariance`) instead of estimating them, like SAS
        ``PARMS ... / NOITER``; inference is then conditional on them.

    Returns
    -------
    MmrmResult

    Raises
    ------
    FieldError
        Bad columns, options, too few subjects, or a rank-deficient design.
    ConvergenceError
        The REML fit did not converge with any optimiser.
    """
    covariates = list(covariates)
    require_columns(df, [response, treatment, visit, subject, baseline, *covariates])
    if covariance not in STRUCTURES:
        raise FieldError("covariance", covariance, f"one of {STRUCTURES}")
    if df_method not in DF_METHODS:
        raise FieldError("df_method", df_method, f"one of {DF_METHODS}")
    if not 0 < alpha < 1:
        raise FieldError("alpha", alpha, "0 < alpha < 1")
    started = time.perf_counter()
    used = [c for c in dict.fromkeys([subject, visit, treatment, response, baseline, *covariates]) if c]
    data = df[used].dropna().copy()
    for name in (visit, treatment):
        if not isinstance(data[name].dtype, pd.CategoricalDtype):
            data[name] = pd.Categorical(data[name], categories=levels_of(df[name]))
    data[visit] = data[visit].cat.remove_unused_categories()
    data[treatment] = data[treatment].cat.remove_unused_categories()
    visits, arms = list(data[visit].cat.categories), list(data[treatment].cat.categories)
    control = arms[0] if control is None else control
    require_levels(data, treatment, [control])
    if data[[subject, visit]].duplicated().any():
        raise FieldError(f"df.{visit}", "duplicate", f"one row per {subject} and {visit}")
    n_subjects = data[subject].nunique()
    if n_subjects < 3 or len(arms) < 1:
        raise FieldError(f"df.{subject}", n_subjects, "at least 3 subjects with a non-missing response")

    if formula is None:
        categorical = {c: is_categorical(data[c]) for c in covariates}
        trt_term = f"C({_q(treatment)}, Treatment({control!r}))" if len(arms) > 1 else None
        visit_term = f"C({_q(visit)})"
        terms = [f"{trt_term} * {visit_term}" if trt_term else visit_term]
        if baseline is not None:
            terms.append(f"{_q(baseline)} * {visit_term}" if baseline_by_visit else _q(baseline))
        terms += [f"C({_q(c)})" if categorical[c] else _q(c) for c in covariates]
        formula = " + ".join(terms)
    design_frame = patsy.dmatrix(formula, data, return_type="dataframe", NA_action="raise")
    design = design_frame.to_numpy(float)
    rank = np.linalg.matrix_rank(design)
    if rank < design.shape[1]:
        raise FieldError("formula", formula, f"a full-rank design; rank {rank} < {design.shape[1]} columns "
                         "(an arm-by-visit cell without data?)")
    subject_codes, subject_labels = pd.factorize(data[subject])
    visit_codes = data[visit].cat.codes.to_numpy()
    repeated = RepeatedData.from_long(design, data[response].to_numpy(float), subject_codes,
                                      visit_codes, np.asarray(subject_labels), len(visits))
    structure = get_structure(covariance, len(visits))

    def objective(theta):
        sigma, jac = structure.sigma_and_jacobian(theta)
        evaluation = evaluate_reml(sigma, repeated)
        return evaluation.neg2_loglik, np.einsum("kab,ab->k", jac, evaluation.gradient_matrix)

    if covariance_parameters is None:
        start = structure.start(_moment_covariance(design, data, response, visit_codes, subject_codes,
                                                   len(visits)))
        report = minimise_reml(objective, start)
        phi = structure.natural(report.theta)
    else:
        phi = np.asarray(covariance_parameters, dtype=float)
        if phi.shape != (structure.n_params,):
            raise FieldError("covariance_parameters", list(phi), f"{structure.n_params} values "
                             f"({', '.join(structure.param_names())})")
        report = OptimisationReport(theta=phi, neg2_loglik=np.nan, gradient_norm=np.nan,
                                    methods=("fixed",), n_evaluations=0)
    sigma, d1, d2 = structure.natural_derivatives(phi, second=covariance in ("toeph", "ar1h"))
    evaluation = evaluate_reml(sigma, repeated, with_gradient=False)
    info = compute_information(evaluation, repeated, d1, d2)
    fit = MmrmFit(
        data=data, design_info=design_frame.design_info, coef_names=list(design_frame.columns),
        structure=structure, phi=phi, sigma=sigma, evaluation=evaluation, info=info,
        report=report, n_subjects=n_subjects, n_obs=repeated.n_obs,
        n_patterns=len(repeated.patterns),
    )
    digest = inputs_hash(data, used, covariance=covariance, df_method=df_method, control=control,
                         formula=formula, alpha=alpha, model="mmrm")
    return build_result(fit, response=response, treatment=treatment, visit=visit, baseline=baseline,
                        covariates=covariates, control=control, arms=arms, visits=visits,
                        df_method=df_method, alpha=alpha, formula=formula, inputs_hash=digest,
                        started=started)


def _moment_covariance(design, data, response, visit_codes, subject_codes, n_visits) -> np.ndarray:
    """Pairwise-complete covariance of OLS residuals, repaired to be positive definite."""
    beta, *_ = np.linalg.lstsq(design, data[response].to_numpy(float), rcond=None)
    resid = data[response].to_numpy(float) - design @ beta
    wide = pd.DataFrame({"s": subject_codes, "v": visit_codes, "r": resid}).pivot(index="s", columns="v", values="r")
    wide = wide.reindex(columns=range(n_visits))
    cov = wide.cov(min_periods=3).to_numpy()
    variances = np.diag(cov)
    fallback = np.nanmean(variances) if np.any(np.isfinite(variances)) else float(np.var(resid)) or 1.0
    variances = np.where(np.isfinite(variances) & (variances > 0), variances, fallback)
    cov = np.where(np.isfinite(cov), cov, 0.0)
    np.fill_diagonal(cov, variances)
    eigval, eigvec = np.linalg.eigh(cov)
    eigval = np.maximum(eigval, 0.05 * eigval.max())
    return eigvec @ np.diag(eigval) @ eigvec.T
