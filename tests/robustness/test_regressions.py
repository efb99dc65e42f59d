"""Regression tests of issue 11's hostile inputs: each ends in a named error (exit code 2)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
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
