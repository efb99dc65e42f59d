"""`oasim analyse` on the CDISC pilot (CDISCPILOT01) ADaM data, read as compressed Dataset-JSON,
reproduces the pilot's clinical study report: Table 14-3.01 (ADAS-Cog (11) change from baseline
to Week 24, LOCF: ANCOVA with site group and baseline, dose-response test on TRTPN) and the any-
TEAE percentages of Table 14-5.01. Provenance of data and numbers: tests/adam/data/README.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oasim.adam import AnalysisSpec, analyse_adam, read_adam_dir
from oasim.cli import app

PILOT = Path(__file__).parent / "data" / "cdiscpilot"
# CSR Table 14-3.01, as printed: difference (SE), 95% CI, p
PUBLISHED = {"Xanomeline Low Dose": (-0.5, 0.82, -2.1, 1.1, 0.569), "Xanomeline High Dose": (-1.0, 0.84, -2.7, 0.7, 0.233)}
PUBLISHED_DOSE_RESPONSE_P = 0.245
PUBLISHED_CHANGE = {"Placebo": (79, 2.5, 5.80), "Xanomeline Low Dose": (81, 2.0, 5.55), "Xanomeline High Dose": (74, 1.5, 4.26)}
PUBLISHED_ANY_TEAE_PCT = {"Placebo": 75.6, "Xanomeline Low Dose": 91.7, "Xanomeline High Dose": 90.5}


@pytest.fixture(scope="module")
def pilot():
    return analyse_adam(read_adam_dir(PILOT), AnalysisSpec(
        paramcd="ACTOT", visits=("Week 24",), population="EFFFL", where=(("ANL01FL", "Y"),),
        covariates=("SITEGR1",), trend="TRTPN"))


def test_primary_analysis_reproduces_csr_table_14_3_01(pilot):
    assert pilot.response == "CHG" and pilot.baseline == "BASE" and pilot.control == "Placebo"
    for row in pilot.pairwise.itertuples():
        est, se, lo, hi, p = PUBLISHED[row.arm]
        assert round(row.estimate, 1) == est and round(row.se, 2) == se
        assert (round(row.ci_low, 1), round(row.ci_high, 1)) == (lo, hi)
        assert round(row.p_value, 3) == p
    assert round(pilot.dose_response["p_value"].iloc[0], 3) == PUBLISHED_DOSE_RESPONSE_P
    chg = pilot.descriptive[pilot.descriptive["variable"] == "CHG"].set_index("arm")
    for arm, (n, mean, sd) in PUBLISHED_CHANGE.items():
        assert (chg.loc[arm, "n"], round(chg.loc[arm, "mean"], 1), round(chg.loc[arm, "sd"], 2)) == (n, mean, sd)


def test_any_teae_reproduces_csr_table_14_5_01(pilot):
    ov = pilot.ae_overview.set_index("arm")
    assert ov["n"].to_dict() == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    for arm, pct in PUBLISHED_ANY_TEAE_PCT.items():
        assert round(100 * ov.loc[arm, "any_teae"] / ov.loc[arm, "n"], 1) == pct


def test_cli_on_pilot_prints_the_documented_json(tmp_path):
    folder = tmp_path / "adam"
    shutil.copytree(PILOT, folder)
    result = CliRunner().invoke(app, ["analyse", str(folder), "--paramcd", "ACTOT", "--visit", "24", "--population",
                                      "EFFFL", "--where", "ANL01FL=Y", "--covariates", "SITEGR1", "--trend", "TRTPN",
                                      "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [round(p["estimate"], 1) for p in data["pairwise"]] == [-0.5, -1.0]
    assert round(data["dose_response"]["p_value"], 3) == PUBLISHED_DOSE_RESPONSE_P
    arms = [a["arm"] for a in data["ae_overview"]]
    assert arms == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert set(data["ae_overview"][0]) >= {"arm", "n", "any_teae", "related", "grade3_or_more", "serious",
                                           "leading_to_withdrawal"}
