"""The program scenario: stages fed by name, data standing in for stages, provenance, errors."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import oasim
from oasim.adam import AnalysisSpec, analyse_adam, read_adam_dir
from oasim.cli import app
from oasim.errors import ScenarioError
from oasim.experiments import translate
from oasim.program import ProgramReferenceError, ProgramScenario, StageDataError, StageResultError
from oasim.program.run import run_program

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
EXAMPLE = HERE.parents[1] / "examples" / "program.toml"
HUMAN_SF_ML = 15.0  # human.toml v_sf_ml


def _program(**stages) -> dict:
    return {"kind": "program", "name": "t", "seed": 7, "base_dir": str(DATA), **stages}


def _trail(out: Path) -> dict[str, dict]:
    return {c["to"]: c for c in json.loads((out / "provenance.json").read_text())["trail"]}


def _ladder(top: float, n: int = 3, step: float = 3.0) -> list[float]:
    return [top / step ** (n - 1 - k) for k in range(n)]


def _assert_rounded_down(levels, exact, digits=2):
    for got, want in zip(levels, exact, strict=True):
        assert got <= want * (1 + 1e-12) and got > want * (1 - 10 ** (1 - digits)), (levels, exact)
        assert float(f"{got:.{digits}g}") == got


def test_example_runs_end_to_end_and_numbers_flow_by_name(tmp_path):
    out = tmp_path / "program"
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "provenance trail" in result.output
    html = (out / "report.html").read_text()
    for title in ("Program", "In-vitro assay", "Toxicity", "Mouse OA model", "Dose translation", "Escalation design",
                  "Randomised ascending-dose trial", "Analysis of the trial data", "Provenance trail"):
        assert title in html
    prov = json.loads((out / "provenance.json").read_text())
    stages = prov["stages"]
    assert list(stages) == ["invitro", "toxicity", "mouse", "translation", "escalation", "trial", "analysis"]
    trail = _trail(out)
    out_of = lambda s, o: stages[s]["outputs"][o]["value"]  # noqa: E731
    # every carried value is the named output, and the receiving stage's input
    for to, c in trail.items():
        stage, field = to.split(".")
        origin, output = c["origin"].split(".")
        assert c["value"] == out_of(origin, output) == stages[stage]["inputs"][field]
    # the cap is the highest non-toxic concentration in the human synovial fluid
    assert out_of("toxicity", "max_human_dose_particles") == pytest.approx(
        out_of("toxicity", "highest_non_toxic_per_ml") * HUMAN_SF_ML, rel=1e-12)
    # the translation of the effective mouse dose, by the project's translate()
    spec = tomllib.loads(EXAMPLE.read_text())
    hed = translate(out_of("mouse", "effective_dose_particles"), "mouse_dmm", "human",
                    spec["mouse"]["injection_days"], spec["translation"]["horizon_days"]).doses["exposure"]
    assert out_of("translation", "human_equivalent_dose_particles") == pytest.approx(hed, rel=1e-9)
    top = min(hed, out_of("toxicity", "max_human_dose_particles"))
    _assert_rounded_down(out_of("translation", "human_doses_particles"), _ladder(top))
    # the trial enrolled those doses: ADSL's doses are the translation's levels
    adsl = pd.read_parquet(out / "trial" / "datasets" / "ADSL.parquet")
    enrolled = sorted(d for d in adsl["TRTDOSE"].unique() if d > 0)
    assert enrolled == out_of("translation", "human_doses_particles")[:len(enrolled)]
    # the analysis is the ADaM analysis of the trial's datasets
    direct = analyse_adam(read_adam_dir(out / "trial" / "datasets"),
                          AnalysisSpec(paramcd="WOMTOT", visits=("MONTH 6",), trend="TRTDOSE"))
    assert out_of("analysis", "top_dose_difference") == pytest.approx(direct.pairwise["estimate"].iloc[-1], rel=1e-12)
    tables = {p.stem for p in (out / "tables").glob("*.parquet")}
    assert {"provenance_trail", "mouse_oarsi_by_dose", "escalation_operating_characteristics"} <= tables


def _mouse_program(target: float) -> dict:
    return _program(
        mouse={"doses_particles": [1e6, 1e7, 1e8, 1e9], "weeks": [12], "n_per_group": 4,
               "oarsi_reduction_points": target, "alpha": None},
        translation={"dose_particles": "from:mouse.effective_dose_particles", "days": "from:mouse.injection_days",
                     "horizon_days": 56},
        trial={"dose_levels_particles": "from:translation.human_doses_particles", "n_active_per_cohort": 3,
               "n_placebo_per_cohort": 1, "scenario": {
                   "visits": {"months": [0, 1, 3], "mri_months": [0]},
                   "analysis": {"primary_visit_month": 3, "endpoints": ["WOMAC_TOTAL"], "mmrm": False},
                   "output": {"figures": False}}})


def _expected_effective(mice: pd.DataFrame, target: float) -> float:
    week12 = mice[(mice["readout"] == "oarsi") & (mice["week"] == 12)].groupby("group")["value"].mean()
    for dose in (1e6, 1e7, 1e8, 1e9):
        if week12["vehicle"] - week12[f"Exo {dose:.3g}"] >= target:
            return dose
    raise AssertionError("no dose reached the target")


def test_oarsi_target_changes_the_trial_doses_as_the_translation_says(tmp_path):
    doses = {}
    for target in (0.5, 3.0):
        out = tmp_path / f"t{target}"
        run_program(ProgramScenario.from_dict(_mouse_program(target)), out)
        mice = pd.read_parquet(out / "tables" / "mouse_mice_all_readouts.parquet")  # the simulator's own table
        effective = _expected_effective(mice, target)
        stages = json.loads((out / "provenance.json").read_text())["stages"]
        assert stages["mouse"]["outputs"]["effective_dose_particles"]["value"] == effective
        hed = translate(effective, "mouse_dmm", "human", (7, 14, 21, 28, 35, 42, 49), 56).doses["exposure"]
        levels = stages["trial"]["inputs"]["dose_levels_particles"]
        _assert_rounded_down(levels, _ladder(hed))
        adsl = pd.read_parquet(out / "trial" / "datasets" / "ADSL.parquet")
        assert sorted(d for d in adsl["TRTDOSE"].unique() if d > 0) == levels[:adsl["COHORT"].max()]
        doses[target] = levels
    assert doses[0.5][-1] < doses[3.0][-1]  # a larger OARSI effect needs a larger mouse dose


def test_toxicity_data_sets_the_cap_and_the_cap_binds(tmp_path):
    program = ProgramScenario.from_dict(_program(
        toxicity={"source": "data", "path": "toxicity_viability.csv"},
        translation={"dose_particles": 1e9, "days": [7, 14, 21, 28, 35, 42, 49], "horizon_days": 56,
                     "cap_particles": "from:toxicity.max_human_dose_particles"}))
    run_program(program, tmp_path / "o")
    trail = _trail(tmp_path / "o")
    # README of the data: highest non-toxic concentration 1e9 /mL → cap 1e9 x 15 mL
    assert trail["translation.cap_particles"]["value"] == pytest.approx(1e9 * HUMAN_SF_ML, rel=1e-12)
    assert trail["translation.cap_particles"]["origin_source"].startswith("data: ")
    stages = json.loads((tmp_path / "o" / "provenance.json").read_text())["stages"]
    out = stages["translation"]["outputs"]
    assert out["human_equivalent_dose_particles"]["value"] > 1.5e10  # the cap binds
    assert out["capped"]["value"] is True and out["top_dose_particles"]["value"] == pytest.approx(1.5e10)
    _assert_rounded_down(out["human_doses_particles"]["value"], _ladder(1.5e10))


def test_mouse_data_feeds_the_translation(tmp_path):
    program = ProgramScenario.from_dict(_program(
        mouse={"source": "data", "path": "mouse_oarsi.csv", "oarsi_reduction_points": 2.0},
        translation={"dose_particles": "from:mouse.effective_dose_particles", "days": "from:mouse.injection_days",
                     "horizon_days": 56}))
    run_program(program, tmp_path / "o")
    trail = _trail(tmp_path / "o")
    assert trail["translation.dose_particles"]["value"] == 1e8  # README of the data
    assert trail["translation.dose_particles"]["origin_source"] == f"data: {DATA / 'mouse_oarsi.csv'}"
    table = pd.read_parquet(tmp_path / "o" / "tables" / "mouse_oarsi_by_dose.parquet")
    assert table["reduction_points"].tolist() == pytest.approx([0.25, 2.5, 3.75])


def test_invitro_data_feeds_the_toxicity_stage(tmp_path):
    program = ProgramScenario.from_dict(_program(
        invitro={"source": "data", "path": "invitro_mmp13.csv"},
        toxicity={"source": "data", "path": "toxicity_viability.csv",
                  "effective_concentration_per_ml": "from:invitro.effective_concentration_per_ml"}))
    run_program(program, tmp_path / "o")
    stages = json.loads((tmp_path / "o" / "provenance.json").read_text())["stages"]
    assert stages["invitro"]["outputs"]["effective_concentration_per_ml"]["value"] == 1e9  # README of the data
    assert stages["toxicity"]["inputs"]["effective_concentration_per_ml"] == 1e9
    assert stages["toxicity"]["outputs"]["safety_margin"]["value"] == pytest.approx(1.0)  # 1e9 / 1e9


def test_adam_folder_replaces_the_trial(tmp_path):
    program = ProgramScenario.from_dict(_program(
        trial={"source": "data", "path": "adam", "paramcd": "WOMTOT", "visit": "MONTH 6"}, analysis={}))
    result = oasim.run(program)
    stages = result.summary_data["stages"]
    assert stages["analysis"]["inputs"]["adam_dir"] == str(DATA / "adam")
    direct = analyse_adam(read_adam_dir(DATA / "adam"), AnalysisSpec(paramcd="WOMTOT", visits=("MONTH 6",),
                                                                     trend="TRTDOSE"))
    assert stages["analysis"]["outputs"]["top_dose_p_value"]["value"] == pytest.approx(
        direct.pairwise["p_value"].iloc[-1], rel=1e-12)
    assert stages["trial"]["outputs"]["n_randomised"]["value"] == len(pd.read_csv(DATA / "adam" / "adsl.csv"))


def _small(seed: int) -> dict:
    return {**_program(
        invitro={"exosome_per_ml": [1e9, 1e10], "n_wells": 3},
        toxicity={"concentrations_per_ml": [1e10, 1e12], "n_wells": 3,
                  "effective_concentration_per_ml": "from:invitro.effective_concentration_per_ml"},
        translation={"dose_particles": 1e8, "cap_particles": "from:toxicity.max_human_dose_particles"},
        escalation={"dose_levels_particles": "from:translation.human_doses_particles", "n_trials": 200}), "seed": seed}


def test_same_seed_gives_identical_tables_and_another_seed_does_not():
    first, again, other = (oasim.run(_small(s)) for s in (3, 3, 4))
    assert sorted(first.tables) == sorted(again.tables)
    for name, frame in first.tables.items():
        # Dunnett's quasi-Monte Carlo p-values included: experiments.bench gives it a fixed generator
        pd.testing.assert_frame_equal(frame, again.tables[name], check_exact=True)
    assert not first.tables["invitro_wells"]["value"].equals(other.tables["invitro_wells"]["value"])


@pytest.mark.parametrize("ref", ["from:mouse.effective_dose_particles",  # no such stage in the program
                                 "from:toxicity.no_such_output",  # no such output
                                 "from:escalation.design"])  # a later stage
def test_bad_reference_is_a_named_error_listing_the_names(ref):
    data = _program(toxicity={"concentrations_per_ml": [1e10]}, translation={"dose_particles": ref},
                    escalation={"dose_levels_particles": [1e10]})
    with pytest.raises(ScenarioError) as info:
        ProgramScenario.from_dict(data)
    (error,) = info.value.errors
    assert isinstance(error, ProgramReferenceError) and error.field == "translation.dose_particles"
    assert "toxicity.max_human_dose_particles" in error.allowed and ref.removeprefix("from:") not in error.allowed


def test_bad_reference_exits_2_on_the_command_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("from:mouse.effective_dose_particles", "from:mouse.effective_dose"))
    result = CliRunner().invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "mouse.effective_dose_particles" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text, problem", [
    (None, "file not found"),
    ("concentration_per_ml,viability\n0,1\n", "missing"),
    ("concentration_per_ml,viability_pct\n0,100\n0,x\n1e9,90\n1e9,95\n", "row 3")])
def test_bad_data_file_is_a_named_error(tmp_path, text, problem):
    path = tmp_path / "viability.csv"
    if text is not None:
        path.write_text(text)
    program = ProgramScenario.from_dict(_program(toxicity={"source": "data", "path": str(path)}))
    with pytest.raises(StageDataError) as info:
        run_program(program, tmp_path / "o")
    assert info.value.field == "toxicity.path" and info.value.value == str(path) and problem in str(info.value)
    assert not (tmp_path / "o").exists()


def test_effective_concentration_follows_the_direction_of_the_control():
    """COL2A1 falls with IL-1β: a rescue raises it; a further fall is no rescue."""
    from oasim.program.stages import effective_concentration

    rows = [(0, 0, [1.0, 1.1, 0.9]), (10, 0, [0.25, 0.24, 0.26]), (10, 1e8, [0.10, 0.11, 0.09]),
            (10, 1e9, [0.6, 0.65, 0.7])]
    wells = pd.DataFrame([(a, b, "COL2A1", v) for a, b, vs in rows for v in vs],
                         columns=["il1b_ng_per_ml", "exosome_per_ml", "readout", "value"])
    table, found = effective_concentration(wells, "COL2A1", 0.05)
    assert found == 1e9 and table["p_value"].lt(0.05).all() and table["rescue"].tolist() == [False, True]


def test_dose_ladder_rounds_down_to_significant_digits():
    from oasim.program.stages import dose_ladder, round_down

    assert [round_down(x, 2) for x in (3e11, 8.3839e10, 1.5e10, 2.9999999e11)] == [3e11, 8.3e10, 1.5e10, 2.9e11]
    assert round_down(0.00123456, 3) == 0.00123
    assert dose_ladder(9e11, 3, 3.0, 2) == [1e11, 3e11, 9e11]


def test_dlt_probability_matches_the_adverse_event_model_monte_carlo():
    from oasim.endpoints.adverse_events import simulate_adverse_events
    from oasim.endpoints.parameters import load_observation_parameters
    from oasim.program.dlt import dlt_probability
    from oasim.protocol import Dose

    obs = load_observation_parameters()
    n = 20_000
    for dose, days, grade in ((1e13, (0.0,), 3), (3e12, (0.0, 28.0), 2)):
        injections = [[(d, Dose("exosome", dose, "particles", d)) for d in days]] * n
        ae = simulate_adverse_events(range(n), injections, np.zeros(n), np.random.default_rng(5), obs)
        dlt = ae[ae["related"] & (ae["grade"] >= grade)]["subject_id"].nunique() / n
        p = dlt_probability(dose, days, grade)
        assert abs(dlt - p) < 4 * math.sqrt(p * (1 - p) / n), (dose, days, grade, dlt, p)


def test_an_output_a_stage_could_not_give_stops_the_chain_with_the_reason(tmp_path):
    rows = (DATA / "invitro_mmp13.csv").read_text().splitlines()
    no_rescue = [r for r in rows if ",1e9," not in r and ",1e10," not in r]  # IL-1β + 1e8/mL only: no rescue
    path = tmp_path / "assay.csv"
    path.write_text("\n".join(no_rescue) + "\n")
    program = ProgramScenario.from_dict(_program(
        invitro={"source": "data", "path": str(path)},
        toxicity={"source": "data", "path": "toxicity_viability.csv",
                  "effective_concentration_per_ml": "from:invitro.effective_concentration_per_ml"}))
    with pytest.raises(StageResultError) as info:
        run_program(program, tmp_path / "o")
    assert info.value.field == "toxicity.effective_concentration_per_ml"
    assert "no concentration rescued MMP13" in str(info.value)
    assert not (tmp_path / "o").exists()


def test_unreachable_oarsi_target_names_the_largest_reduction(tmp_path):
    program = ProgramScenario.from_dict(_program(mouse={"doses_particles": [1e6], "weeks": [4], "n_per_group": 2,
                                                        "oarsi_reduction_points": 6.0}))
    with pytest.raises(StageResultError, match=r"the largest was -?[0-9.]+ OARSI points at 1e\+06 particles") as info:
        run_program(program, tmp_path / "o")
    assert info.value.field == "mouse.oarsi_reduction_points" and info.value.value == 6.0


def test_a_bad_trial_field_is_refused_before_any_stage_runs():
    data = _program(trial={"dose_levels_particles": [1e10], "scenario": {"visits": {"months": [0, 3, 1]}}})
    with pytest.raises(ScenarioError) as info:
        ProgramScenario.from_dict(data)
    assert [e.field for e in info.value.errors] == ["trial.scenario.visits"]


@pytest.mark.slow
def test_fuller_program_run_keeps_the_chain(tmp_path):
    """The example at study sizes: 8 mice per group, 6 + 2 per cohort, 10,000 escalation trials."""
    data = tomllib.loads(EXAMPLE.read_text())
    data["mouse"]["n_per_group"] = 8
    data["mouse"]["weeks"] = [4, 8, 12]
    data["invitro"]["n_wells"] = 6
    data["escalation"]["n_trials"] = 10_000
    data["trial"].update(n_active_per_cohort=6, n_placebo_per_cohort=2)
    out = tmp_path / "full"
    run_program(ProgramScenario.from_dict(data, str(EXAMPLE)), out)
    prov = json.loads((out / "provenance.json").read_text())
    for c in prov["trail"]:
        stage, field = c["to"].split(".")
        assert prov["stages"][stage]["inputs"][field] == c["value"]
    oc = pd.read_parquet(out / "tables" / "escalation_operating_characteristics.parquet")
    # every true P(DLT) is far below BOIN's target 0.25: the design escalates to the top dose
    assert (oc["true_prob_dlt"] < 0.05).all() and oc["pct_selected"].iloc[-1] > 90.0
    adsl = pd.read_parquet(out / "trial" / "datasets" / "ADSL.parquet")
    assert (adsl.groupby("COHORT").size() == 8).all()


def test_a_missing_adam_folder_exits_2_naming_the_field(tmp_path):
    scenario = tmp_path / "p.toml"
    scenario.write_text('kind = "program"\nname = "p"\n[trial]\nsource = "data"\npath = "no_such_folder"\n'
                        'paramcd = "WOMTOT"\nvisit = "MONTH 6"\n[analysis]\n')
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "trial.path" in result.output and "no_such_folder" in result.output and "ADSL" in result.output
    assert not (tmp_path / "o").exists()


def test_escalation_truth_follows_the_trial_schedule_and_safety_review():
    from oasim.program.dlt import dlt_probability

    base = _program(escalation={"dose_levels_particles": [1e12, 3e12], "n_trials": 50},
                    trial={"dose_levels_particles": [1e12, 3e12], "scenario": {
                        "schedule": {"injection_days": [0, 28]},
                        "design": {"safety_review": {"dlt_min_grade": 2, "dlt_window_days": 14}}}})
    result = oasim.run({**base, "trial": None})  # no trial: day 0, grade 3 (defaults)
    assert result.summary_data["stages"]["escalation"]["outputs"]["true_prob_dlt"]["value"] == pytest.approx(
        [dlt_probability(d, (0.0,), 3, 28.0) for d in (1e12, 3e12)], rel=1e-12)
    from oasim.program.stages import dlt_definition

    program = ProgramScenario.from_dict(base)
    assert dlt_definition(dict(program.escalation), program) == ((0.0, 28.0), 2, 14.0)
    assert dlt_probability(3e12, (0.0, 28.0), 2, 14.0) > dlt_probability(3e12, (0.0,), 3, 28.0)
