"""oasim design: --vary parsing (named errors), grid, null variant, outputs."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError
from oasim.trial.design_sweep import DesignSpecError, apply_point, grid_points, parse_vary, run_design
from tests.trial.test_trial_run import EXAMPLE, small_scenario


@pytest.mark.parametrize("spec", ["foo=1", "n_active=0", "n_active=a", "kl=5", "kl=1+2", "dose_scale=-1",
                                  "dose_scale=nan", "n_active", "n_active=", "n_active=6,6", "primary_visit=x"])
def test_invalid_vary_is_a_named_error(spec):
    with pytest.raises(DesignSpecError) as info:
        parse_vary([spec])
    assert isinstance(info.value, FieldError) and "--vary" in str(info.value)


def test_repeated_key_and_unknown_visit_are_named_errors():
    with pytest.raises(DesignSpecError, match="each key once"):
        parse_vary(["n_active=6", "n_active=8"])
    with pytest.raises(DesignSpecError, match="visit months"):
        apply_point(small_scenario(), {"primary_visit": 2.0})


def test_grid_is_the_full_product_and_points_apply():
    grid = parse_vary(["n_active=6,10", "kl=2+3,3", "dose_scale=0.5,1,2"])
    points = grid_points(grid)
    assert len(points) == 12 and points[0] == {"n_active": 6, "kl": (2, 3), "dose_scale": 0.5}
    sc = apply_point(small_scenario(), {"n_active": 10, "kl": (3,), "dose_scale": 2.0})
    base = small_scenario()
    assert [c.n_active for c in sc.design.cohorts] == [10, 10]
    assert sc.population.inclusion.kl_grades == (3,)
    assert [c.dose for c in sc.design.cohorts] == [2 * c.dose for c in base.design.cohorts]
    assert all((c.n_active + c.n_placebo) % sc.design.block_size == 0 for c in sc.design.cohorts)


def test_design_sweep_runs_the_null_variant_and_pairs_its_arms():
    grid = parse_vary(["n_active=6"])
    result = run_design(small_scenario(), grid, 2, chunk_size=2)
    assert set(result.replicates["variant"]) == {"design", "null"}
    assert result.table["type1_error"].notna().all()
    assert len(result.table) == 2 and (result.table["expected_n"] == 16).all()
    assert result.table["right_dose"].sum() == 1


def test_cli_bad_vary_exits_2(tmp_path):
    out = CliRunner().invoke(app, ["design", str(EXAMPLE), "--vary", "cohorts=3", "--trials", "2"])
    assert out.exit_code == 2 and "--vary" in out.output


@pytest.mark.slow
def test_null_variant_type_one_error_is_nominal(tmp_path):
    """Under an effectively zero dose, two-sided ANCOVA rejections occur at rate alpha (per arm),
    within 3 Monte-Carlo SE."""
    trials = 300
    result = run_design(small_scenario(), parse_vary(["n_active=6"]), trials, chunk_size=25)
    alpha = small_scenario().analysis.alpha
    se = np.sqrt(alpha * (1 - alpha) / trials)
    for rate in result.table["type1_error"]:
        assert abs(rate - alpha) < 3 * se, (rate, alpha)


@pytest.mark.slow
def test_cli_writes_parquet_duckdb_and_figure(tmp_path):
    out = CliRunner().invoke(app, ["design", str(EXAMPLE), "--vary", "n_active=6,10", "--trials", "2",
                                   "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    table = pd.read_parquet(tmp_path / "design.parquet")
    with duckdb.connect(str(tmp_path / "design.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM design").fetchone()[0] == len(table) == 6
    assert (tmp_path / "power_vs_n.png").stat().st_size > 1000
