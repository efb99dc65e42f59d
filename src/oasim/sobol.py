"""Variance-based global sensitivity: Sobol' first- and total-order indices via SALib.

Sobol' indices (Sobol' 2001, Math Comput Simul 55:271) split the variance of an output into
the shares each input explains alone (first order, S1) and with all its interactions (total
order, ST). Samples are Saltelli's scheme (Saltelli et al. 2010, Comput Phys Commun 181:259),
estimates and bootstrap confidence intervals are SALib's (Herman & Usher 2017, JOSS 2:97).

Inputs are :class:`Factor` objects on the unit interval, mapped to their own range: a
continuous factor on a linear or log scale, or a discrete one (KL grade, cell source,
injection count) whose levels split the unit interval into equal parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import FieldError


@dataclass(frozen=True)
class Factor:
    """One input of a sensitivity analysis.

    ``levels`` makes it discrete (each level an equal share of the unit interval); otherwise it
    spans ``low``–``high`` on a ``scale`` of ``linear`` or ``log``.
    """

    name: str
    low: float = 0.0
    high: float = 1.0
    scale: Literal["linear", "log"] = "linear"
    levels: tuple = ()
    unit: str = "1"

    def __post_init__(self):
        if not self.levels:
            if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
                raise FieldError(f"{self.name}.low/high", (self.low, self.high), "finite with low < high")
            if self.scale == "log" and self.low <= 0:
                raise FieldError(f"{self.name}.low", self.low, "> 0 on a log scale")
            if self.scale not in ("linear", "log"):
                raise FieldError(f"{self.name}.scale", self.scale, "'linear' or 'log'")

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        if self.levels:
            index = np.minimum((u * len(self.levels)).astype(int), len(self.levels) - 1)
            return np.asarray(self.levels, dtype=object)[index] if not _numeric(self.levels) \
                else np.asarray(self.levels, float)[index]
        if self.scale == "log":
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)


def _numeric(levels: tuple) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in levels)


@dataclass(frozen=True)
class SobolResult:
    """First- and total-order indices with bootstrap 95 % CIs, one table per output."""

    tables: Mapping[str, pd.DataFrame]
    n_base: int
    n_evaluations: int

    def ranking(self, output: str) -> list[str]:
        """Factors by total-order index, largest first."""
        return list(self.tables[output].sort_values("ST", ascending=False)["factor"])

    def long_table(self) -> pd.DataFrame:
        return pd.concat([t.assign(output=name) for name, t in self.tables.items()], ignore_index=True)


def sample(factors: Sequence[Factor], n_base: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Saltelli sample: (unit-cube points (n_base·(d+2), d), the same as factor values)."""
    from SALib.sample import sobol as sobol_sample

    _check(factors, n_base)
    u = sobol_sample.sample(_problem(factors), n_base, calc_second_order=False, seed=np.random.default_rng(seed))
    values = pd.DataFrame({f.name: f.from_unit(u[:, i]) for i, f in enumerate(factors)})
    return u, values


def analyse(factors: Sequence[Factor], outputs: Mapping[str, np.ndarray], n_base: int, seed: int,
            resamples: int = 500) -> SobolResult:
    """Sobol' indices of each output (evaluated at :func:`sample`'s points, in its order)."""
    from SALib.analyze import sobol as sobol_analyze

    problem = _problem(factors)
    tables = {}
    n_eval = 0
    for k, (name, y) in enumerate(outputs.items()):
        y = np.asarray(y, float)
        n_eval = len(y)
        if len(y) != n_base * (len(factors) + 2):
            raise FieldError(f"outputs.{name}", len(y), f"{n_base * (len(factors) + 2)} values (n_base·(d+2))")
        if not np.all(np.isfinite(y)):
            raise FieldError(f"outputs.{name}", int(np.sum(~np.isfinite(y))), "no non-finite values")
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                                    seed=np.random.default_rng([seed, k]))
        tables[name] = pd.DataFrame({
            "factor": [f.name for f in factors],
            "S1": res["S1"], "S1_low": res["S1"] - res["S1_conf"], "S1_high": res["S1"] + res["S1_conf"],
            "ST": res["ST"], "ST_low": res["ST"] - res["ST_conf"], "ST_high": res["ST"] + res["ST_conf"],
        })
    return SobolResult(tables, n_base, n_eval)


def sobol_indices(factors: Sequence[Factor], evaluate: Callable[[pd.DataFrame], Mapping[str, np.ndarray]],
                  n_base: int = 512, seed: int = 1, resamples: int = 500) -> SobolResult:
    """Sample, evaluate every point with ``evaluate(values) -> {output: array}``, analyse."""
    _, values = sample(factors, n_base, seed)
    return analyse(factors, evaluate(values), n_base, seed, resamples)


def _problem(factors: Sequence[Factor]) -> dict:
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[0.0, 1.0]] * len(factors)}


def _check(factors: Sequence[Factor], n_base: int) -> None:
    if not factors:
        raise FieldError("factors", [], "at least one factor")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise FieldError("factors", names, "unique names")
    if n_base < 8 or n_base & (n_base - 1):
        raise FieldError("n_base", n_base, "a power of 2 >= 8 (Sobol' sequence balance)")
