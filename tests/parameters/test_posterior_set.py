"""A calibrated parameter set: a base set plus posterior draws, loaded like any other set."""

import numpy as np
import pandas as pd
import pytest

from oasim.errors import ParameterError
from oasim.parameters import ParameterSet
from oasim.parameters.parameter_set import HETEROGENEITY_SDS


def _write(tmp_path, draws: pd.DataFrame, name="draws.parquet"):
    draws.to_parquet(tmp_path / name, index=False)
    toml = tmp_path / "cal.toml"
    toml.write_text(f'name = "cal"\nbase = "human"\nposterior = "{name}"\n')
    return toml


def test_values_are_posterior_medians_and_draws_replace_them(tmp_path):
    human = ParameterSet.load("human")
    draws = pd.DataFrame({"macrophage_memory_half_life_d": [40.0, 60.0, 200.0],
                          "pain_drive_exponent": [0.3, 0.5, 0.7]})  # the second lives in the observation model
    cal = ParameterSet.load(_write(tmp_path, draws))
    assert cal.n_draws == 3
    assert cal.value("macrophage_memory_half_life_d") == 60.0
    assert cal["macrophage_memory_half_life_d"].source.startswith("calibrated: posterior median of 3 draws")
    assert cal.value("collagen_half_life_y") == human.value("collagen_half_life_y")
    assert "pain_drive_exponent" not in cal
    seen = set()
    rng = np.random.default_rng(1)
    for _ in range(30):
        one, other = cal.posterior_draw(rng)
        seen.add(one.value("macrophage_memory_half_life_d"))
        assert set(other) == {"pain_drive_exponent"}
        row = draws[draws["macrophage_memory_half_life_d"] == one.value("macrophage_memory_half_life_d")]
        assert other["pain_drive_exponent"] == row["pain_drive_exponent"].item()  # one draw, jointly
    assert seen == {40.0, 60.0, 200.0}
    assert human.posterior_draw(rng) == (human, {})


def test_a_broken_posterior_is_a_named_error(tmp_path):
    with pytest.raises(ParameterError, match="posterior"):
        ParameterSet.load(_write(tmp_path, pd.DataFrame({"macrophage_memory_half_life_d": [np.nan, 1.0]})))
    toml = tmp_path / "missing.toml"
    toml.write_text('name = "x"\nbase = "human"\nposterior = "nope.parquet"\n')
    with pytest.raises(ParameterError, match="readable Parquet"):
        ParameterSet.load(toml)


def test_each_trial_uses_one_posterior_draw_recorded_in_its_run(tmp_path):
    """conduct.trial_parameters: one draw per trial seed, applied to the model, observation and
    product parameters; a set without posterior draws nothing."""
    import tomllib
    from pathlib import Path

    from oasim.scenario import Scenario
    from oasim.trial.conduct import trial_parameters

    draws = pd.DataFrame({"macrophage_memory_half_life_d": [40.0, 300.0],
                          "pain_drive_exponent": [0.3, 0.9],
                          "ha_pain_relief_peak_fraction": [0.01, 0.1]})
    toml = _write(tmp_path, draws)
    data = tomllib.loads((Path(__file__).parents[1] / "robustness" / "data" / "trial.toml").read_text("utf-8"))
    data["model"]["parameter_set"] = str(toml)
    seen = set()
    for seed in range(1, 12):
        data["seed"] = seed
        pset, obs, factors, draw = trial_parameters(Scenario.from_dict(data))
        k = draws.index[draws["macrophage_memory_half_life_d"] == pset.value("macrophage_memory_half_life_d")].item()
        assert obs.value("pain_drive_exponent") == draws.loc[k, "pain_drive_exponent"]
        assert factors.value("ha_pain_relief_peak_fraction") == draws.loc[k, "ha_pain_relief_peak_fraction"]
        assert draw == {"draw_index": k, "n_draws": 2, **draws.loc[k].to_dict()}
        assert pset.draw_index == k
        seen.add(k)
    assert seen == {0, 1}
    data["model"]["parameter_set"] = "human"
    assert trial_parameters(Scenario.from_dict(data))[3] == {}


def test_the_shipped_calibrated_set_loads_and_changes_the_simulation():
    """human_calibrated = human + the bundled posterior draws: loadable by name, its calibrated
    values are the posterior medians, and a posterior draw moves a replayed arm."""
    from oasim.calibration.arms import arm_table_from_records, simulate_arm_table
    from oasim.calibration.fit_arms import load_priors
    from oasim.parameters import available_sets

    assert "human_calibrated" in available_sets()
    cal = ParameterSet.load("human_calibrated")
    assert cal.n_draws >= 500
    assert set(cal.posterior.columns) == {p.name for p in load_priors()}
    assert cal.value("macrophage_memory_half_life_d") == pytest.approx(
        cal.posterior["macrophage_memory_half_life_d"].median())
    row = dict(study="A", cell_source="umbilical_cord", dose=4e7, dose_unit="cells", injection_days="0",
               co_injection="none", n=30, kl_grades="2-3", endpoint="vas_pain", scale_max=100,
               statistic="mean", spread_type="sd", spread_low=15, spread_high="")
    table = arm_table_from_records([dict(row, arm="MSC", product="msc", month=0, value=60),
                                    dict(row, arm="MSC", product="msc", month=6, value=40)])
    lo, hi = (cal.posterior["msc_potency_umbilical_cord_rel"].quantile(q) for q in (0.05, 0.95))
    sims = [simulate_arm_table(table, "human_calibrated", 2, 0, overrides={"msc_potency_umbilical_cord_rel": v})
            .values.loc[2].mean() for v in (lo, hi)]
    assert sims[1] < sims[0] - 0.5  # a more potent draw relieves more pain at month 6


def test_heterogeneity_sds_load_row_for_row_and_a_mismatch_is_a_named_error(tmp_path):
    draws = pd.DataFrame({"macrophage_memory_half_life_d": [40.0, 60.0, 200.0]})
    sds = pd.DataFrame({"tau_study": [0.1, 0.2, 0.3], "tau_arm": [0.0, 0.1, 0.2], "sigma_row": [0.05] * 3})
    sds.to_parquet(tmp_path / "sds.parquet", index=False)
    toml = _write(tmp_path, draws)
    toml.write_text(toml.read_text() + 'heterogeneity = "sds.parquet"\n')
    cal = ParameterSet.load(toml)
    one, _ = cal.posterior_draw(np.random.default_rng(4))
    row = draws["macrophage_memory_half_life_d"].tolist().index(one.value("macrophage_memory_half_life_d"))
    assert one.draw_index == row and one.heterogeneity.iloc[row]["tau_study"] == sds["tau_study"][row]
    sds.iloc[:2].to_parquet(tmp_path / "sds.parquet", index=False)  # one row short
    with pytest.raises(ParameterError, match="heterogeneity"):
        ParameterSet.load(toml)


def test_the_shipped_calibrated_set_carries_its_heterogeneity_sds():
    cal = ParameterSet.load("human_calibrated")
    assert cal.heterogeneity is not None and len(cal.heterogeneity) == cal.n_draws
    assert list(cal.heterogeneity.columns) == list(HETEROGENEITY_SDS)  # the ones not calibrated are 0
