"""``oasim analyse --alpha``: the command line reaches the analysis' level. At --alpha 0.1 the
printed table says "90% CI", results.json has alpha 0.1 and ci_level 0.9, and the limits equal an
independent statsmodels OLS's ``conf_int(alpha=0.1)``; bad values are exit code 2 naming --alpha."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import statsmodels.formula.api as smf
from typer.testing import CliRunner

from oasim.adam import AnalysisSpec
from oasim.cli import app
from oasim.errors import FieldError

from .test_adam_analyse import _small

ARGS = ["--paramcd", "WOMTOT", "--population", "SAFFL"]
TERM = "C(TRTP, Treatment('Placebo'))[T.1e+11 particles]"


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    return _small(tmp_path_factory.mktemp("alpha"))


def _statsmodels_limits(small_dir, alpha: float) -> dict:
    adqs = pd.read_csv(small_dir / "adqs.csv")
    out = {}
    for visit in ("Week 4", "Week 12"):
        fit = smf.ols("CHG ~ C(TRTP, Treatment('Placebo')) + BASE", adqs[adqs["AVISIT"] == visit]).fit()
        out[visit] = tuple(fit.conf_int(alpha=alpha).loc[TERM])
    return out


@pytest.mark.parametrize("alpha, level, extra", [(0.1, "90%", ["--alpha", "0.1"]), (0.05, "95%", [])])
def test_alpha_reaches_the_printed_table_and_results_json(small_dir, tmp_path, alpha, level, extra):
    runner = CliRunner()
    printed = runner.invoke(app, ["analyse", str(small_dir), *ARGS, *extra, "--out", str(tmp_path / "o")])
    assert printed.exit_code == 0, printed.output
    assert f"{level} CI" in printed.output
    assert ({"90%", "95%"} - {level}).pop() + " CI" not in printed.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["alpha"] == alpha and results["ci_level"] == pytest.approx(1 - alpha, abs=1e-15)
    expected = _statsmodels_limits(small_dir, alpha)
    by_visit = {r["visit"]: (r["ci_low"], r["ci_high"]) for r in results["pairwise_by_visit"]}
    assert set(by_visit) == set(expected)
    for visit, limits in expected.items():
        assert by_visit[visit] == pytest.approx(limits, rel=1e-10)
    # ard.parquet says the level of every interval in it: a ci_level row after each ci_high, and
    # the ANCOVA differences' limits there are statsmodels' too
    ard = pd.read_parquet(tmp_path / "o" / "ard.parquet")
    assert (ard["STAT"] == "ci_level").sum() == (ard["STAT"] == "ci_high").sum() > 0
    assert ard.loc[ard["STAT"] == "ci_level", "VALUE"].tolist() == pytest.approx(
        [1 - alpha] * int((ard["STAT"] == "ci_level").sum()), abs=1e-15)
    diff = ard[ard["ANALYSIS"] == "ANCOVA DIFF"].pivot_table(index="AVISIT", columns="STAT", values="VALUE")
    for visit, limits in expected.items():
        assert (diff.loc[visit, "ci_low"], diff.loc[visit, "ci_high"]) == pytest.approx(limits, rel=1e-10)
    # --json prints the same numbers
    as_json = json.loads(runner.invoke(app, ["analyse", str(small_dir), *ARGS, *extra, "--json"]).stdout)
    assert as_json["ci_level"] == results["ci_level"] and as_json["pairwise_by_visit"] == results["pairwise_by_visit"]


def test_90_percent_limits_lie_inside_the_95_percent_ones(small_dir):
    narrow, wide = _statsmodels_limits(small_dir, 0.1), _statsmodels_limits(small_dir, 0.05)
    runner = CliRunner()
    got = {a: json.loads(runner.invoke(app, ["analyse", str(small_dir), *ARGS, "--alpha", str(a), "--json"]).stdout)
           for a in (0.1, 0.05)}
    for r90, r95 in zip(got[0.1]["pairwise_by_visit"], got[0.05]["pairwise_by_visit"]):
        assert r95["ci_low"] < r90["ci_low"] < r90["estimate"] < r90["ci_high"] < r95["ci_high"]
        assert r90["p_value"] == r95["p_value"]  # the level moves the interval, not the test
        assert (r90["ci_low"], r90["ci_high"]) == pytest.approx(narrow[r90["visit"]], rel=1e-10)
        assert (r95["ci_low"], r95["ci_high"]) == pytest.approx(wide[r95["visit"]], rel=1e-10)


@pytest.mark.parametrize("value", ["0", "1", "-0.1", "1.5", "nan"])
def test_alpha_outside_0_1_is_exit_code_2_naming_the_option(small_dir, tmp_path, value):
    result = CliRunner().invoke(app, ["analyse", str(small_dir), *ARGS, "--alpha", value, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"--alpha = {float(value)!r}: allowed a number with 0 < alpha < 1" in result.output
    assert not (tmp_path / "o").exists()  # refused before any output


@pytest.mark.parametrize("alpha", [0.0, 1.0, math.nan, -1.0])
def test_analysis_spec_refuses_alpha_outside_0_1(alpha):
    with pytest.raises(FieldError, match="alpha"):
        AnalysisSpec(alpha=alpha)
