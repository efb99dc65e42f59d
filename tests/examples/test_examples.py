"""Every trial example runs end to end through the CLI (what the README's main command does)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from oasim.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_readme_trial_example_runs_and_reports(tmp_path):
    out = tmp_path / "trial"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "hucmsc_exosome_trial.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    arms = {a["arm"] for a in summary["arms"]}
    assert "Placebo" in arms and len(arms) == 4
    assert summary["arms"][0]["change_from_baseline"]["WOMAC_TOTAL"]["MONTH 6"]["n"] > 0
    assert "WOMAC" in (out / "report.html").read_text()


def test_default_output_folder_is_new_each_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = EXAMPLES / "hucmsc_exosome_trial.toml"
    first = CliRunner().invoke(app, ["run", str(scenario)])
    second = CliRunner().invoke(app, ["run", str(scenario)])
    assert first.exit_code == 0 and second.exit_code == 0
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and all(f.startswith("hucmsc_exosome_trial-") for f in folders)
