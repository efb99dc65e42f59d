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

from .test_operating_characteristics import TRUTH, three_plus_three_closed_form

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


def _table_rows(text: str) -> dict[str, list[str]]:
    """Cells of the rich table printed by ``oasim escalate``, keyed by the first cell (dose)."""
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]
    return {row[0]: row[1:] for row in rows}


def test_cli_table_and_exact():
    # The printed --exact table of the 3+3 equals Storer's closed form, rounded as printed.
    result = runner.invoke(app, ["escalate", "--design", "3+3", "--truth", ",".join(map(str, TRUTH)), "--exact"])
    assert result.exit_code == 0, result.output
    assert "exact" in result.output
    select, no_mtd, mean_n, mean_dlt = three_plus_three_closed_form(TRUTH)
    rows = _table_rows(result.output)
    for dose in range(1, 6):
        true_p, pct, n, dlt = rows[str(dose)]
        assert float(true_p) == TRUTH[dose - 1]
        assert pct == f"{100 * select[dose - 1]:.1f}"
        assert n == f"{mean_n[dose - 1]:.2f}" and dlt == f"{mean_dlt[dose - 1]:.2f}"
    assert rows["none"][1] == f"{100 * no_mtd:.1f}"
    assert rows["total"][2] == f"{mean_n.sum():.2f}"
    assert f"% early stop (no MTD) {100 * no_mtd:.1f}" in result.output


def test_cli_exact_json_for_three_plus_three_equals_closed_form():
    result = runner.invoke(app, ["escalate", "--design", "3+3", "--truth", ",".join(map(str, TRUTH)), "--exact", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    select, no_mtd, mean_n, mean_dlt = three_plus_three_closed_form(TRUTH)
    np.testing.assert_allclose(payload["pct_selected"], 100 * select, atol=1e-10)
    assert payload["pct_no_dose"] == pytest.approx(100 * no_mtd, abs=1e-10)
    np.testing.assert_allclose(payload["mean_n"], mean_n, atol=1e-10)
    np.testing.assert_allclose(payload["mean_dlt"], mean_dlt, atol=1e-10)


@pytest.mark.parametrize("design", ["crm", "3+3"])
def test_cli_other_designs(design):
    # Simulated selection by the CLI within 4.5 Monte Carlo SE of the exact selection: Storer's
    # closed form for the 3+3, full enumeration of every trial path for the CRM.
    n_trials, max_n = 2000, 30 if design == "3+3" else 18  # 3+3: the cap of 30 never binds (closed form)
    result = runner.invoke(app, ["escalate", "--design", design, "--truth", ",".join(map(str, TRUTH)),
                                 "--trials", str(n_trials), "--max-n", str(max_n), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    if design == "3+3":
        select, no_mtd, _, _ = three_plus_three_closed_form(TRUTH)
    else:
        spec = {"design": "crm", "num_doses": 5, "target": 0.3, "cohort_size": 3, "max_n": max_n}
        exact = enumerate_trials(design_from_spec(spec), TRUTH)
        select, no_mtd = exact.prob_select, exact.prob_no_dose
    probs = np.append(select, no_mtd)
    observed = np.append(payload["pct_selected"], payload["pct_no_dose"]) / 100
    se = np.sqrt(np.maximum(probs * (1 - probs), 1e-4) / n_trials)
    assert np.all(np.abs(observed - probs) < 4.5 * se), (observed, probs)
    assert payload["n_trials"] == n_trials and payload["seed"] == 1


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
