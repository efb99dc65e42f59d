"""`oasim qc` end to end on the example lots, atomic output, and the demo script."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.qc import read_fcs
from oasim.qc.synthetic import write_demo_lot

from .conftest import EXAMPLES


def _invoke(*args):
    # A typer app with a single command and no callback runs that command directly; with
    # more commands registered the group needs the command name.
    n_commands = len(app.registered_commands) + len(app.registered_groups)
    prefix = ["qc"] if n_commands > 1 or app.registered_callback else []
    return CliRunner().invoke(app, [*prefix, *map(str, args)])


def test_passing_lot_writes_report_and_exits_0(demo_lot, tmp_path):
    out = tmp_path / "out"
    result = _invoke(demo_lot, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Lot EXO-DEMO-001 (exosome): PASS" in result.output
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Release report: lot EXO-DEMO-001" in html
    assert json.loads((out / "release.json").read_text())["passed"] is True
    flow = pd.read_parquet(out / "tables" / "flow_markers.parquet").set_index("marker")
    assert flow.loc["CD105", "percent_positive"] == pytest.approx(98.5 + 0.015, abs=0.5)
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_failing_lot_reports_fail_on_cd105(failing_lot, tmp_path):
    out = tmp_path / "fail"
    result = _invoke(failing_lot, "--out", out)
    assert result.exit_code == 1, result.output
    assert "EXO-DEMO-002 (exosome): FAIL" in result.output
    assert "out of limit: CD105" in result.output
    checks = pd.read_parquet(out / "tables" / "release_checks.parquet")
    assert checks.loc[~checks.passed, "check"].tolist() == ["ISCT identity (flow cytometry)"]
    flow = pd.read_parquet(out / "tables" / "flow_markers.parquet").set_index("marker")
    assert flow.loc["CD105", "percent_positive"] == pytest.approx(93.07, abs=0.5)
    assert '<p class="verdict FAIL">FAIL</p>' in (out / "report.html").read_text()


def test_bad_input_exits_2_and_keeps_previous_output(demo_lot, tmp_path):
    out = tmp_path / "out"
    assert _invoke(demo_lot, "--out", out).exit_code == 0
    before = (out / "report.html").read_bytes()
    lot = tmp_path / "broken"
    write_demo_lot(lot, "EXO-BROKEN", seed=1)
    (lot / "nta.csv").write_text("size_nm,concentration_particles_per_ml\n-10,5\n50,1\n")
    result = _invoke(lot, "--out", out, "--force")
    assert result.exit_code == 2
    assert "nta.csv: sizes must be > 0 nm" in result.output
    assert (out / "report.html").read_bytes() == before


def test_demo_script_reproduces_the_committed_examples(tmp_path):
    write_demo_lot(tmp_path, "EXO-DEMO-001", seed=20240801)
    committed = EXAMPLES / "lot_demo"
    for name in ("nta.csv", "bca.csv", "western.csv", "trilineage.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name), pd.read_csv(committed / name))
    for fcs in sorted((committed / "flow").glob("*.fcs")):
        np.testing.assert_allclose(read_fcs(tmp_path / "flow" / fcs.name).events,
                                   read_fcs(fcs).events, rtol=1e-6)
    assert (tmp_path / "lot.toml").read_text() == (committed / "lot.toml").read_text()
