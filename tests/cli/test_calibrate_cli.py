"""`oasim calibrate` says it runs the leave-one-study-out check only when it does (not with --no-loso)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.cli import app

ROW = dict(cell_source="none", dose="", dose_unit="none", injection_days="0", co_injection="none", n=40,
           kl_grades="2-3", endpoint="vas_pain", scale_max=100, statistic="mean_change", spread_type="sd",
           spread_low=20, spread_high="")


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("loso", [False, True])
def test_loso_message_only_when_the_check_runs(tmp_path, loso):
    # a tiny table (two studies, three scored rows, each with its SD), one fitted parameter, the
    # smallest design and chain the CLI accepts: about 5 s per run. With one replicate the
    # emulators' simulated SDs and hold-out R² are NaN; the rows' own SDs make the first harmless,
    # and neither may raise a numpy RuntimeWarning (made an error here).
    rows = [ROW | dict(study="A", arm="saline", product="saline", month=3, value=-12),
            ROW | dict(study="A", arm="HA", product="hyaluronic_acid", month=3, value=-16),
            ROW | dict(study="B", arm="HA", product="hyaluronic_acid", month=2, value=-15, spread_type="se",
                       spread_low=3)]
    pd.DataFrame(rows).to_csv(tmp_path / "arms.csv", index=False)
    (tmp_path / "priors.toml").write_text('parameters = ["ha_pain_relief_peak_fraction"]\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "calibrate", str(tmp_path / "arms.csv"), "--priors", str(tmp_path / "priors.toml"), "--out", str(out),
        "--design-points", "8", "--replicates", "1", "--mcmc-steps", "200", "--correlation-replicates", "0",
        "--no-random-effects", "--loso" if loso else "--no-loso"])
    assert result.exit_code == 0, result.output
    assert (out / "leave_one_study_out.csv").is_file() == loso
    assert ("predictive checks (leave one study out)" in result.output) == loso
    assert (out / "parameter_set.toml").is_file() and (out / "skipped_rows.csv").is_file()
