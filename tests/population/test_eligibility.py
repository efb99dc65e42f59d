"""Inclusion criteria against the covariate model: analytic pass fractions, ScreeningError."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.endpoints.clinical import sample_baseline_symptoms
from oasim.endpoints.parameters import load_observation_parameters
from oasim.errors import ScenarioError, ScreeningError
from oasim.population import Population
from oasim.population.eligibility import MIN_ELIGIBLE_FRACTION, check_criteria, criterion_fractions
from oasim.population.population import covariate_spec
from oasim.scenario import InclusionSpec, PopulationSpec

N = 40_000


def fractions(inc: InclusionSpec) -> dict[str, float]:
    obs = load_observation_parameters()
    return criterion_fractions(inc.kl_grades, inc.age_min_y, inc.age_max_y, inc.bmi_max_kg_per_m2,
                               inc.vas_pain_min_mm, covariate_spec("human_koa"),
                               obs.value("vas_pain_baseline_mean"), obs.value("vas_pain_baseline_sd"))


@pytest.mark.parametrize("inc", [
    InclusionSpec(),
    InclusionSpec(kl_grades=(4,), age_min_y=60, age_max_y=80, bmi_max_kg_per_m2=25, vas_pain_min_mm=70),
    InclusionSpec(age_min_y=18, age_max_y=40, bmi_max_kg_per_m2=45, vas_pain_min_mm=0),  # both clip edges
])
def test_analytic_fractions_match_the_samplers(human, inc):
    """Within 4 binomial standard errors of the frequencies the samplers produce."""
    rng = np.random.default_rng(11)
    pop = Population.sample(human, N, rng, variability=False)
    vas = sample_baseline_symptoms(N, rng, load_observation_parameters()).vas_pain_mm
    cov = pop.covariates
    observed = {
        "kl_grades": cov["kl_grade"].isin(inc.kl_grades).mean(),
        "age_min_y..age_max_y": cov["age_y"].between(inc.age_min_y, inc.age_max_y).mean(),
        "bmi_max_kg_per_m2": (cov["bmi_kg_per_m2"] <= inc.bmi_max_kg_per_m2).mean(),
        "vas_pain_min_mm": (vas >= inc.vas_pain_min_mm).mean(),
    }
    for name, p in fractions(inc).items():
        se = np.sqrt(max(p * (1 - p), 1e-4) / N)
        assert abs(observed[name] - p) < 4 * se, (name, observed[name], p)


@pytest.mark.parametrize("changes,binding", [
    ({"kl_grades": ()}, "kl_grades"),
    ({"age_min_y": 85, "age_max_y": 95}, "age_min_y..age_max_y"),  # the sampler draws ages 40-80
    ({"bmi_max_kg_per_m2": 17}, "bmi_max_kg_per_m2"),  # the sampler's BMI floor is 18.5
])
def test_unreachable_criteria_name_the_binding_one(changes, binding):
    inc = InclusionSpec(**changes)
    with pytest.raises(ScreeningError) as info:
        check_criteria(fractions(inc), {binding: "x"})
    assert info.value.field == f"population.inclusion.{binding}"
    with pytest.raises(ScenarioError, match=binding.split("..")[0]):
        try:
            PopulationSpec(inclusion=inc)
        except Exception as exc:  # pydantic ValidationError -> ScenarioError as the scenario loader does
            from pydantic import ValidationError

            from oasim.scenario import field_errors
            assert isinstance(exc, ValidationError)
            raise ScenarioError("<test>", field_errors(exc, "<test>")) from None


def test_rare_but_reachable_criteria_pass():
    # VAS >= 100 mm: only the clipped upper tail, 1 - Phi((100 - 55) / 15) = 0.00135
    inc = InclusionSpec(vas_pain_min_mm=100)
    f = fractions(inc)
    assert f["vas_pain_min_mm"] == pytest.approx(0.0013499, rel=1e-3)
    assert check_criteria({"only": f["vas_pain_min_mm"]}, {}) > MIN_ELIGIBLE_FRACTION
