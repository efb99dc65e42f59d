"""Scenario files: validation messages name the field, and the examples run end to end."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from oasim.errors import ScenarioError
from oasim.experiments import EXPERIMENT_KINDS, run_experiment, validate_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    return tomllib.loads((EXAMPLES / name).read_text())


def test_experiment_kinds_cover_the_examples():
    assert {"invitro_il1b", "mouse_oa", "explant"} <= set(EXPERIMENT_KINDS)
    for name in ("invitro_il1b_exosome.toml", "mouse_dmm_exosome.toml"):
        assert _load(name)["kind"] in EXPERIMENT_KINDS
        validate_scenario(_load(name), name)


@pytest.mark.parametrize("change, field, text", [
    (lambda d: d["groups"][1].update(exosome_unit="copies"), "groups[1].exosome_unit", "particles_per_ml"),
    (lambda d: d.update(system="martian_chondrocyte"), "system", "invitro_mouse_chondrocyte"),
    (lambda d: d.update(n_wells=1), "n_wells", "greater than or equal to 2"),
    (lambda d: d["groups"][0].update(il1b="10"), "groups[0].il1b", "no such field"),
    (lambda d: d.update(reference_group="nobody"), "<root>", "not a group"),
])
def test_invalid_scenarios_name_field_value_and_allowed(change, field, text):
    data = _load("invitro_il1b_exosome.toml")
    change(data)
    with pytest.raises(ScenarioError) as err:
        validate_scenario(data, "bad.toml")
    fields = [e.field for e in err.value.errors]
    assert field in fields, fields
    assert text in str(err.value)


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ScenarioError, match="invitro_il1b"):
        validate_scenario({"kind": "zebrafish"})


@pytest.mark.parametrize("name", ["invitro_il1b_exosome.toml", "mouse_dmm_exosome.toml"])
def test_examples_write_tables_summary_and_report(tmp_path, name):
    run = run_experiment(_load(name), tmp_path, name)
    for f in run.files:
        assert (tmp_path / f).exists(), f
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == _load(name)["seed"] and summary["source"] == name
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 1
    # the project's report document: numbered sections, captioned figures, the result's own text
    assert '<h2 id="s1">1. ' in html and "Figure 1. " in html and "<pre>" in html and "seed: " in html
    data = pd.read_parquet(tmp_path / run.files[0])
    assert len(data) > 0
    again = run_experiment(_load(name), tmp_path / "again", name)
    pd.testing.assert_frame_equal(data, pd.read_parquet(tmp_path / "again" / run.files[0]))
