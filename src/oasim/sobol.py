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
from .sobol_defaults import MSC_EFFECT_N_BASE  # noqa: F401 (the default n_base, and its source, live there)


@dataclass(frozen=True)
class Factor:
    """One input of a sensitivity analysis.

    ``levels`` makes it discrete (each level an equal share of the unit interval); ``quantiles``
    (q_0 ≤ … ≤ q_K at probabilities 0, 1/K, …, 1, e.g. of posterior draws) makes it follow that
    distribution (linear between quantiles); otherwise it spans ``low``–``high`` on a ``scale``
    of ``linear`` or ``log``.
    """

    name: str
    low: float = 0.0
    high: float = 1.0
    scale: Literal["linear", "log"] = "linear"
    levels: tuple = ()
    unit: str = "1"
    quantiles: tuple = ()

    def __post_init__(self):
        if self.quantiles:
            q = np.asarray(self.quantiles, float)
            if q.size < 2 or not np.all(np.isfinite(q)) or np.any(np.diff(q) < 0) or q[0] == q[-1]:
                raise FieldError(f"{self.name}.quantiles", self.quantiles,
                                 "at least 2 finite, non-decreasing values, not all equal")
        elif not self.levels:
            if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
                raise FieldError(f"{self.name}.low/high", (self.low, self.high), "finite with low < high")
            if self.scale == "log" and self.low <= 0:
                raise FieldError(f"{self.name}.low", self.low, "> 0 on a log scale")
            if self.scale not in ("linear", "log"):
                raise FieldError(f"{self.name}.scale", self.scale, "'linear' or 'log'")

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        if self.quantiles:
            return np.interp(u, np.linspace(0.0, 1.0, len(self.quantiles)), self.quantiles)
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


# --------------------------------------------------------------------------------------------
# why efficacy varies: Sobol' indices of the MSC treatment effect on WOMAC pain
# --------------------------------------------------------------------------------------------

COVARIATE_FACTORS = (
    Factor("kl_grade", levels=(2, 3, 4)),
    Factor("bmi_kg_per_m2", 20.0, 40.0, unit="kg/m2"),
    Factor("disease_drive_rel", 0.5, 2.0, scale="log"),  # the subject's own damage/inflammatory drive
    Factor("dose_cells", 1e6, 2e8, scale="log", unit="cells"),
    Factor("cell_source", levels=("umbilical_cord", "bone_marrow", "adipose")),
    Factor("injections", levels=(1, 2, 3)),
)
INJECTION_INTERVAL_DAYS = 182.6  # repeat injections every 6 months (FORWARD-style schedule)


def calibrated_factors(parameter_set: str = "human") -> list[Factor]:
    """The calibrated parameters (``calibration/priors_human.toml``) as factors.

    For a set without posterior they span their priors. For a calibrated set they follow their
    posterior marginals (percentiles of the draws): what is still unknown after calibration, not
    what was unknown before it. Sobol' indices need independent inputs, so the posterior's
    correlations are dropped (each marginal is kept). ``msc_potency_rel`` multiplies the cell
    source's potency: 0.1–10 on a log scale without a posterior; with one, the spread of each
    source's potency draws around that source's median, pooled over the sources.
    """
    from .calibration.fit_arms import load_priors
    from .parameters import ParameterSet

    posterior = ParameterSet.load(parameter_set).posterior
    grid = np.linspace(0.0, 100.0, 101)

    def from_draws(name: str, values: np.ndarray, unit: str, scale: str = "linear") -> Factor:
        q = tuple(float(v) for v in np.percentile(values, grid))
        return Factor(name, q[0], q[-1], scale=scale, unit=unit, quantiles=q)

    out = []
    for p in load_priors(parameter_set=parameter_set):
        if p.name.startswith("msc_potency_") or p.name.startswith("ha_") or p.name == "rtm_half_life_days":
            continue  # potency enters through one factor; no HA here; regression to the mean cancels in twins
        log = p.distribution in ("loguniform", "lognormal")
        if posterior is not None and p.name in posterior.columns:
            out.append(from_draws(p.name, posterior[p.name].to_numpy(float), p.unit, "log" if log else "linear"))
            continue
        low = max(p.low, 1e-9) if log else p.low
        out.append(Factor(p.name, low, p.high, scale="log" if log else "linear", unit=p.unit))
    sources = [c for c in posterior.columns if c.startswith("msc_potency_")] if posterior is not None else []
    if sources:
        ratio = np.concatenate([posterior[c].to_numpy(float) / posterior[c].median() for c in sources])
        out.append(from_draws("msc_potency_rel", ratio, "1", "log"))
    else:
        out.append(Factor("msc_potency_rel", 0.1, 10.0, scale="log"))
    return out


