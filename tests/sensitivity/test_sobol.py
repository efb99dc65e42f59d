"""Sobol' indices against the Ishigami function's closed form (Ishigami & Homma 1990)."""

import numpy as np
import pytest

from oasim.errors import FieldError
from oasim.sobol import Factor, analyse, sample, sobol_indices

A, B = 7.0, 0.1
PI = np.pi


def ishigami_exact():
    """Analytic first- and total-order indices (Sobol' & Levitan 1999; Saltelli et al. 2008, §4.5)."""
    v1 = 0.5 * (1 + B * PI ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = B ** 2 * PI ** 8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {"x1": (v1 / var, (v1 + v13) / var), "x2": (v2 / var, v2 / var), "x3": (0.0, v13 / var)}


FACTORS = [Factor(f"x{i}", -PI, PI) for i in (1, 2, 3)]


def ishigami(values):
    x1, x2, x3 = (values[f"x{i}"].to_numpy(float) for i in (1, 2, 3))
    return {"y": np.sin(x1) + A * np.sin(x2) ** 2 + B * x3 ** 4 * np.sin(x1)}


def test_ishigami_indices_match_the_closed_form():
    result = sobol_indices(FACTORS, ishigami, n_base=2 ** 13, seed=7, resamples=200)
    table = result.tables["y"].set_index("factor")
    exact = ishigami_exact()
    for name, (s1, st) in exact.items():
        assert table.loc[name, "S1"] == pytest.approx(s1, abs=0.02)
        assert table.loc[name, "ST"] == pytest.approx(st, abs=0.02)
        # the bootstrap interval covers the exact value
        assert table.loc[name, "ST_low"] - 0.01 <= st <= table.loc[name, "ST_high"] + 0.01
    assert result.ranking("y") == ["x1", "x2", "x3"]
    assert result.n_evaluations == 2 ** 13 * 5


def test_same_seed_same_indices_and_discrete_factors_map_to_levels():
    a = sobol_indices(FACTORS, ishigami, n_base=256, seed=3, resamples=50).tables["y"]
    b = sobol_indices(FACTORS, ishigami, n_base=256, seed=3, resamples=50).tables["y"]
    np.testing.assert_array_equal(a[["S1", "ST", "S1_low", "ST_high"]].to_numpy(), b[["S1", "ST", "S1_low", "ST_high"]].to_numpy())
    kl = Factor("kl_grade", levels=(2, 3, 4))
    assert list(kl.from_unit(np.array([0.0, 0.34, 0.99, 1.0]))) == [2, 3, 4, 4]
    source = Factor("cell_source", levels=("umbilical_cord", "bone_marrow"))
    assert list(source.from_unit(np.array([0.2, 0.7]))) == ["umbilical_cord", "bone_marrow"]
    dose = Factor("dose_cells", 1e6, 1e8, scale="log")
    assert dose.from_unit(np.array([0.5]))[0] == pytest.approx(1e7)


def test_a_factor_that_does_nothing_has_zero_indices():
    factors = FACTORS[:2] + [Factor("inert", 0.0, 1.0)]
    u, values = sample(factors, 1024, seed=1)
    y = np.sin(values["x1"]) + A * np.sin(values["x2"]) ** 2
    table = analyse(factors, {"y": y.to_numpy()}, 1024, seed=1).tables["y"].set_index("factor")
    assert abs(table.loc["inert", "ST"]) < 1e-12


def test_bad_inputs_are_named():
    with pytest.raises(FieldError, match="power of 2"):
        sample(FACTORS, 100, seed=1)
    with pytest.raises(FieldError, match="unique"):
        sample([FACTORS[0], FACTORS[0]], 64, seed=1)
    with pytest.raises(FieldError, match="n_base"):
        analyse(FACTORS, {"y": np.zeros(10)}, 64, seed=1)
    with pytest.raises(FieldError, match="log scale"):
        Factor("d", 0.0, 1.0, scale="log")


def test_explain_sobol_cli_ranks_the_msc_effect(tmp_path):
    """End to end on the knee model (small sample): JSON indices per output; with every cell-source
    factor at its assumed 1.0 the source explains exactly nothing; the report is written."""
    import json

    from typer.testing import CliRunner

    from oasim.cli import app

    out = tmp_path / "sobol"
    res = CliRunner().invoke(app, ["explain", "--method", "sobol", "--n-base", "8", "--seed", "3", "--json",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output[res.output.index("{"):])
    table = {(r["output"], r["factor"]): r for r in payload["indices"]}
    outputs = {o for o, _ in table}
    assert outputs == {"womac_pain_effect_m6", "womac_pain_effect_m12"}
    factors = {f for _, f in table}
    assert {"kl_grade", "dose_cells", "cell_source", "injections", "macrophage_memory_half_life_d"} <= factors
    assert table[("womac_pain_effect_m12", "cell_source")]["ST"] == 0.0
    assert payload["evaluations"] == 8 * (len(factors) + 2)
    assert (out / "report.html").exists() and (out / "sobol.csv").exists()
    bad = CliRunner().invoke(app, ["explain", "--method", "morris"])
    assert bad.exit_code == 2 and "prcc" in bad.output


def test_a_calibrated_set_gives_each_cell_source_its_fitted_potency():
    """human_calibrated carries per-source potency draws (posterior medians BM 0.24, AD 0.34, UC 0.030):
    the cell source then explains part of the effect (it explained exactly 0 when the analysis kept
    the products file's assumed 1.0 for every source)."""
    from oasim.sobol import msc_effect_sobol

    result = msc_effect_sobol(n_base=32, seed=3, parameter_set="human_calibrated")
    st = result.tables["womac_pain_effect_m6"].set_index("factor")["ST"]
    assert st["cell_source"] > 0.02


def test_a_calibrated_set_s_factors_follow_the_posterior_not_the_prior():
    """With a posterior, each calibrated factor maps the unit interval onto the percentiles of its
    draws (u = 0.5 is the posterior median, the ends are the extreme draws), so the indices answer
    what is still unknown after calibration; without one, the prior range (uniform here)."""
    from oasim.calibration.fit_arms import load_priors
    from oasim.parameters import ParameterSet
    from oasim.sobol import calibrated_factors

    posterior = ParameterSet.load("human_calibrated").posterior
    fitted = {f.name: f for f in calibrated_factors("human_calibrated")}
    prior = {f.name: f for f in calibrated_factors("human")}
    name = "macrophage_memory_half_life_d"
    draws = posterior[name].to_numpy(float)
    got = fitted[name].from_unit(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(got, [draws.min(), np.median(draws), draws.max()], rtol=1e-12)
    p = {q.name: q for q in load_priors()}[name]
    np.testing.assert_allclose(prior[name].from_unit(np.array([0.0, 1.0])), [p.low, p.high])
    # potency: each source's draws over its own median, pooled; the median ratio is about 1
    assert fitted["msc_potency_rel"].from_unit(np.array([0.5]))[0] == pytest.approx(1.0, rel=0.1)
    assert (prior["msc_potency_rel"].low, prior["msc_potency_rel"].high) == (0.1, 10.0)
    with pytest.raises(FieldError, match="quantiles"):
        Factor("q", quantiles=(1.0, 0.5))


def test_the_twins_expected_pain_is_observe_clinical_without_noise_and_on_the_instrument():
    """The Sobol' output's expected WOMAC pain equals the clinical observation model's course
    with zero noise (which rounds to whole points, hence 0.5), including the sign of the structure
    term (a 1 mm loss adds 10 × the coupling), and stays within 0–20 where the unbounded course
    leaves it (a drive 50× its baseline; a drive near 0 with the placebo)."""
    from oasim.endpoints import load_observation_parameters
    from oasim.endpoints.clinical import BaselineSymptoms, baseline_disease_factor, observe_clinical, placebo_shape
    from oasim.sobol import expected_womac_pain

    obs = load_observation_parameters()
    obs = obs.with_values("test: no noise", womac_pain_noise_sd=0.0)
    t_days = np.array([0.0, 91.0, 182.6, 365.25])
    drive = np.array([[1.0, 0.8, 0.7, 0.9], [1.2, 1.2, 1.2, 1.2], [1.0, 50.0, 50.0, 50.0], [1.0, 1e-6, 1e-6, 1e-6]])
    thick = np.array([[2.0, 2.0, 2.0, 2.0], [2.0, 1.5, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]])
    n = len(drive)
    mean = obs.value("womac_pain_baseline_mean")
    ones = np.ones(n)
    baseline = BaselineSymptoms(mean * ones, 3.0 * ones, 30.0 * ones, 50.0 * ones, ones)
    observed = observe_clinical(baseline, drive, thick, t_days, np.random.default_rng(0), obs)["WOMAC_PAIN"]
    level = mean * baseline_disease_factor(drive[:, 0], obs)
    placebo = obs.value("placebo_womac_pain") * np.broadcast_to(placebo_shape(t_days, obs), (n, len(t_days)))
    expected = expected_womac_pain(level, drive, thick, placebo, obs.value("pain_drive_exponent"), obs)
    np.testing.assert_allclose(expected, observed, atol=0.5 + 1e-9)
    # constant drive, 1 mm lost by month 6: pain rises by 10 × the coupling, less the placebo course
    np.testing.assert_allclose(expected[1, 2] - expected[1, 0],
                               10 * obs.value("womac_pain_per_0p1mm_loss") - placebo[1, 2] + placebo[1, 0], rtol=1e-12)
    assert expected[2, 1:].max() == 20.0 and expected[3, 1:].min() == 0.0


def test_library_and_cli_default_base_samples_agree():
    """msc_effect_sobol and `oasim explain --method sobol` default to the same n_base (256 and 1024 before)."""
    import inspect

    from oasim.cli import load_module_commands
    from oasim.sobol import MSC_EFFECT_N_BASE, msc_effect_sobol

    explain = load_module_commands("explain")["explain"]
    cli_default = next(p.default for p in explain.params if p.name == "n_base")
    assert inspect.signature(msc_effect_sobol).parameters["n_base"].default == cli_default == MSC_EFFECT_N_BASE
