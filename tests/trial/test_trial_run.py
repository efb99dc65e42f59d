"""The virtual trial end to end: validation, blinding, reproducibility, atomic outputs."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.data import TrialDataset, from_trial_run
from oasim.errors import DataError, ScenarioError
from oasim.scenario import Scenario
from oasim.trial.conduct import conduct_trial
from oasim.trial.run import run_trial
from oasim.trial.summary import TrialSummary

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hucmsc_exosome_trial.toml"


def small_scenario(**changes) -> Scenario:
    data = tomllib.loads(EXAMPLE.read_text())
    data["design"]["cohorts"] = data["design"]["cohorts"][:2]
    for key, value in changes.items():
        target = data
        *path, last = key.split(".")
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return Scenario.from_dict(data)


def test_invalid_scenario_lists_every_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("seed = 20250612", "seed = -4")
                   .replace("n_placebo = 2", "n_placebo = -1", 1).replace('unit = "particles"', 'unit = "cells"', 1))
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    for text in ("seed", "design.cohorts[0].n_placebo", "-4"):
        assert text in result.output
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["run", str(bad), "--out", str(out)])
    assert run.exit_code == 2 and not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_cross_field_rules_are_checked():
    with pytest.raises(ScenarioError, match="primary_visit_month"):
        small_scenario(**{"analysis.primary_visit_month": 9})
    with pytest.raises(ScenarioError, match="non-decreasing"):
        data = tomllib.loads(EXAMPLE.read_text())
        data["design"]["cohorts"].reverse()
        Scenario.from_dict(data)


def test_blinded_tables_carry_no_treatment_until_unblinded():
    run = conduct_trial(small_scenario())
    blinded = from_trial_run(run)
    for name, table in blinded.tables.items():
        assert not {"TRT01P", "TRT01A", "ARM", "TRTDOSE"} & set(table.columns), name
    assert set(blinded["EX"]["EXTRT"]) == {"BLINDED IP"}
    with pytest.raises(DataError, match="blinded"):
        from oasim.trial.analyse import analyse

        analyse(blinded, "WOMAC_TOTAL", 3)
    unblinded = blinded.unblind()
    arms = unblinded["ADSL"].groupby("COHORT")["TRT01P"].value_counts().unstack(fill_value=0)
    assert (arms["Placebo"] == 2).all() and (arms.drop(columns="Placebo").sum(axis=1) == 6).all()


def test_same_seed_same_summary_other_seed_differs(tmp_path):
    a = run_trial(small_scenario(), tmp_path / "a")
    b = run_trial(small_scenario(), tmp_path / "b")
    c = run_trial(small_scenario(seed=7), tmp_path / "c")
    text = [(tmp_path / k / "summary.json").read_text() for k in "abc"]
    assert text[0] == text[1] and text[0] != text[2]
    assert a == b and c != a


def test_outputs_and_real_data_round_trip(tmp_path):
    summary = run_trial(small_scenario(), tmp_path / "run")
    out = tmp_path / "run"
    for name in ("summary.json", "report.html", "datasets/ADQS.parquet", "datasets/trial.duckdb"):
        assert (out / name).exists(), name
    import duckdb

    con = duckdb.connect(str(out / "datasets" / "trial.duckdb"), read_only=True)
    n_adsl = con.execute('select count(*) from "ADSL"').fetchone()[0]
    con.close()
    assert n_adsl == sum(a.n_randomised for a in summary.arms)
    for arm in summary.arms:
        oarsi = arm.responders["OMERACT-OARSI"]
        assert 0 <= oarsi.responders <= oarsi.n <= arm.n_randomised
    assert summary.dose_response.method == "MCP-Mod"
    # summary.json is the typed summary's JSON form, and reads back into the same summary
    written = json.loads((out / "summary.json").read_text())
    assert (out / "summary.json").read_text() == json.dumps(summary.to_dict(), indent=2)
    assert TrialSummary.from_dict(written) == summary and list(written)[-1] == "mmrm"
    # real data arrive as CSV: the same tables through the same analysis give the same numbers
    ds = TrialDataset.read(out / "datasets")
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, df in ds.tables.items():
        df.to_csv(csv_dir / f"{name}.csv", index=False)
    from oasim.trial.analyse import analyse

    a1 = analyse(ds, "WOMAC_TOTAL", 3, fit_mmrm=False)
    a2 = analyse(TrialDataset.read(csv_dir), "WOMAC_TOTAL", 3, fit_mmrm=False)
    pd.testing.assert_frame_equal(a1.change, a2.change, check_dtype=False)
    assert "Placebo" in set(ds["ADSL"]["TRT01P"])
    report = (out / "report.html").read_text()
    assert report.count("<img") >= 4 and "Placebo" in report
    _check_standard_outputs(out, summary, tmp_path)


def _check_standard_outputs(out, summary, tmp_path):
    """ADaM conformance of the written tables, the report's structure, the ARD, and the exports."""
    import re

    import pyreadstat

    from oasim.adam.export import read_dataset_json, validate_dataset_json

    ds = TrialDataset.read(out / "datasets")
    adsl, adqs, adae = ds["ADSL"], ds["ADQS"], ds["ADAE"]
    assert {"TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "SAFFL", "ITTFL", "EFFFL", "COMPLFL", "DCSREAS", "AGE",
            "AGEGR1", "SEX", "BMIBL", "KLGRADE"} <= set(adsl.columns)
    assert {"TRTP", "TRTPN", "TRTA", "PARAMCD", "PARAMN", "AVISIT", "AVISITN", "ADY", "ABLFL", "BASE", "CHG", "PCHG",
            "ANL01FL", "DTYPE", "ASEQ"} <= set(adqs.columns)
    assert {"AEBODSYS", "AEDECOD", "ASTDY", "ATOXGR", "TRTEMFL", "AESER", "AREL"} <= set(adae.columns)
    assert adqs["PARAMCD"].str.len().max() <= 8 and pd.api.types.is_integer_dtype(adqs["ADY"])
    assert (adqs["ADY"] != 0).all() and (adqs.loc[adqs["ABLFL"] == "Y", "ADY"] == 1).all()  # Day 1 = first dose
    assert not adqs.duplicated(["USUBJID", "ASEQ"]).any()
    assert (adsl.groupby("TRT01P")["TRT01PN"].nunique() == 1).all() and adsl.loc[adsl["TRT01P"] == "Placebo",
                                                                                  "TRT01PN"].eq(0).all()
    doses = adsl.groupby("TRT01PN")["TRTDOSE"].first()
    assert doses.is_monotonic_increasing  # numeric codes sort arms by dose
    assert summary.mmrm.contrasts and summary.mmrm.df_method == "kenward-roger"
    ard = pd.read_parquet(out / "ard.parquet")
    assert {"ANCOVA DIFF", "MMRM DIFF", "DESCRIPTIVE", "AE OVERVIEW", "TREND"} <= set(ard["ANALYSIS"])
    report = (out / "report.html").read_text()
    headings = re.findall(r"<h2 id=\"s\d+\">(\d+)\. ", report)
    assert headings == [str(k) for k in range(1, len(headings) + 1)] and len(headings) >= 10
    for text in ("CONSORT flow diagram", "Demographic and baseline characteristics", "Forest plot", "MMRM",
                 "MCP-Mod", "Overview of treatment-emergent adverse events", "system organ class",
                 "Dose-limiting toxicities", "Direction of benefit", "1×10¹¹ particles"):
        assert text in report, text
    assert report.index("1×10¹¹ particles") < report.index("3×10¹¹ particles")  # dose order, not text order
    for raw in ("n_dlt", "ci_lower", "failures_by_reason", "Target dose nan", "<pre>"):
        assert raw not in report, raw
    # one analysis path: `oasim analyse` on the written tables gives the run's own ANCOVA
    visit = summary.primary_visit
    result = CliRunner().invoke(app, ["analyse", str(out / "datasets"), "--paramcd", "WOMTOT", "--visit", visit,
                                      "--population", "ITTFL", "--where", "ANL01FL=Y", "--json"])
    assert result.exit_code == 0, result.output
    pairs = {p["arm"]: p for p in json.loads(result.output)["pairwise"]}
    for arm in summary.arms:
        anc = arm.ancova_vs_placebo.get(summary.primary_endpoint)
        if anc:
            assert pairs[arm.arm]["estimate"] == pytest.approx(anc.estimate, rel=1e-8)
            assert pairs[arm.arm]["p_value"] == pytest.approx(anc.p_value, rel=1e-6)
    for fmt in ("xpt", "dataset-json"):
        result = CliRunner().invoke(app, ["export", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
    back, meta = pyreadstat.read_xport(str(out / "export-xpt" / "adqs.xpt"))
    assert len(back) == len(adqs) and meta.column_names_to_labels["CHG"] == "Change from Baseline"
    np.testing.assert_allclose(back["CHG"].to_numpy(float), adqs["CHG"].to_numpy(float), equal_nan=True)
    for path in (out / "export-dataset-json").glob("*.json"):
        validate_dataset_json(json.loads(path.read_text()))
    again, _labels = read_dataset_json(out / "export-dataset-json" / "adsl.json")
    assert again["TRT01P"].tolist() == adsl["TRT01P"].tolist()


def test_an_interrupted_run_leaves_no_folder(tmp_path, monkeypatch):
    import oasim.trial.run as run_module

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "from_trial_run", boom)
    with pytest.raises(KeyboardInterrupt):
        run_trial(small_scenario(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert (out / "keep.txt").read_text() == "earlier results"


def test_screening_counts_failures_by_criterion():
    run = conduct_trial(small_scenario(**{"population.inclusion.vas_pain_min_mm": 60}))
    s = run.screening
    assert s["screened"] == s["eligible"] + s["screen_failures"]
    assert s["failures_by_reason"]["vas_pain"] > 0
    assert sum(s["failures_by_reason"].values()) == s["screen_failures"]


def test_safety_review_stops_escalation_when_the_rule_is_met(monkeypatch):
    """With a DLT limit of -1 (any cohort 'exceeds' it) only the first cohort is enrolled."""
    sc = small_scenario()
    data = sc.model_dump()
    data["design"]["safety_review"]["max_dlt_per_cohort"] = 0
    # force one DLT in cohort 1 by making every injection a grade-3 reaction
    from oasim.endpoints import parameters as obs_params

    real = obs_params.load_observation_parameters()
    forced = real.with_values(ae_injection_pain_placebo_prob=1.0, ae_injection_pain_exosome_max_prob=1.0,
                              ae_grade3_fraction=1.0)
    monkeypatch.setattr("oasim.trial.conduct.load_observation_parameters", lambda: forced)
    run = conduct_trial(Scenario.from_dict(data))
    assert [d["cohort"] for d in run.cohort_decisions] == [1]
    assert run.cohort_decisions[0]["n_dlt"] == 8
    assert set(run.subjects["cohort"]) == {1}


def test_escalation_design_rule_drives_the_safety_review(monkeypatch):
    """BOIN (target 0.3) de-escalates after a cohort with 6/6 DLTs: escalation stops."""
    data = small_scenario().model_dump()
    data["design"]["safety_review"] = {"rule": "escalation_design", "dlt_min_grade": 3, "dlt_window_days": 28,
                                       "escalation": {"design": "boin", "target": 0.3, "max_n": 30, "cohort_size": 6}}
    from oasim.endpoints import parameters as obs_params

    forced = obs_params.load_observation_parameters().with_values(
        ae_injection_pain_placebo_prob=1.0, ae_injection_pain_exosome_max_prob=1.0, ae_grade3_fraction=1.0)
    monkeypatch.setattr("oasim.trial.conduct.load_observation_parameters", lambda: forced)
    run = conduct_trial(Scenario.from_dict(data))
    assert [d["cohort"] for d in run.cohort_decisions] == [1]
    # 8/8 DLTs at the lowest dose exceed BOIN's elimination boundary (5 of 8 at target 0.3, Liu &
    # Yuan 2015): the lowest dose is eliminated, and then the trial stops
    assert run.cohort_decisions[0]["n_dlt"] == 8
    assert run.cohort_decisions[0]["decision"] == "stop"
    calm = Scenario.from_dict({**data, "design": {**data["design"], "safety_review": {
        **data["design"]["safety_review"], "dlt_min_grade": 5}}})
    monkeypatch.undo()
    decisions = conduct_trial(calm).cohort_decisions
    assert [d["cohort"] for d in decisions] == [1, 2] and decisions[0]["decision"] == "escalate"


def test_a_qc_lot_sets_particles_per_ug_and_potency(tmp_path):
    """µg doses convert with the lot's measured purity; its potency scales the exosome EC50."""
    from oasim.qc import load_lot_attributes
    from oasim.trial.conduct import product_attributes
    from oasim.parameters import ParameterSet

    examples = EXAMPLE.parent
    text = EXAMPLE.read_text().replace('particles_per_ug = 1.0e10\n', 'lot = "lot_demo_failing"\n')
    text = text.replace('dose = 1.0e11\nunit = "particles"', 'dose = 10.0\nunit = "ug"')
    text = text.replace('dose = 3.0e11\nunit = "particles"', 'dose = 30.0\nunit = "ug"')
    text = text.replace('dose = 1.0e12\nunit = "particles"', 'dose = 100.0\nunit = "ug"')
    # the lot is named relative to the scenario file: both go into tmp_path, never into examples/
    shutil.copytree(examples / "lot_demo_failing", tmp_path / "lot_demo_failing")
    path = tmp_path / "lot_test_scenario.toml"
    path.write_text(text)
    sc = Scenario.from_toml(path)
    lot = load_lot_attributes(examples / "lot_demo_failing")
    ppu, potency = product_attributes(sc, ParameterSet.load("human"))
    assert ppu == pytest.approx(lot.particles_per_ug) and potency == pytest.approx(lot.potency_relative)
    run = conduct_trial(sc.model_copy(update={"design": sc.design.model_copy(update={"cohorts": sc.design.cohorts[:1]})}))
    active = run.subjects[run.subjects["active"]]
    assert np.allclose(active["dose_model_amount"], 10.0 * lot.particles_per_ug)
    bad = tomllib.loads(EXAMPLE.read_text())
    bad["product"]["lot"] = str(tmp_path)
    with pytest.raises(ScenarioError, match="lot.toml"):
        Scenario.from_dict(bad)


def test_sentinel_pair_is_one_active_one_placebo_dosed_first():
    run = conduct_trial(small_scenario())
    ex = from_trial_run(run).unblind()["EX"]
    for cohort, g in run.subjects.groupby("cohort"):
        sentinels = g[g["sentinel"]]
        assert len(sentinels) == 2 and set(sentinels["active"]) == {True, False}
    assert set(ex.loc[ex["EXSENTFL"] == "Y", "EXCOHDY"]) == {0.0}
    assert set(ex.loc[ex["EXSENTFL"] != "Y", "EXCOHDY"]) == {7.0}


def test_permuted_blocks_keep_the_ratio_in_every_block():
    from oasim.trial.randomisation import permuted_blocks

    rng = np.random.default_rng(3)
    seqs = np.array([permuted_blocks(6, 2, 4, rng) for _ in range(2000)])
    assert (seqs[:, :4].sum(axis=1) == 3).all() and (seqs[:, 4:].sum(axis=1) == 3).all()
    # every within-block position is active with probability 3/4
    assert np.allclose(seqs.mean(axis=0), 0.75, atol=0.04)


def test_scenario_solver_accepts_the_registry_names_and_names_a_bad_one():
    from oasim.solvers import SOLVERS

    for name in SOLVERS:
        assert small_scenario(**{"model.solver": name}).model.solver == name
    with pytest.raises(ScenarioError) as info:
        small_scenario(**{"model.solver": "rk45"})
    (error,) = info.value.errors
    assert (error.field, error.value) == ("model.solver", "rk45")
    assert error.allowed == f"one of {sorted(SOLVERS)}"  # the registry's names, as `oasim simulate --solver`


def test_scenario_solver_is_built_from_the_registry_with_the_scenario_rtol(monkeypatch):
    # the registry entry is looked up by the scenario's name (stood in for by the compiled default,
    # so that this check compiles nothing)
    from oasim.solvers import SOLVERS, NumbaRodasSolver

    made = []
    monkeypatch.setitem(SOLVERS, "rodas5p-x4", lambda **options: made.append(options) or NumbaRodasSolver(**options))
    run = conduct_trial(small_scenario(**{"model.solver": "rodas5p-x4", "model.rtol": 1e-7}))
    assert made == [{"rtol": 1e-7}]
    assert len(run.observations) > 0


@pytest.mark.slow  # compiles the knee model's 4-lane Rodas5P kernel on first use (157 s measured at load 3)
def test_scenario_with_the_simd_lane_solver_gives_the_default_summary(tmp_path, monkeypatch):
    import oasim.trial.conduct as conduct

    used = []
    real = conduct.simulate

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        used.append((kwargs["solver"], result.solution.states))
        return result

    monkeypatch.setattr(conduct, "simulate", spy)
    default = run_trial(small_scenario(), tmp_path / "numba").to_dict()
    lanes = run_trial(small_scenario(**{"model.solver": "rodas5p-x4"}), tmp_path / "x4").to_dict()
    (numba_solver, numba_states), (lane_solver, lane_states) = used
    assert type(numba_solver).__name__ == "NumbaRodasSolver"
    assert (type(lane_solver).__name__, lane_solver.method, lane_solver.lanes) == ("RosenbrockSolver", "rodas5p", 4)
    # two integrators, each controlling its local error at rtol 1e-6 (the scenario's) and atol 1e-8
    # (in units of each state's scale): the states differ, within 10x those tolerances (assumed margin
    # for the global error; measured: at most 0.076 of this bound, 16 subjects x 5 visits x 31 states)
    assert not np.array_equal(numba_states, lane_states)
    from oasim.model import KneeModel

    scale = np.array([state.scale for state in KneeModel().states])
    assert np.all(np.abs(lane_states - numba_states) <= 1e-5 * np.abs(numba_states) + 1e-7 * scale)
    # the observed endpoints and every statistic of the summary (provenance names the scenario digest)
    default.pop("provenance"), lanes.pop("provenance")
    assert _floats_equal(lanes, default, rel=1e-8)


def _floats_equal(a, b, rel: float) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_floats_equal(a[k], b[k], rel) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_floats_equal(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return a == pytest.approx(b, rel=rel, nan_ok=True)
    return a == b