def msc_effect_sobol(n_base: int = MSC_EFFECT_N_BASE, seed: int = 1, parameter_set: str = "human",
                     months: Sequence[float] = (6.0, 12.0), resamples: int = 300, engine=None) -> SobolResult:
    """Sobol' indices of the individual MSC effect on WOMAC pain (0–20) at ``months``.

    Each sample is one virtual knee, simulated with and without the product (twins: the same
    subject, baseline, placebo injections and placebo course), so the effect is known exactly.
    Each twin's expected WOMAC pain is the noise-free course of
    :func:`oasim.endpoints.clinical.observe_clinical` at the typical baseline, placebo response
    and no enrolment excursion, kept on the instrument (0–20, as every observed score is):
    pain = clip(level × disease × (f + (1 − f)(d/d_0)^e) + coupling × loss / 0.1 mm − placebo, 0, 20)
    (f: the share off the drive, ``pain_drive_independent_fraction``), and the
    effect is pain(treated) − pain(untreated). Without the instrument's bounds a corner of the
    posterior (a flare that does not clear) gave twin differences above 20 points, whose squares
    dominated the total-order estimate of that factor (ST 0.40 at 256 base samples, 0.12 at 1024,
    0.03 at 4096, bootstrap CI through 0 at each).
    Factors: the calibrated parameters (:func:`calibrated_factors`: over their priors, or their
    posterior marginals for a calibrated set) and the covariates of :data:`COVARIATE_FACTORS`. ``engine``: where the knees are simulated
    (:class:`oasim.distributed.Engine`; the result does not depend on it).
    """
    from .endpoints import load_observation_parameters
    from .endpoints.clinical import baseline_disease_factor, placebo_shape
    from .parameters import ParameterSet
    from .population import Population
    from .protocol import Dose
    from .readouts import thickness_mm
    from .simulation import simulate
    from .trial.design import cell_source_parameters, product_parameters

    pset = ParameterSet.load(parameter_set)
    obs = load_observation_parameters()
    factors = [*calibrated_factors(parameter_set), *COVARIATE_FACTORS]
    _, x = sample(factors, n_base, seed)
    n = len(x)
    rng = np.random.default_rng([seed, 1])
    # one population per KL grade with typical parameters, then each row's own values
    pop = _population_by_grade(pset, x["kl_grade"].to_numpy(int), rng)
    params = dict(pop.parameters)
    params["bmi_kg_per_m2"] = x["bmi_kg_per_m2"].to_numpy(float)
    params["joint_damage_drive"] = params["joint_damage_drive"] * x["disease_drive_rel"].to_numpy(float)
    exponent = np.full(n, obs.value("pain_drive_exponent"))
    floor = np.full(n, obs.value("pain_drive_independent_fraction"))
    for f in factors:
        if f.name in params:
            params[f.name] = x[f.name].to_numpy(float)
        elif f.name == "pain_drive_exponent":
            exponent = x[f.name].to_numpy(float)
        elif f.name == "pain_drive_independent_fraction":
            floor = x[f.name].to_numpy(float)
    # the cell source's own factors (a calibrated set's posterior medians), then the row's potency on top
    factors_set = product_parameters()
    if pset.posterior is not None:
        fitted = {c: float(pset.posterior[c].median()) for c in pset.posterior.columns if c in factors_set}
        if fitted:
            factors_set = factors_set.with_values(f"{pset.name} posterior medians", **fitted)
    for source in ("umbilical_cord", "bone_marrow", "adipose"):
        rows = x["cell_source"].to_numpy() == source
        if rows.any():
            scaled = cell_source_parameters({k: v[rows] for k, v in params.items()}, source, factors_set)
            for k, v in scaled.items():
                params[k] = params[k].copy()
                params[k][rows] = v
    from .trial.design import apply_msc_potency

    params.update(apply_msc_potency(params, x["msc_potency_rel"].to_numpy(float)))
    knees = Population(pop.covariates.assign(bmi_kg_per_m2=params["bmi_kg_per_m2"]), params, pset.name)
    doses = [tuple(Dose("msc", float(d), "cells", k * INJECTION_INTERVAL_DAYS) for k in range(int(m)))
             for d, m in zip(x["dose_cells"], x["injections"])]
    t_days = np.array([0.0, *[m * 30.4375 for m in months]])
    treated = simulate(knees, t_days, doses, engine=engine)
    untreated = simulate(knees, t_days, None, engine=engine)
    d_t, d_u = treated.solution["pain_drive_rel"], untreated.solution["pain_drive_rel"]
    h_t = thickness_mm(treated.solution, params)
    h_u = thickness_mm(untreated.solution, params)
    level = obs.value("womac_pain_baseline_mean") * baseline_disease_factor(d_u[:, 0], obs)
    # the placebo course of each row's injection schedule (both twins are injected)
    counts = x["injections"].to_numpy(int)
    course = np.zeros((n, len(t_days)))
    for m in np.unique(counts):
        course[counts == m] = placebo_shape(t_days, obs, [k * INJECTION_INTERVAL_DAYS for k in range(int(m))])
    placebo = obs.value("placebo_womac_pain") * course

    pain_t = expected_womac_pain(level, d_t, h_t, placebo, exponent, obs, floor)
    pain_u = expected_womac_pain(level, d_u, h_u, placebo, exponent, obs, floor)
    outputs = {f"womac_pain_effect_m{m:g}": pain_t[:, j] - pain_u[:, j] for j, m in enumerate(months, start=1)}
    return analyse(factors, outputs, n_base, seed, resamples)


