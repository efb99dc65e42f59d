"""PRCC: recovers a known monotone driver; the model's effect drivers point the right way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError
from oasim.protocol import Dose
from oasim.sensitivity import prcc, treatment_effect_drivers


def test_prcc_finds_the_monotone_driver_and_ignores_noise(rng):
    n = 2000
    x = pd.DataFrame({"driver": rng.normal(size=n), "noise": rng.normal(size=n), "weak": rng.normal(size=n)})
    y = np.exp(2 * x["driver"]) + 0.3 * x["weak"] + 0.05 * rng.normal(size=n)
    table = prcc(x, y.to_numpy()).set_index("driver")
    assert table.loc["driver", "prcc"] > 0.95
    assert abs(table.loc["noise", "prcc"]) < 0.08
    assert table.loc["weak", "prcc"] > 0.3 and table.loc["weak", "p_value"] < 1e-6
    # ranks: a monotone transform of a driver changes nothing
    x2 = x.assign(driver=x["driver"] ** 3)
    pd.testing.assert_frame_equal(prcc(x2, y.to_numpy()), prcc(x, y.to_numpy()))


def test_prcc_needs_more_subjects_than_drivers(rng):
    with pytest.raises(FieldError, match="subjects"):
        prcc(pd.DataFrame(rng.normal(size=(5, 4))), rng.normal(size=5))


def test_exosome_effect_is_larger_with_longer_retention_and_lower_ec50(human):
    result = treatment_effect_drivers(human, [Dose("exosome", 3e11, "particles", 0.0)], 400,
                                      "pain_drive_rel", 30.0, seed=3)
    table = result.drivers.set_index("driver")
    assert np.median(result.effect) < 0  # the dose lowers the pain drive
    # a more negative effect is a larger benefit
    assert table.loc["exosome_bound_half_life_d", "prcc"] < -0.5
    assert table.loc["ec50_exosome_bound_particles", "prcc"] > 0.5


def test_explain_cli():
    out = CliRunner().invoke(app, ["explain", "--dose", "exosome:3e11:particles@0", "--subjects", "60",
                                   "--day", "30", "--json"])
    assert out.exit_code == 0, out.output
    bad = CliRunner().invoke(app, ["explain", "--dose", "exosome:3e11:particles@0", "--readout", "mood"])
    assert bad.exit_code == 2 and "readout" in bad.output
