"""Every trial example runs end to end through the CLI (what the README's main command does)."""

from __future__ import annotations

import json
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from typer.testing import CliRunner

from oasim.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_readme_trial_example_runs_and_reports(tmp_path):
    out = tmp_path / "trial"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, ["run", str(EXAMPLES / "hucmsc_exosome_trial.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    # what a user would see on stderr (Python shows DeprecationWarnings only in __main__)
    shown = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert shown == []
    assert "OR method" in (out / "report.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    arms = {a["arm"] for a in summary["arms"]}
    assert "Placebo" in arms and len(arms) == 4
    assert summary["arms"][0]["change_from_baseline"]["WOMAC_TOTAL"]["MONTH 6"]["n"] > 0
    assert "WOMAC" in (out / "report.html").read_text()
    # docs/getting-started.md shows this run's table "captured from a real run": it must be this run's
    docs = (EXAMPLES.parent / "docs" / "getting-started.md").read_text(encoding="utf-8")
    shown_change = {}
    for line in docs.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 6 and cells[0] in arms:
            shown_change[cells[0]] = cells[3].split(" [")[0]
    assert shown_change == {a["arm"]: f'{a["change_from_baseline"]["WOMAC_TOTAL"]["MONTH 6"]["mean"]:.2f}'
                            for a in summary["arms"]}


def test_default_output_folder_is_new_each_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = EXAMPLES / "hucmsc_exosome_trial.toml"
    first = CliRunner().invoke(app, ["run", str(scenario)])
    second = CliRunner().invoke(app, ["run", str(scenario)])
    assert first.exit_code == 0 and second.exit_code == 0
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and all(f.startswith("hucmsc_exosome_trial-") for f in folders)


def _experiment_examples():
    """The preclinical experiment examples (the program example chains them: tests/program)."""
    import tomllib

    kinds = {p: tomllib.loads(p.read_text()).get("kind", "trial") for p in EXAMPLES.glob("*.toml")}
    return sorted(p for p, kind in kinds.items() if kind not in ("trial", "program"))


def _reanalyse(data: pd.DataFrame, stats_table: pd.DataFrame, time: str, scale) -> None:
    """The written comparisons recomputed from the written raw table: differences of group means
    (pandas) and one-way ANOVA p (statsmodels OLS F test; oasim uses scipy f_oneway), on the
    scale the tests use: ``scale(readout)`` is np.log2, np.log or None (the tables do not say)."""
    for (when, readout), rows in stats_table.groupby([time, "readout"]):
        raw = data[(data[time] == when) & (data["readout"] == readout)]
        if scale(readout) is not None:
            raw = raw.assign(value=scale(readout)(raw["value"]))
        means = raw.groupby("group")["value"].mean()
        for row in rows.itertuples():
            assert row.mean_difference == pytest.approx(means[row.group] - means[row.reference], abs=1e-9)
        if raw.groupby("group")["value"].var().sum() > 0:
            anova = smf.ols("value ~ C(group)", raw).fit().f_pvalue
            assert rows["anova_p"].iloc[0] == pytest.approx(anova, rel=1e-6, abs=1e-300)


def test_every_preclinical_example_runs_through_oasim_run(tmp_path):
    examples = _experiment_examples()
    assert {p.name for p in examples} >= {"invitro_il1b_exosome.toml", "mouse_dmm_exosome.toml"}
    for path in examples:
        out = tmp_path / path.stem
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
        assert result.exit_code == 0, (path, result.output)
        assert (out / "report.html").exists() and (out / "summary.json").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folders left
        summary = json.loads((out / "summary.json").read_text())
        if (out / "assay_data.parquet").exists():
            wells = pd.read_parquet(out / "assay_data.parquet")
            # qPCR fold changes on log2 (the report says "log2 fold / %"), viability linear
            _reanalyse(wells, pd.read_parquet(out / "assay_stats.parquet"), "hour",
                       lambda r: None if r.endswith("_pct") else np.log2)
            by_group = wells.groupby(["hour", "readout", "group"])["value"]
            for row in summary["results"]["assay_means"]:
                key = (row["hour"], row["readout"], row["group"])
                assert row["mean"] == pytest.approx(by_group.mean()[key], rel=1e-12)
                assert row["sd"] == pytest.approx(by_group.std()[key], rel=1e-12) and row["n"] == by_group.size()[key]
        if (out / "mouse_data.parquet").exists():
            # histology scores linear; cytokines and the M1/M2 ratio on the natural log scale
            _reanalyse(pd.read_parquet(out / "mouse_data.parquet"), pd.read_parquet(out / "mouse_stats.parquet"), "week",
                       lambda r: None if r in ("oarsi", "synovitis") else np.log)
        if "translation_particles" in summary["results"]:
            # hand-computed: 15 mL / 0.002 mL of synovial fluid; 13000 mm2 / 10 mm2 of cartilage
            dose = tomllib.loads(path.read_text())["translation"]["dose_particles"]
            doses = summary["results"]["translation_particles"]
            assert doses["sf_volume"] == pytest.approx(dose * 7500.0, rel=1e-12)
            assert doses["cartilage_area"] == pytest.approx(dose * 1300.0, rel=1e-12)


def test_invalid_experiment_is_refused_with_the_field_named(tmp_path):
    path = EXAMPLES / "invitro_il1b_exosome.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('kind = "invitro_il1b"', 'kind = "invitro_il1b"\nunknown_option = 3'))
    for command in (["validate", str(bad)], ["run", str(bad), "--out", str(tmp_path / "o")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2 and "unknown_option" in result.output
    assert not (tmp_path / "o").exists()
