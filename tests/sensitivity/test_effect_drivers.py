"""PRCC: recovers a known monotone driver; the model's effect drivers point the right way."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
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


def test_prcc_equals_pingouin_spearman_partial_correlation(rng):
    # Independent implementation: pingouin partial_corr(method="spearman") inverts the covariance
    # matrix of the ranks (oasim regresses out the other drivers); r and p must agree.
    n = 300
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.lognormal(size=n), "c": rng.uniform(size=n), "d": rng.normal(size=n)})
    x["c"] += 0.5 * x["a"]  # correlated drivers: partial and plain rank correlation differ
    y = np.tanh(x["a"]) - 0.4 * np.log(x["b"]) + 0.2 * x["c"] + 0.5 * rng.normal(size=n)
    table = prcc(x, y.to_numpy()).set_index("driver")
    data = x.assign(y=y)
    for name in x.columns:
        ref = pingouin.partial_corr(data, x=name, y="y", covar=[c for c in x.columns if c != name], method="spearman")
        assert table.loc[name, "prcc"] == pytest.approx(ref["r"].iloc[0], abs=1e-10)
        assert table.loc[name, "p_value"] == pytest.approx(ref["p_val"].iloc[0], rel=1e-8, abs=1e-300)


def test_prcc_with_one_other_driver_is_the_first_order_partial_spearman(rng):
    # Known answer: with drivers u, v, PRCC(u) = (r_uy - r_uv r_vy) / sqrt((1 - r_uv^2)(1 - r_vy^2))
    # in Spearman correlations (scipy.stats.spearmanr).
    n = 150
    u, v = rng.normal(size=n), rng.normal(size=n)
    v += 0.6 * u
    y = u**3 + np.exp(v) + rng.normal(size=n)
    r_uy, r_vy, r_uv = stats.spearmanr(u, y)[0], stats.spearmanr(v, y)[0], stats.spearmanr(u, v)[0]
    expected = (r_uy - r_uv * r_vy) / np.sqrt((1 - r_uv**2) * (1 - r_vy**2))
    table = prcc(pd.DataFrame({"u": u, "v": v}), y).set_index("driver")
    assert table.loc["u", "prcc"] == pytest.approx(expected, abs=1e-12)


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


def test_explain_cli(human):
    out = CliRunner().invoke(app, ["explain", "--dose", "exosome:3e11:particles@0", "--subjects", "60",
                                   "--day", "30", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["readout"] == "pain_drive_rel" and payload["day"] == 30.0
    # plumbing: the CLI prints the library's table for the same seed (default --seed 1)
    library = treatment_effect_drivers(human, [Dose("exosome", 3e11, "particles", 0.0)], 60, "pain_drive_rel", 30.0, seed=1)
    pd.testing.assert_frame_equal(pd.DataFrame(payload["drivers"]), library.drivers)
    table = library.drivers.set_index("driver")
    # an exosome-only dose: longer exosome retention and a lower EC50 give a larger benefit ...
    assert table.loc["exosome_bound_half_life_d", "prcc"] < -0.5
    assert table.loc["ec50_exosome_bound_particles", "prcc"] > 0.5
    # ... and the MSC parameters cannot change either twin, so they are noise (p = 0.27 here)
    assert table.loc["msc_fast_half_life_d", "p_value"] > 0.01
    bad = CliRunner().invoke(app, ["explain", "--dose", "exosome:3e11:particles@0", "--readout", "mood"])
    assert bad.exit_code == 2 and "readout" in bad.output
