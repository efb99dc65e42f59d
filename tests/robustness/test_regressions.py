"""Regression tests of issue 11's hostile inputs: each ends in a named error (exit code 2)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import ScenarioError
from oasim.scenario import Scenario

DATA = Path(__file__).resolve().parent / "data"
TRIAL = DATA / "trial.toml"


def trial_dict() -> dict:
    return tomllib.loads(TRIAL.read_text("utf-8"))


def write_edited(tmp_path, old: str, new: str, name: str = "scenario.toml") -> Path:
    """The trial scenario with the last occurrence of ``old`` replaced by ``new``."""
    text = TRIAL.read_text("utf-8")
    assert old in text
    head, _, tail = text.rpartition(old)
    path = tmp_path / name
    path.write_text(head + new + tail, "utf-8")
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_dose_of_1e300_particles_is_rejected_by_validate_and_run(tmp_path, command):
    path = write_edited(tmp_path, "dose = 1.0e12", "dose = 1e300")
    out = tmp_path / "out"
    result = invoke(command, path, *(["--out", out] if command == "run" else []))
    assert result.exit_code == 2, result.output
    assert "design.cohorts[2]" in result.output and "ceiling" in result.output
    assert not out.exists()


def test_ug_doses_are_bounded_after_conversion_to_particles():
    data = trial_dict()
    for c, dose_ug in zip(data["design"]["cohorts"], (10.0, 100.0, 1e4)):
        c["unit"], c["dose"] = "ug", dose_ug  # 1e4 ug x 1e10 particles/ug = 1e14 particles
    with pytest.raises(ScenarioError, match="exceeds the ceiling"):
        Scenario.from_dict(data)


def test_doses_that_would_share_an_arm_label_are_refused():
    data = trial_dict()
    data["design"]["cohorts"][0]["dose"], data["design"]["cohorts"][1]["dose"] = 1e11, 1.0004e11
    with pytest.raises(ScenarioError, match="merge into one arm"):
        Scenario.from_dict(data)
    data["design"]["cohorts"][1]["dose"] = 1e11  # equal doses: one arm, on purpose
    Scenario.from_dict(data)


@pytest.mark.parametrize("edit,field", [
    ({"visits": {"months": [], "mri_months": []}}, "visits.months"),
    ({"visits": {"months": [0], "mri_months": [0]}, "analysis": {"primary_visit_month": 0}}, "visits.months"),
    ({"visits": {"months": [0, 1, 6, 1e300], "mri_months": [0]}}, "visits"),
    ({"schedule": {"injection_days": [0, 1e300]}}, "schedule.injection_days"),
    ({"kind": [1]}, "kind"),
    ({"model": {"parameter_set": "no_such_set"}}, "model.parameter_set"),
    ({"population": {"inclusion": {"kl_grades": []}}}, "population"),
    ({"product": {"particles_per_ug": float("inf")}}, "product.particles_per_ug"),
    ({"schedule": {"injection_days": [0, 400]}}, "injection_days"),  # the last visit is day 365
])
def test_hostile_fields_are_named(tmp_path, edit, field):
    data = trial_dict()
    for section, value in edit.items():
        data[section] = {**data[section], **value} if isinstance(value, dict) else value
    path = tmp_path / "scenario.toml"
    path.write_text(tomli_w.dumps(data), "utf-8")
    for command in ("validate", "run"):
        result = invoke(command, path, *(["--out", tmp_path / "out"] if command == "run" else []))
        assert result.exit_code == 2 and field in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, "seed = 1\n".encode("utf-16"), b""])
def test_binary_utf16_and_empty_scenario_files_are_named_errors(tmp_path, content):
    path = tmp_path / "scenario.toml"
    path.write_bytes(content)
    result = invoke("validate", path)
    assert result.exit_code == 2 and "error" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_truncated_power_chunk_is_a_data_error_naming_it(tmp_path):
    from oasim.distributed import claim_resumable_dir
    from oasim.errors import DataError
    from oasim.trial.power import simulate_power

    claim_resumable_dir(tmp_path, "power")  # a folder this code started (an unstamped one is refused first)
    chunk = tmp_path / "chunk_0000000_0000002.parquet"
    chunk.write_bytes(b"PAR1\x00\x00truncated")
    with pytest.raises(DataError, match="chunk_0000000_0000002"):
        simulate_power(Scenario.from_dict(trial_dict()), 2, 2, tmp_path)
    assert chunk.exists()  # not deleted: the user decides


@pytest.mark.parametrize("args", [
    ["simulate", "--subjects", "2", "--years", "nan"],
    ["simulate", "--subjects", "2", "--years", "inf"],
    ["explain", "--subjects", "20", "--dose", "exosome:1e11:particles@0", "--day", "nan"],
    ["explain", "--subjects", "20", "--dose", "exosome:1e11:particles@0", "--day", "1e300"],
    ["simulate", "--subjects", "2", "--dose", "exosome:1e11:particles@1e300"],
    ["simulate", "--subjects", "2", "--on-solver-failure", "ignore"],
])
def test_non_finite_and_out_of_range_options_exit_2(args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)


def test_validate_reads_the_lot_that_run_will_read(tmp_path):
    """A lot whose NTA file is broken is refused by validation, not halfway through the run."""
    import shutil

    lot = tmp_path / "lot"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "lot_demo", lot)
    data = trial_dict()
    data["product"] = {**data["product"], "lot": str(lot)}
    Scenario.from_dict(data)
    (lot / "nta.csv").write_text("size_nm\nnot a number\n")
    with pytest.raises(ScenarioError, match="product.lot"):
        Scenario.from_dict(data)


def test_screening_stops_at_its_bound_naming_the_binding_criterion(monkeypatch):
    """conduct.screen is bounded (eligibility.max_candidates); past it, a ScreeningError names the
    criterion that excluded most candidates instead of looping forever."""
    from oasim.errors import ScreeningError
    from oasim.parameters import ParameterSet
    from oasim.trial import conduct

    data = trial_dict()
    data["population"]["inclusion"]["vas_pain_min_mm"] = 70  # passes validation, excludes most candidates
    monkeypatch.setattr(conduct, "max_candidates", lambda n: 64)
    with pytest.raises(ScreeningError, match="vas_pain"):
        conduct.screen(Scenario.from_dict(data), ParameterSet.load("human"), 200, np.random.default_rng(1))
