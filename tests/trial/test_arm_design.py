"""Arm designs: products, cell sources, HA relief, KL 1, parallel-group allocation and blinding."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from oasim.data import from_trial_run
from oasim.endpoints import load_observation_parameters, observe_clinical, sample_baseline_symptoms
from oasim.endpoints.hyaluronic_acid import relief_fraction, relieved_drive
from oasim.errors import FieldError, ScenarioError
from oasim.parameters import ParameterSet
from oasim.population import Population
from oasim.scenario import Scenario
from oasim.trial.conduct import conduct_trial, with_kl1_stratum
from oasim.trial.design import (PER_CELL_HALF_EFFECT_PARAMETERS, POTENCY_PARAMETERS, RETENTION_PARAMETERS,
                                ArmProtocol, Product,
                                cell_source_parameters, dose_in_model_units, product_parameters)
from oasim.trial.randomisation import permuted_blocks_arms

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PARALLEL = EXAMPLES / "parallel_msc_vs_ha_trial.toml"


def test_one_arm_protocol_feeds_solver_ae_and_ha_layers():
    exo = ArmProtocol("10 ug", Product("exosome", particles_per_ug=2e9), 10.0, "ug", (0, 90))
    assert exo.model_amount == dose_in_model_units(10.0, "ug_protein", 2e9) == 2e10
    assert [(d.t_days, d.amount, d.unit) for d in exo.model_doses()] == [(0.0, 2e10, "particles"), (90.0, 2e10, "particles")]
    assert [day for day, _ in exo.ae_injections()] == [0.0, 90.0] and exo.ha_injection_days() == ()
    ha = ArmProtocol("HA", Product("hyaluronic_acid"), injection_days=(0, 7, 14))
    assert ha.model_doses() == () and ha.ae_injections() == [(0.0, None), (7.0, None), (14.0, None)]
    assert ha.ha_injection_days() == (0.0, 7.0, 14.0)
    msc_ha = ArmProtocol("MSC+HA", Product("msc", cell_source="bone_marrow", co_injection="hyaluronic_acid"), 5e7, "cells")
    assert msc_ha.ha_injection_days() == (0.0,) and msc_ha.model_doses()[0].amount == 5e7
    with pytest.raises(FieldError, match="cell_source"):
        Product("msc")
    with pytest.raises(FieldError, match="dose_unit"):
        ArmProtocol("bad", Product("saline"), 1.0, "cells")


def test_cell_source_factors_scale_the_shared_mechanism_parameters():
    human = ParameterSet.load("human")
    pop = Population.sample(human, 5, np.random.default_rng(1))
    factors = product_parameters().with_values("test", msc_potency_bone_marrow_rel=2.0,
                                               msc_retention_bone_marrow_rel=0.5)
    scaled = cell_source_parameters(pop.parameters, "bone_marrow", factors)
    for name in POTENCY_PARAMETERS:
        assert np.allclose(scaled[name], 2.0 * pop.parameters[name])
    for name in PER_CELL_HALF_EFFECT_PARAMETERS:
        assert np.allclose(scaled[name], pop.parameters[name] / 2.0)
    for name in RETENTION_PARAMETERS:
        assert np.allclose(scaled[name], 0.5 * pop.parameters[name])
    arm = ArmProtocol("BM", Product("msc", cell_source="bone_marrow"), 5e7, "cells")
    out = arm.subject_parameters(pop.parameters, factors)
    assert np.allclose(out["msc_pge2_pg_per_mcells_day"], 2.0 * pop.parameters["msc_pge2_pg_per_mcells_day"])
    assert out is not pop.parameters and "msc_pge2_pg_per_mcells_day" in pop.parameters  # input untouched


def test_an_msc_source_of_negligible_potency_acts_like_no_cells_once_the_flare_is_off():
    """Potency scales every per-cell route (secretion, T-cell contact, efferocytosis): at 1e-6 the
    MSC arm's pain drive is the untreated one when the cells' flare (a reaction to the cells
    themselves, not to their potency) is switched off. With secretion alone scaled, the contact and
    efferocytosis effects of 5e7 cells stayed saturated (drive 20-40 % lower at months 3-12)."""
    from oasim.protocol import Dose
    from oasim.simulation import simulate

    human = ParameterSet.load("human").with_values("test", flare_pain_gain=0.0, flare_recruitment_gain=0.0,
                                                   flare_msc_clearance_gain=0.0)
    pop = Population.sample(human, 6, np.random.default_rng(3))
    t = np.array([0.0, 30.0, 91.0, 182.0, 365.0])
    arm = ArmProtocol("BM", Product("msc", cell_source="bone_marrow"), 5e7, "cells")
    drive = {}
    for potency in (1.0, 1e-6):
        factors = product_parameters().with_values("test", msc_potency_bone_marrow_rel=potency)
        knees = Population(pop.covariates, arm.subject_parameters(pop.parameters, factors), human.name)
        drive[potency] = simulate(knees, t, [arm.model_doses()] * 6).solution["pain_drive_rel"]
    untreated = simulate(pop, t, None).solution["pain_drive_rel"]
    np.testing.assert_allclose(drive[1e-6], untreated, rtol=2e-3)
    assert np.all(drive[1.0][:, 2:] < 0.95 * untreated[:, 2:])  # the reference potency does act


def test_ha_relief_follows_its_published_shape_and_lowers_scores_by_that_fraction():
    f = product_parameters().value("ha_pain_relief_peak_fraction")
    peak = product_parameters().value("ha_peak_day")
    t = np.array([0.0, 28.0, 56.0, 168.0])
    shape = relief_fraction(t, [[0.0]], 1.0, peak)[0]
    # Bannuru 2011 effect vs IA placebo relative to its week-8 peak: 0.67 (wk 4), 1, 0.46 (wk 24)
    assert shape[0] == 0 and shape[2] == pytest.approx(1.0)
    assert shape[1] == pytest.approx(0.5 * np.exp(0.5)) and 0.6 < shape[1] < 0.9
    assert shape[3] == pytest.approx(3 * np.exp(-2)) and 0.35 < shape[3] < 0.5
    # same subjects, same noise: HA arm / saline arm WOMAC pain = 1 - relief at the peak
    obs = load_observation_parameters().with_values("test", womac_pain_noise_sd=0.0, placebo_womac_pain=0.0)
    n = 20_000
    sym = sample_baseline_symptoms(n, np.random.default_rng(3), obs)
    drive = np.ones((n, 2))
    days = np.array([0.0, peak])
    relief = relief_fraction(days, [[0.0]] * n, f, peak)
    saline = observe_clinical(sym, drive, np.ones((n, 2)), days, np.random.default_rng(4), obs)
    ha = observe_clinical(sym, relieved_drive(drive, relief, obs.value("pain_drive_exponent")), np.ones((n, 2)),
                          days, np.random.default_rng(4), obs)
    ratio = ha["WOMAC_PAIN"][:, 1].mean() / saline["WOMAC_PAIN"][:, 1].mean()
    assert ratio == pytest.approx(1 - f, abs=0.006)
    assert np.array_equal(ha["WOMAC_PAIN"][:, 0], saline["WOMAC_PAIN"][:, 0])  # baseline unchanged


def test_kl1_stratum_gets_its_own_drive_and_baseline_matrix():
    from oasim.model import KneeModel
    from oasim.simulation import baseline_state

    human = ParameterSet.load("human")
    pop = Population.sample(human, 200, np.random.default_rng(5), kl_grade=2)
    kl1 = with_kl1_stratum(pop, np.random.default_rng(6))
    is1 = kl1.covariates["kl_grade"].to_numpy() == 1
    assert 0.2 < is1.mean() < 0.47  # r / (1 + r) = 1/3 at r = 0.5
    factors = product_parameters()
    assert np.allclose(kl1.parameters["joint_damage_drive"][is1],
                       factors.value("kl1_damage_drive_rel_kl2") * pop.parameters["joint_damage_drive"][is1])
    model = KneeModel()
    y0 = baseline_state(model, kl1)
    assert np.allclose(y0[is1, model.state_index["aggrecan_rel"]], factors.value("kl1_baseline_matrix_rel"))
    assert np.allclose(y0[~is1, model.state_index["aggrecan_rel"]], pop.parameters["baseline_matrix_kl2_rel"][~is1])


def test_parallel_blocks_keep_any_allocation_ratio():
    rng = np.random.default_rng(9)
    seqs = np.array([permuted_blocks_arms([2, 4, 2], 4, rng) for _ in range(3000)])
    for start in (0, 4):
        block = seqs[:, start:start + 4]
        assert ((block == 0).sum(axis=1) == 1).all() and ((block == 1).sum(axis=1) == 2).all()
    assert np.allclose((seqs == 1).mean(axis=0), 0.5, atol=0.04)  # every position: arm 1 with p = 2/4
    with pytest.raises(FieldError, match="block_size"):
        permuted_blocks_arms([3, 4], 4, rng)


def _parallel(**changes) -> Scenario:
    data = tomllib.loads(PARALLEL.read_text())
    data.update(changes)
    return Scenario.from_dict(data)


def test_parallel_design_is_validated():
    data = tomllib.loads(PARALLEL.read_text())
    data["design"]["block_size"] = 4
    with pytest.raises(ScenarioError, match="block_size 4"):
        Scenario.from_dict(data)
    data = tomllib.loads(PARALLEL.read_text())
    data["design"]["arms"][1]["cell_source"] = "none"
    with pytest.raises(ScenarioError, match=r"design.arms\[1\]"):
        Scenario.from_dict(data)
    data = tomllib.loads(PARALLEL.read_text())
    data["design"]["cohorts"] = [{"dose": 1e11, "unit": "particles", "n_active": 3}]
    with pytest.raises(ScenarioError, match="either cohorts"):
        Scenario.from_dict(data)


def test_parallel_group_allocation_is_fixed_per_arm_and_blinded_until_unblinding():
    sc = _parallel()
    run = conduct_trial(sc)
    counts = run.subjects["arm"].value_counts().to_dict()
    assert counts == {"UC-MSC 2e7 cells": 16, "Placebo": 8, "UC-MSC 2e7 cells x2": 8, "UC-MSC 2e7 cells + HA": 8}
    # permuted blocks of 5 in the ratio 1:2:1:1 in randomisation order
    order = run.subjects.sort_values("randno")["arm"].to_numpy().reshape(-1, 5)
    assert all(sorted(b).count("UC-MSC 2e7 cells") == 2 for b in order)
    assert run.cohort_decisions[0]["decision"] == "none (parallel-group design)"
    blinded = from_trial_run(run)
    for name, table in blinded.tables.items():
        assert not {"TRT01P", "TRT01A", "TRTDOSE", "EXDOSE"} & set(table.columns), name
    assert set(blinded["EX"]["EXTRT"]) == {"BLINDED IP"}
    ex = run.exposure.merge(run.subjects[["subject_id", "arm"]], on="subject_id")
    assert set(ex.loc[ex["arm"] == "Placebo", "product"]) == {"Hyaluronic acid"}
    assert set(ex.loc[ex["arm"] == "UC-MSC 2e7 cells + HA", "product"]) == {"MSC + HA"}
    repeat = ex[ex["arm"] == "UC-MSC 2e7 cells x2"].groupby("subject_id")["day"].apply(tuple)
    assert set(repeat) == {(0.0, 182.0)}
    unblinded = blinded.unblind()
    assert set(unblinded["ADSL"]["TRT01P"]) == set(counts)


def test_solver_failures_raise_or_are_dropped_and_counted(monkeypatch):
    import oasim.trial.conduct as conduct
    from oasim.errors import SolverError

    real = conduct.simulate

    def poisoned(population, *args, **kwargs):  # subject 1's disease drive is NaN: its solve fails
        population.parameters["joint_damage_drive"][0] = np.nan
        return real(population, *args, **kwargs)

    monkeypatch.setattr(conduct, "simulate", poisoned)
    data = tomllib.loads(PARALLEL.read_text())
    with pytest.raises(SolverError):
        conduct_trial(Scenario.from_dict(data))
    data["model"]["on_solver_failure"] = "drop"
    run = conduct_trial(Scenario.from_dict(data))
    assert run.solver_failures == 1 and len(run.subjects) == 39 and 1 not in set(run.subjects["subject_id"])
    assert 1 not in set(run.observations["subject_id"]) and 1 not in set(run.exposure["subject_id"])


def test_unblinded_ex_names_the_product_each_subject_received():
    """An HA control arm is labelled Placebo in TRT01P (the analysis convention), but its EX rows
    say what was injected."""
    import tomllib
    from pathlib import Path

    from oasim.data import from_trial_run
    from oasim.scenario import Scenario
    from oasim.trial.conduct import conduct_trial

    path = Path(__file__).parents[2] / "examples" / "parallel_msc_vs_ha_trial.toml"
    data = tomllib.loads(path.read_text("utf-8"))
    ds = from_trial_run(conduct_trial(Scenario.from_dict(data))).unblind()
    ex = ds["EX"].merge(ds["ADSL"][["USUBJID", "TRT01A"]], on="USUBJID")
    control = ex[ex["TRT01A"] == "Placebo"]
    assert len(control) and set(control["EXTRT"]) == {"Hyaluronic acid"}
    assert not set(ex.loc[ex["TRT01A"] != "Placebo", "EXTRT"]) & {"Placebo", "Hyaluronic acid"}


def test_a_parallel_group_trial_runs_to_its_report(tmp_path):
    """The report's cohort table has no cohort doses to look up in a parallel-group design."""
    from oasim.trial.run import run_trial

    summary = run_trial(_parallel(), tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "every arm (parallel groups)" in page
    (review,) = summary.cohort_decisions
    assert (review.cohort, review.n_subjects, review.decision) == (1, 40, "none (parallel-group design)")


def test_one_dose_rule_for_the_cli_dose_the_arm_and_per_subject_factors():
    from oasim.protocol import Dose

    assert Dose.parse("exosome:10:ug@0").particles(2e9) == dose_in_model_units(10.0, "ug", 2e9) == 2e10
    per_subject = Dose.parse("exosome:10:ug@0").particles(np.array([1e9, 3e9]))
    assert per_subject.tolist() == [1e10, 3e10]
    assert Dose.parse("exosome:3e11:particles@0").particles(2e9) == 3e11  # particles are never rescaled
    with pytest.raises(FieldError, match="particles_per_ug"):
        Dose.parse("exosome:10:ug@0").particles(np.array([1e9, 0.0]))
