"""oasim simulate --out: chunked Parquet parts, resumable, summary equal to the parts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from oasim.cli import app

ARGS = ["simulate", "--subjects", "25", "--years", "0.5", "--visits-per-year", "4", "--seed", "3",
        "--dose", "exosome:3e11:particles@0", "--rtol", "1e-5", "--chunk-subjects", "10", "--json"]


def _parts(folder):
    return sorted(folder.glob("part_*.parquet"))


def test_streamed_parts_resume_and_match_the_summary(tmp_path):
    runner = CliRunner()
    a = runner.invoke(app, ARGS + ["--out", str(tmp_path / "a")])
    assert a.exit_code == 0, a.output
    parts = _parts(tmp_path / "a")
    assert [p.name for p in parts] == ["part_00000000_00000010.parquet", "part_00000010_00000020.parquet",
                                       "part_00000020_00000025.parquet"]
    table = pd.concat(pd.read_parquet(p) for p in parts)
    assert len(table) == 25 * 3 and table["subject"].nunique() == 25 and (table["status"] == 0).all()
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    means = table.groupby("t_days")["cartilage_thickness_mm"].mean().to_numpy()
    np.testing.assert_allclose(summary["outputs"]["cartilage_thickness_mm"]["mean"], means, rtol=1e-6)
    sds = table.groupby("t_days")["il1b_pg_per_ml"].std(ddof=1).to_numpy()
    np.testing.assert_allclose(summary["outputs"]["il1b_pg_per_ml"]["sd"], sds, rtol=1e-4)
    # resume: a missing part is recomputed identically, the others are kept
    kept = parts[0].stat().st_mtime_ns
    parts[1].unlink()
    b = runner.invoke(app, ARGS + ["--out", str(tmp_path / "a")])
    assert b.exit_code == 0, b.output
    assert parts[0].stat().st_mtime_ns == kept
    pd.testing.assert_frame_equal(table.reset_index(drop=True),
                                  pd.concat(pd.read_parquet(p) for p in _parts(tmp_path / "a")).reset_index(drop=True))
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_bad_solver_is_exit_code_2(tmp_path):
    result = CliRunner().invoke(app, ARGS + ["--solver", "euler", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "solver" in result.output
