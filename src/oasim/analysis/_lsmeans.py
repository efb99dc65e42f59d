"""Least-squares means (SAS ``LSMEANS``) as linear combinations of fixed-effect coefficients.

An LS mean of a factor level is the model prediction averaged over an equally weighted grid of
the other categorical covariates, with numeric covariates held at their mean in the analysed
data (SAS GLM/MIXED defaults; Searle, Speed & Milliken 1980, Am Stat 34:216). This module
builds the coefficient vectors ``L`` from a patsy design so that both the OLS (ANCOVA) and the
MMRM code can turn them into estimates and standard errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import patsy


def is_categorical(series: pd.Series) -> bool:
    """True for string, categorical and boolean columns (SAS ``CLASS`` variables)."""
    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(series)
        or pd.api.types.is_string_dtype(series)
        or pd.api.types.is_bool_dtype(series)
    )


def levels_of(series: pd.Series) -> list[object]:
    """Levels in model order: category order for categoricals, sorted otherwise."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    return sorted(series.dropna().unique(), key=str)


def lsmean_matrix(
    design_info: patsy.DesignInfo,
    data: pd.DataFrame,
    by: Mapping[str, Sequence[object]],
    averaged: Sequence[str] = (),
    numeric: Sequence[str] = (),
    fixed: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Coefficient vectors of LS means for every combination of the ``by`` levels.

    Parameters
    ----------
    design_info : patsy.DesignInfo
        Right-hand-side design of the fitted model.
    data : DataFrame
        Analysed rows (defines covariate means and levels).
    by : mapping of column to levels
        Factors whose level combinations get one LS mean each (e.g. arm, or arm and visit).
    averaged : sequence of str
        Other categorical covariates, averaged with equal weights over their levels.
    numeric : sequence of str
        Numeric covariates, held at their mean over ``data``.
    fixed : mapping, optional
        Columns to set to a given value instead (e.g. a response placeholder).

    Returns
    -------
    grid : DataFrame
        One row per ``by`` combination.
    L : ndarray, shape (n_combinations, n_coefficients)
    """
    by_names = list(by)
    combos = list(itertools.product(*(list(by[name]) for name in by_names)))
    averaged_levels = [levels_of(data[name]) for name in averaged]
    averaged_combos = list(itertools.product(*averaged_levels)) or [()]
    base = {name: float(np.mean(data[name])) for name in numeric}
    base.update(fixed or {})
    rows = []
    for combo in combos:
        for other in averaged_combos:
            row = dict(base)
            row.update(dict(zip(by_names, combo)))
            row.update(dict(zip(averaged, other)))
            rows.append(row)
    grid = pd.DataFrame(rows)
    for name in list(by_names) + list(averaged):
        if isinstance(data[name].dtype, pd.CategoricalDtype):
            grid[name] = pd.Categorical(grid[name], categories=data[name].cat.categories)
    (design,) = patsy.build_design_matrices([design_info], grid)
    design = np.asarray(design).reshape(len(combos), len(averaged_combos), -1)
    return pd.DataFrame(combos, columns=by_names), design.mean(axis=1)
