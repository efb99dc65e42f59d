"""Power by repeated trial simulation: seeds independent of chunking, resumable sweeps."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError
from oasim.trial.power import benefit_sign, simulate_power
from tests.trial.test_trial_run import EXAMPLE, small_scenario


def test_replicates_do_not_depend_on_chunking():
    sc = small_scenario()
    a = simulate_power(sc, 4, chunk_size=1).replicates
    b = simulate_power(sc, 4, chunk_size=3).replicates
    pd.testing.assert_frame_equal(a, b)
    assert a["replicate"].nunique() == 4 and a["estimate"].nunique() > 1


def test_a_sweep_resumes_from_its_chunks(tmp_path):
    sc = small_scenario()
    first = simulate_power(sc, 6, chunk_size=2, out_dir=tmp_path)
    chunks = sorted(tmp_path.glob("chunk_*.parquet"))
    assert len(chunks) == 3
    mtimes = {p.name: p.stat().st_mtime_ns for p in chunks}
    chunks[1].unlink()  # an interrupted sweep: one chunk missing
    second = simulate_power(sc, 6, chunk_size=2, out_dir=tmp_path)
    pd.testing.assert_frame_equal(first.replicates, second.replicates)
    assert chunks[0].stat().st_mtime_ns == mtimes[chunks[0].name]  # kept, not recomputed
    with pytest.raises(FieldError, match="digest"):
        simulate_power(small_scenario(seed=99), 6, chunk_size=2, out_dir=tmp_path)


def test_power_counts_only_significant_benefit():
    assert benefit_sign("WOMAC_TOTAL") == -1 and benefit_sign("KOOS_PAIN") == 1
    result = simulate_power(small_scenario(), 3, chunk_size=3)
    df = result.replicates.copy()
    df["p_value"] = 0.001
    df["estimate"] = np.where(df["arm"] == df["arm"].iloc[0], -1.0, 1.0)  # first arm benefits
    table = type(result)(df, "WOMAC_TOTAL", 0.05, 3).to_frame().set_index("arm")
    first = df["arm"].iloc[0]
    assert table.loc[first, "power"] == 1.0 and (table.drop(index=first)["power"] == 0.0).all()


def test_power_cli_json(tmp_path):
    # The CLI's per-arm table recomputed by hand from the replicate rows it wrote (--out), the
    # Clopper-Pearson interval from statsmodels, the sizes from the --n-active override.
    result = CliRunner().invoke(app, ["power", str(EXAMPLE), "--trials", "3", "--chunk-size", "2", "--n-active", "2",
                                      "--out", str(tmp_path), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    scenario = tomllib.loads(EXAMPLE.read_text())
    assert data["trials"] == 3 and data["alpha"] == scenario["analysis"]["alpha"]
    replicates = pd.concat([pd.read_parquet(p) for p in sorted(tmp_path.glob("chunk_*.parquet"))])
    assert sorted(replicates["replicate"].unique()) == [0, 1, 2]
    assert (replicates["n_active"] == 2).all()  # one cohort per arm, each overridden to 2 (block size 4 divides 2 + 2)
    arms = pd.DataFrame(data["arms"]).set_index("arm")
    assert len(arms) == len(scenario["design"]["cohorts"])
    sign = benefit_sign(data["endpoint"])
    for arm, rows in replicates.groupby("arm"):
        hits = int(((rows["p_value"] < data["alpha"]) & (sign * rows["estimate"] > 0)).sum())
        low, high = proportion_confint(hits, len(rows), alpha=0.05, method="beta")
        assert arms.loc[arm, "replicates"] == 3 and arms.loc[arm, "power"] == pytest.approx(hits / 3)
        assert arms.loc[arm, "power_ci_low"] == pytest.approx(low, abs=1e-10)
        assert arms.loc[arm, "power_ci_high"] == pytest.approx(high, abs=1e-10)
        assert arms.loc[arm, "mean_difference"] == pytest.approx(rows["estimate"].mean(), rel=1e-12)
        assert arms.loc[arm, "sd_difference"] == pytest.approx(rows["estimate"].std(ddof=1), rel=1e-12)


@pytest.mark.slow
def test_zero_effect_power_is_the_type_one_error():
    """A product dose of 1e-6 particles has no effect: power per arm ≈ alpha/2 (one direction)."""
    sc = small_scenario()
    sc = sc.model_copy(update={"design": sc.design.model_copy(update={
        "cohorts": tuple(c.model_copy(update={"dose": 1e-6, "n_active": 20, "n_placebo": 20})
                         for c in sc.design.cohorts)})})
    table = simulate_power(sc, 300, chunk_size=50).to_frame()
    # two-sided 0.05 with the benefit direction required: expected 0.025 per arm
    assert (table["power"] < 0.06).all() and table["power"].mean() > 0.005