def expected_womac_pain(level: np.ndarray, drive_rel: np.ndarray, thickness_mm: np.ndarray,
                        placebo_points: np.ndarray, exponent: np.ndarray | float, obs,
                        independent_fraction: np.ndarray | float | None = None) -> np.ndarray:
    """Noise-free WOMAC pain (0–20), (n, visits): the course of
    :func:`oasim.endpoints.clinical.observe_clinical` without the enrolment excursion, kept on the
    instrument. ``level``: baseline pain × disease factor (n,); ``drive_rel``, ``thickness_mm``:
    (n, visits), column 0 baseline; ``placebo_points``: the placebo response in points (n, visits);
    ``independent_fraction``: the share of pain off the model drive, per row or one value
    (default: the observation model's ``pain_drive_independent_fraction``)."""
    from .endpoints.clinical import drive_factor

    exponent = np.broadcast_to(np.asarray(exponent, float), (len(level),))[:, None]
    floor = obs.value("pain_drive_independent_fraction") if independent_fraction is None else independent_fraction
    floor = np.broadcast_to(np.asarray(floor, float), (len(level),))[:, None]
    loss_0p1mm = (thickness_mm[:, :1] - thickness_mm) / 0.1
    expected = (level[:, None] * drive_factor(drive_rel / drive_rel[:, :1], exponent, floor)
                + obs.value("womac_pain_per_0p1mm_loss") * loss_0p1mm - placebo_points)
    return np.clip(expected, 0.0, 20.0)


def _population_by_grade(pset, grades: np.ndarray, rng: np.random.Generator):
    """Typical-value subjects (no parameter variability) with each row's KL grade, in row order."""
    from .population import Population

    n = len(grades)
    params: dict[str, np.ndarray] = {}
    frames = []
    for g in np.unique(grades):
        rows = np.flatnonzero(grades == g)
        p = Population.sample(pset, len(rows), rng, kl_grade=int(g), variability=False)
        for k, v in p.parameters.items():
            params.setdefault(k, np.zeros(n))[rows] = v
        frames.append(p.covariates.set_index(rows))
    covariates = pd.concat(frames).sort_index().reset_index(drop=True)
    covariates["subject_id"] = np.arange(1, n + 1)
    return Population(covariates, params, pset.name)
