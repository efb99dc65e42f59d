"""The ``oasim escalate`` commands, the trial-runner link and input errors."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError
from oasim.trial.escalation import (
    Boin,
    Crm,
    Outcomes,
    StopAtN,
    design_from_spec,
    dlt_from_adverse_events,
    enumerate_trials,
    simulate_trials,
)

runner = CliRunner()
ARGS = ["escalate", "--design", "boin", "--target", "0.3", "--truth", "0.05,0.1,0.2,0.3,0.5",
        "--cohort-size", "3", "--max-n", "30", "--trials", "2000", "--seed", "1"]  # fmt: skip


def test_cli_json_matches_library_call():
    result = runner.invoke(app, ARGS + ["--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    expected = simulate_trials(StopAtN(Boin(5, 0.3), 30), [0.05, 0.1, 0.2, 0.3, 0.5], 2000, rng=1)
    np.testing.assert_allclose(payload["pct_selected"], 100 * expected.prob_select)
    assert payload["n_trials"] == 2000 and payload["seed"] == 1


def test_cli_table_and_exact():
    result = runner.invoke(app, ARGS[:-4] + ["--exact"])
    assert result.exit_code == 0, result.output
    assert "exact" in result.output and "% early stop" in result.output


@pytest.mark.parametrize("design", ["crm", "3+3"])
def test_cli_other_designs(design):
    result = runner.invoke(app, ["escalate", "--design", design, "--truth", "0.05,0.1,0.2,0.3,0.5", "--trials", "200", "--json"])
    assert result.exit_code == 0, result.output
    assert sum(json.loads(result.output)["pct_selected"]) <= 100.0 + 1e-9


def test_cli_boundaries_prints_r_style_table():
    result = runner.invoke(app, ["escalate", "boundaries", "--target", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["table"]
    assert len(rows) == 30
    assert [r["eliminate_if_dlt_ge"] for r in rows[:4]] == [None, None, 3, 3]
    assert [r["deescalate_if_dlt_ge"] for r in rows[:3]] == [1, 1, 2]
    text = runner.invoke(app, ["escalate", "boundaries", "--target", "0.3"]).output
    assert "Eliminate if # DLT >=" in text and "0.2365" in text


def test_cli_next_decision():
    result = runner.invoke(app, ["escalate", "next", "--outcomes", "1NNN 2NTT"])
    assert result.exit_code == 0 and "de-escalate" in result.output


def test_cli_reports_field_errors():
    result = runner.invoke(app, ["escalate", "--truth", "0.1,0.2", "--target", "1.2"])
    assert result.exit_code == 2
    assert "target" in result.output or "target" in (result.stderr or "")


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Boin(num_doses=3, target=1.0), "target"),
        (lambda: Crm((0.1, 0.3, 0.2), target=0.25), "skeleton"),
        (lambda: Crm((0.1, 0.3, 1.0), target=0.25), "skeleton"),
        (lambda: simulate_trials(StopAtN(Boin(3, 0.3), 9), [0.1, 0.2], 10), "truth"),
        (lambda: enumerate_trials(StopAtN(Boin(3, 0.3), 9), [0.1, 0.2, 1.2]), "truth"),
        (lambda: Outcomes.parse("1NNX"), "outcomes"),
        (lambda: Boin(3, 0.3).fit("4NNN"), "outcomes"),
        (lambda: design_from_spec({"design": "boin", "num_doses": 3, "max_n": 9}), "design.target"),
        (lambda: design_from_spec({"design": "mtpi", "num_doses": 3, "max_n": 9}), "design.design"),
        (lambda: design_from_spec({"design": "crm", "num_doses": 3, "max_n": 9, "target": 0.3, "skeleton": [0.1, 0.2]}), "design.skeleton"),
    ],
)
def test_invalid_inputs_raise_field_error(make, field):
    with pytest.raises(FieldError) as info:
        make()
    assert info.value.field == field


def test_design_from_spec_builds_wrapped_designs():
    design = design_from_spec({"design": "crm", "num_doses": 4, "target": 0.25, "max_n": 18, "titration": "accelerated"})
    assert design.num_doses == 4 and design.n == 18
    assert design.fit("").cohort_size == 1
    assert design_from_spec({"design": "3+3", "num_doses": 4, "max_n": 24}).fit("1NNN").next_dose == 2


def test_dlt_definition_grade_related_window():
    ae = pd.DataFrame(
        {
            "subject_id": ["a", "a", "b", "c", "d"],
            "grade": [2, 3, 4, 3, 3],
            "related": [True, True, False, True, True],
            "onset_day": [3, 40, 5, 29, 28],
            "dose_day": [0, 0, 0, 0, 0],
        }
    )
    dlt = dlt_from_adverse_events(ae, subject_ids=["a", "b", "c", "d", "e"])
    assert dlt.to_dict() == {"a": False, "b": False, "c": False, "d": True, "e": False}
    assert dlt_from_adverse_events(ae, related_only=False)["b"]
