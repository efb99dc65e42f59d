"""Can the covariate model produce subjects who meet the inclusion criteria, and how often?

Screening draws candidates until enough pass; criteria the covariate model cannot meet (a KL
grade list that is empty, ages outside what the sampler draws, a BMI ceiling below its floor)
would loop forever. This module computes, from the distributions themselves, the fraction of
candidates that passes each criterion, so validation can refuse such criteria before any
simulation and name the criterion that binds.

The draws are those of :meth:`oasim.population.Population.sample` (age: clipped normal; BMI:
clipped log-normal; KL grade: categorical) and of
:func:`oasim.endpoints.clinical.sample_baseline_symptoms` (VAS pain: normal clipped to
0-100 mm). They are independent, so the fraction eligible is the product of the criteria's.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy import stats

from ..errors import ScreeningError

# assumed: a design that must screen more than 1000 candidates per enrolled subject is a mistake
# in the criteria, not a trial (screen-failure rates of knee OA trials are well below 99.9 %)
MIN_ELIGIBLE_FRACTION = 1e-3


def _clipped_cdf(dist, low: float, high: float, x: float) -> float:
    """P(clip(X, low, high) <= x) for a continuous ``dist``."""
    if x < low:
        return 0.0
    if x >= high:
        return 1.0
    return float(dist.cdf(x))


def _clipped_below(dist, low: float, high: float, x: float) -> float:
    """P(clip(X, low, high) < x): no mass below ``low``; below ``x`` in (low, high] as X itself."""
    if x <= low:
        return 0.0
    if x > high:
        return 1.0
    return float(dist.cdf(x))


def _distribution(spec: Mapping):
    kind = spec["distribution"]
    if kind == "normal":
        return stats.norm(spec["mean"], spec["sd"])
    if kind == "lognormal":
        return stats.lognorm(np.sqrt(np.log1p(spec["cv"] ** 2)), scale=spec["median"])
    raise ScreeningError("covariate distribution", kind, "normal or lognormal")


def criterion_fractions(kl_grades, age_min_y: float, age_max_y: float, bmi_max_kg_per_m2: float,
                        vas_pain_min_mm: float, covariates: Mapping, vas_mean_mm: float,
                        vas_sd_mm: float) -> dict[str, float]:
    """Fraction of candidates passing each inclusion criterion under the covariate model, keyed by
    the criterion's field in ``population.inclusion``.

    ``covariates`` is the covariate specification (``population.covariate_spec(name)``);
    ``vas_mean_mm`` / ``vas_sd_mm`` are the baseline VAS pain distribution [mm].
    """
    kl = covariates["kl_grade"]
    levels = dict(zip(kl["levels"], kl["probabilities"]))
    age, bmi = covariates["age_y"], covariates["bmi_kg_per_m2"]
    age_lo, age_hi = age.get("min", -np.inf), age.get("max", np.inf)
    bmi_lo, bmi_hi = bmi.get("min", -np.inf), bmi.get("max", np.inf)
    return {
        "kl_grades": float(sum(levels.get(g, 0.0) for g in set(kl_grades))),
        "age_min_y..age_max_y": max(0.0, _clipped_cdf(_distribution(age), age_lo, age_hi, age_max_y)
                   - _clipped_below(_distribution(age), age_lo, age_hi, age_min_y)),
        "bmi_max_kg_per_m2": _clipped_cdf(_distribution(bmi), bmi_lo, bmi_hi, bmi_max_kg_per_m2),
        "vas_pain_min_mm": 1.0 - _clipped_below(stats.norm(vas_mean_mm, vas_sd_mm), 0.0, 100.0, vas_pain_min_mm),
    }


def check_criteria(fractions: Mapping[str, float], values: Mapping[str, object],
                   min_fraction: float = MIN_ELIGIBLE_FRACTION) -> float:
    """The fraction eligible; raises :class:`ScreeningError` naming the binding criterion when it
    is below ``min_fraction`` (the criterion with the smallest pass fraction)."""
    eligible = float(np.prod(list(fractions.values())))
    if eligible >= min_fraction:
        return eligible
    criterion = min(fractions, key=fractions.get)
    raise ScreeningError(
        f"population.inclusion.{criterion}", values.get(criterion),
        f"criteria the covariate model can meet: {fractions[criterion]:.3g} of candidates pass this one, "
        f"{eligible:.3g} pass all (at least {min_fraction:g} needed; see oasim.population.eligibility)")


def check_inclusion(inclusion, covariates: str = "human_koa") -> float:
    """:func:`check_criteria` for a scenario's ``population.inclusion`` and covariate model name."""
    from ..endpoints.parameters import load_observation_parameters
    from .population import covariate_spec

    obs = load_observation_parameters()
    fractions = criterion_fractions(inclusion.kl_grades, inclusion.age_min_y, inclusion.age_max_y,
                                    inclusion.bmi_max_kg_per_m2, inclusion.vas_pain_min_mm, covariate_spec(covariates),
                                    obs.value("vas_pain_baseline_mean"), obs.value("vas_pain_baseline_sd"))
    values = {"kl_grades": list(inclusion.kl_grades), "age_min_y..age_max_y": [inclusion.age_min_y, inclusion.age_max_y],
              "bmi_max_kg_per_m2": inclusion.bmi_max_kg_per_m2, "vas_pain_min_mm": inclusion.vas_pain_min_mm}
    return check_criteria(fractions, values)
