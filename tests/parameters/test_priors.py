"""Calibration priors in parameter files: parsed, checked, listed, sampled within range."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.errors import ParameterError
from oasim.parameters import ParameterSet
from oasim.endpoints import load_observation_parameters

ENTRY = '''name = "t"
[parameters]
x = { value = 2.0, unit = "day", source = "assumed: test", prior = %s }
'''


def _load(tmp_path, prior: str) -> ParameterSet:
    path = tmp_path / "t.toml"
    path.write_text(ENTRY % prior)
    return ParameterSet.load(path)


def test_a_prior_is_read_and_sampled_within_its_range(tmp_path):
    p = _load(tmp_path, '{ dist = "loguniform", low = 1.0, high = 100.0, why = "sets the duration of X" }')
    prior = p.calibrated["x"]
    draws = prior.sample(20000, np.random.default_rng(0))
    assert draws.min() >= 1.0 and draws.max() <= 100.0
    assert np.median(draws) == pytest.approx(10.0, rel=0.05)  # log-uniform: geometric mid-point


@pytest.mark.parametrize("prior, field", [
    ('{ dist = "normal", low = 1.0, high = 3.0, why = "sets the duration of X" }', "x.prior.dist"),
    ('{ dist = "uniform", low = 3.0, high = 4.0, why = "sets the duration of X" }', "x.prior"),
    ('{ dist = "uniform", low = 1.0, high = 4.0 }', "x.prior"),
    ('{ dist = "uniform", low = 1.0, high = 4.0, why = "x" }', "x.prior.why"),
])
def test_bad_priors_name_the_field(tmp_path, prior, field):
    with pytest.raises(ParameterError) as err:
        _load(tmp_path, prior)
    assert err.value.field == field


def test_the_human_set_marks_the_parameters_calibration_must_pin_down():
    human = ParameterSet.load("human")
    marked = human.calibrated
    assert {"treg_memory_half_life_d", "macrophage_memory_half_life_d", "sensitisation_half_life_d",
            "msc_persistent_fraction"} <= set(marked)
    for name, prior in marked.items():
        assert prior.low <= human.value(name) <= prior.high
    # an override keeps the prior (calibration moves the value, not the range)
    moved = human.with_values("test", sensitisation_half_life_d=30.0)
    assert moved.calibrated["sensitisation_half_life_d"] == marked["sensitisation_half_life_d"]


def test_the_flare_is_one_dose_response_for_the_ae_and_efficacy_models():
    """The efficacy model's flare and the effusion AE share the ED50 (reactogenicity.py)."""
    assert (ParameterSet.load("human").value("msc_flare_ed50_cells")
            == load_observation_parameters().value("ae_effusion_msc_ed50_cells"))
