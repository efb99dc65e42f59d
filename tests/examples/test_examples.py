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


def _experiment_examples():
    import tomllib

    return sorted(p for p in EXAMPLES.glob("*.toml") if tomllib.loads(p.read_text()).get("kind", "trial") != "trial")


def test_every_preclinical_example_runs_through_oasim_run(tmp_path):
    examples = _experiment_examples()
    assert {p.name for p in examples} >= {"invitro_il1b_exosome.toml", "mouse_dmm_exosome.toml"}
    for path in examples:
        out = tmp_path / path.stem
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
        assert result.exit_code == 0, (path, result.output)
        assert (out / "report.html").exists() and (out / "summary.json").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folders left


def test_invalid_experiment_is_refused_with_the_field_named(tmp_path):
    path = EXAMPLES / "invitro_il1b_exosome.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('kind = "invitro_il1b"', 'kind = "invitro_il1b"\nunknown_option = 3'))
    for command in (["validate", str(bad)], ["run", str(bad), "--out", str(tmp_path / "o")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2 and "unknown_option" in result.output
    assert not (tmp_path / "o").exists()
