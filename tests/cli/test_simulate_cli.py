"""``oasim simulate``: the quick look prints per-visit statistics; --json gives the same as data."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oasim.cli import app


def test_simulate_json_reports_per_visit_mean_and_sd():
    args = ["simulate", "--subjects", "30", "--years", "1", "--kl", "3", "--seed", "3", "--json"]
    untreated = json.loads(CliRunner().invoke(app, args).output)
    treated = json.loads(CliRunner().invoke(app, args + ["--dose", "exosome:1e12:particles@0"]).output)
    assert untreated["n_subjects"] == 30 and untreated["n_failed"] == 0
    assert len(untreated["t_days"]) == 5
    thick = untreated["outputs"]["cartilage_thickness_change_pct"]["mean"]
    assert thick[0] == 0.0 and thick[-1] < 0.0
    # a dose lowers IL-1β at the first visit after it (day 91), same subjects (same seed)
    assert treated["outputs"]["il1b_pg_per_ml"]["mean"][1] < untreated["outputs"]["il1b_pg_per_ml"]["mean"][1]


def test_simulate_table_and_bad_dose():
    ok = CliRunner().invoke(app, ["simulate", "--subjects", "5", "--years", "0.5"], terminal_width=250)
    assert ok.exit_code == 0 and "cartilage thickness mm" in ok.output
    bad = CliRunner().invoke(app, ["simulate", "--subjects", "5", "--dose", "exosome:1e11:cells@0"])
    assert bad.exit_code == 2 and "dose.unit" in bad.output
