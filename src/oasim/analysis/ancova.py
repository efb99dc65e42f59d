"""ANCOVA of a continuous endpoint on treatment with baseline as covariate (SAS PROC GLM style).

The model is ordinary least squares fitted by :mod:`statsmodels` (no hand-written algebra):
``response ~ treatment + baseline + covariates`` with sum-to-zero coding of every class
variable, so that ``anova_lm(typ=3)`` gives SAS type III sums of squares. LS means per arm and
differences versus the control arm come from ``t_test`` on LS-mean coefficient vectors. Checked
against the SAS GLM "Analysis of Covariance" example (Snedecor & Cochran 1967 leprosy data).
Not covered: treatment-by-covariate interactions (test them separately), heteroscedastic errors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from patsy.contrasts import Sum

from oasim.analysis._common import inputs_hash, level_text, make_summary, require_columns, require_levels
from oasim.analysis._lsmeans import is_categorical, levels_of, lsmean_matrix
from oasim.errors import FieldError

__all__ = ["AncovaResult", "ancova", "ancova_differences"]


def _term(name: str, categorical: bool) -> str:
    quoted = f"Q({name!r})"
    return f"C({quoted}, Sum)" if categorical else quoted


@dataclass(frozen=True, eq=False)
class AncovaResult:
    """ANCOVA fit with LS means, differences versus control and the type III table.

    Attributes
    ----------
    model_result : statsmodels RegressionResults
        The raw OLS fit.
    lsmeans : DataFrame
        Per arm: ``estimate``, ``se``, ``df``, ``ci_lower``, ``ci_upper``.
    differences : DataFrame
        Per non-control arm, arm minus control: ``estimate``, ``se``, ``df``, ``t``,
        ``p_value``, ``ci_lower``, ``ci_upper``.
    type3 : DataFrame
        Type III sums of squares, F tests.
    n_subjects : int
        Rows analysed (rows with any missing model variable are dropped).
    alpha : float
        The confidence intervals are two-sided at level ``1 - alpha`` (:attr:`ci_level`).
    inputs_hash : str
        SHA-256 of the analysed columns and settings.
    """

    model_result: object = field(repr=False)
    lsmeans: pd.DataFrame = field(repr=False)
    differences: pd.DataFrame = field(repr=False)
    type3: pd.DataFrame = field(repr=False)
    response: str
    treatment: str
    control: object
    n_subjects: int
    alpha: float
    inputs_hash: str

    @cached_property
    def estimate(self) -> pd.Series:
        """Differences versus control (arm minus control)."""
        return self.differences["estimate"]

    @cached_property
    def ci(self) -> pd.DataFrame:
        """Two-sided confidence limits of the differences, ``ci_lower`` and ``ci_upper``, at
        level :attr:`ci_level` (``1 - alpha``)."""
        return self.differences[["ci_lower", "ci_upper"]]

    @property
    def ci_level(self) -> float:
        """Two-sided confidence level of every interval of the result: ``1 - alpha``."""
        return 1 - self.alpha

    @property
    def ci_95(self) -> pd.DataFrame:
        """Deprecated: :attr:`ci` under a name that said 95 % whatever ``alpha`` was (the limits
        are, and always were, at ``1 - alpha``). Warns and returns :attr:`ci`."""
        warnings.warn("AncovaResult.ci_95 is deprecated: use AncovaResult.ci (limits at ci_level = 1 - alpha, "
                      "which is 0.95 only at alpha 0.05)", DeprecationWarning, stacklevel=2)
        return self.ci

    @cached_property
    def p_value(self) -> pd.Series:
        """Two-sided p-values of the differences."""
        return self.differences["p_value"]

    def to_frame(self) -> pd.DataFrame:
        """LS means and differences in one long table (``kind`` = lsmean | difference)."""
        lsm = self.lsmeans.assign(kind="lsmean")
        diff = self.differences.assign(kind="difference")
        return pd.concat([lsm, diff]).reset_index(names="term")

    def summary(self):
        """Printable summary (statsmodels ``Summary``: ``print()`` or HTML in notebooks)."""
        info = {
            "Response": self.response, "Treatment": self.treatment, "Control": self.control,
            "N": self.n_subjects, "Root MSE": f"{np.sqrt(self.model_result.mse_resid):.6g}",
            "CI level": f"{level_text(self.alpha)} (two-sided, t)",
            "Inputs hash": self.inputs_hash[:16],
        }
        tables = {
            "Type III tests": self.type3,
            "LS means": self.lsmeans,
            f"Differences vs {self.control}": self.differences,
        }
        return make_summary("ANCOVA (OLS, type III)", tables, info)


def ancova(
    df: pd.DataFrame,
    response: str = "CHG",
    treatment: str = "TRT01P",
    baseline: str | None = "BASE",
    control: object = "Placebo",
    covariates: tuple[str, ...] | list[str] = (),
    alpha: float = 0.05,
) -> AncovaResult:
    """Fit an ANCOVA of ``response`` on ``treatment``, adjusting for ``baseline`` and covariates.

    Parameters
    ----------
    df : DataFrame
        One row per subject (e.g. ADaM ADEFF at the analysis visit). Columns: ``response``
        (numeric; e.g. ``CHG`` change from baseline or ``AVAL``), ``treatment`` (arm label, e.g.
        ``TRT01P``), ``baseline`` (numeric, e.g. ``BASE``) and any ``covariates`` (numeric or
        class). Rows with a missing model variable are dropped.
    response, treatment, baseline : str
        Column names; ``baseline=None`` fits an ANOVA.
    control : object
        Level of ``treatment`` that is the comparator.
    covariates : sequence of str
        Further covariates; string/categorical/bool columns are class variables (LS means
        average over their levels with equal weights, as SAS does).
    alpha : float
        Confidence intervals are ``1 - alpha`` two-sided.

    Returns
    -------
    AncovaResult

    Raises
    ------
    FieldError
        Missing column, absent control arm, fewer than two arms, or no residual degrees of freedom.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"TRT01P": ["Placebo", "Placebo", "Placebo", "MSC", "MSC", "MSC"],
    ...                    "BASE": [60., 55., 70., 62., 58., 66.], "CHG": [-5., -2., -8., -15., -12., -18.]})
    >>> res = ancova(df)
    >>> round(float(res.estimate["MSC"]), 3)
    -9.845
    """
    covariates = list(covariates)
    used = [response, treatment, baseline, *covariates]
    data, arms, categorical = _analysed_rows(df, response, treatment, baseline, covariates, control, alpha)
    rhs = [_term(treatment, True)]
    if baseline is not None:
        rhs.append(_term(baseline, False))
    rhs += [_term(c, categorical[c]) for c in covariates]
    formula = f"Q({response!r}) ~ " + " + ".join(rhs)
    fit = _with_residual_df(smf.ols(formula, data=data).fit(), len(data))

    numeric = [c for c in [baseline, *covariates] if c is not None and not categorical.get(c, False)]
    averaged = [c for c in covariates if categorical[c]]
    grid, lsm_rows = lsmean_matrix(
        _design_info(fit), data, {treatment: arms}, averaged, numeric, fixed={response: 0.0}
    )
    lsmeans = _contrast_table(fit, lsm_rows, grid[treatment].tolist(), alpha, with_test=False)
    differences = _differences(fit, lsm_rows, arms, control, alpha)

    type3 = sm.stats.anova_lm(fit, typ=3).drop(index="Intercept")
    type3.index = [_pretty_term(str(t), [treatment, baseline, *covariates]) for t in type3.index]
    type3 = type3.rename(columns={"sum_sq": "sum_sq", "PR(>F)": "p_value"})
    return AncovaResult(
        model_result=fit, lsmeans=lsmeans, differences=differences, type3=type3,
        response=response, treatment=treatment, control=control, n_subjects=int(fit.nobs),
        alpha=alpha,
        inputs_hash=inputs_hash(data, used, control=control, alpha=alpha, model="ancova"),
    )


def ancova_differences(
    df: pd.DataFrame,
    response: str = "CHG",
    treatment: str = "TRT01P",
    baseline: str = "BASE",
    control: object = "Placebo",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """``ancova(df, response, treatment, baseline, control, alpha=alpha).differences`` for the model
    without further covariates, fitted without the formula interface.

    For repeated simulation (``oasim power`` fits one ANCOVA per simulated trial): the design
    matrix (intercept, patsy's sum-to-zero coding of the arms, baseline) is built from arrays and
    fitted by ``statsmodels.regression.linear_model.OLS``; no formula parse, LS-mean table or
    type III table. Same rows dropped, same errors, and for string arm labels (patsy orders them
    as :func:`levels_of` does) the same design, so the same numbers as :func:`ancova`.
    """
    data, arms, _ = _analysed_rows(df, response, treatment, baseline, [], control, alpha)
    coding = Sum().code_without_intercept(arms).matrix  # one row per arm, as patsy's C(arm, Sum)
    arm_of_row = pd.Index(arms).get_indexer(data[treatment])
    exog = np.column_stack([np.ones(len(data)), coding[arm_of_row], data[baseline].to_numpy(float)])
    fit = _with_residual_df(sm.OLS(data[response].to_numpy(float), exog).fit(), len(data))
    # LS means: each arm at the mean baseline (np.mean of the column, as lsmean_matrix takes it)
    lsm_rows = np.column_stack([np.ones(len(arms)), coding, np.full(len(arms), float(np.mean(data[baseline])))])
    return _differences(fit, lsm_rows, arms, control, alpha)


def _analysed_rows(df, response, treatment, baseline, covariates, control, alpha):
    """Checked inputs: (complete rows of the model variables, arms in model order, which
    covariates are class variables); named errors for anything an ANCOVA cannot use."""
    require_columns(df, [response, treatment, baseline, *covariates])
    require_levels(df, treatment, [control])
    if not 0 < alpha < 1:
        raise FieldError("alpha", alpha, "0 < alpha < 1")
    used = [response, treatment, baseline, *covariates]
    data = df[[c for c in used if c is not None]].dropna().copy()
    arms = levels_of(data[treatment])
    if control not in arms or len(arms) < 2:
        raise FieldError(f"df.{treatment}", arms, f"at least two arms with data, including {control!r}")
    categorical = {c: is_categorical(data[c]) for c in covariates}
    for name in [response, baseline, *[c for c in covariates if not categorical[c]]]:
        if name is not None and not pd.api.types.is_numeric_dtype(data[name]):
            raise FieldError(f"df.{name}", str(data[name].dtype), "a numeric column")
    return data, arms, categorical


def _with_residual_df(fit, n_rows: int):
    if fit.df_resid < 1:
        raise FieldError("df", n_rows, f"more than {int(fit.df_model) + 1} complete rows")
    return fit


def _differences(fit, lsm_rows: np.ndarray, arms: list, control: object, alpha: float) -> pd.DataFrame:
    """Every arm minus the control arm (rows of ``lsm_rows`` follow ``arms``)."""
    control_row = lsm_rows[arms.index(control)]
    others = [arm for arm in arms if arm != control]
    diff_rows = np.array([lsm_rows[arms.index(arm)] - control_row for arm in others])
    return _contrast_table(fit, diff_rows, others, alpha, with_test=True)


def _design_info(fit):
    # statsmodels >= 0.15 calls the patsy design ``model_spec``; older versions ``design_info``.
    data = fit.model.data
    return getattr(data, "model_spec", None) or data.design_info


def _contrast_table(fit, rows: np.ndarray, labels: list, alpha: float, with_test: bool) -> pd.DataFrame:
    test = fit.t_test(rows)
    ci = np.atleast_2d(test.conf_int(alpha=alpha))
    table = pd.DataFrame(
        {
            "estimate": np.ravel(test.effect),
            "se": np.ravel(test.sd),
            "df": float(fit.df_resid),
            "ci_lower": ci[:, 0],
            "ci_upper": ci[:, 1],
        },
        index=pd.Index(labels, name="arm"),
    )
    if with_test:
        table.insert(3, "t", np.ravel(test.tvalue))
        table.insert(4, "p_value", np.ravel(test.pvalue))
    return table


def _pretty_term(term: str, names: list[str | None]) -> str:
    for name in names:
        if name is not None and repr(name) in term:
            return name
    return term
