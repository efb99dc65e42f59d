"""The arm table: schema, curated package data, malformed tables rejected by row and column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oasim.calibration.arms import (COLUMNS, OPTIONAL_COLUMNS, ArmTable, ArmTableError, arm_table_from_records, bundled_arm_table,
                                    control_rows, read_arm_table, skip_reason)
from oasim.cli import app
from oasim.errors import DataError, OasimError

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small_arms.csv"


def _records(path=SMALL):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_bundled_calibration_table_has_exactly_the_columns_and_a_source_for_every_arm():
    path = bundled_arm_table()
    with open(path, newline="") as fh:
        assert tuple(csv.reader(fh).__next__()) == COLUMNS + OPTIONAL_COLUMNS
    table = read_arm_table(path)
    frame = table.frame()
    # the rows whose source says SECONDARY (Gupta2016 chart data) and only they are flagged
    kinds = frame.groupby(["study", "arm"])["source_kind"].agg(set)
    secondary = {k for k, v in kinds.items() if v == {"secondary"}}
    how = pd.read_csv(path.parent / "sources.csv").set_index(["study", "arm"])["how"]
    assert secondary == {k for k in how.index if "SECONDARY" in how[k]} and secondary
    assert all(len(v) == 1 for v in kinds)
    sources = pd.read_csv(path.parent / "sources.csv")
    arms = set(zip(frame["study"], frame["arm"]))
    assert arms == set(zip(sources["study"], sources["arm"]))
    assert sources["source"].str.len().min() > 10
    # the published Gupta 2016 inverse dose-response at 12 months (VAS 20.6 at 25M, 46.6 at 150M)
    vas12 = frame[(frame["study"] == "Gupta2016") & (frame["endpoint"] == "vas_pain") & (frame["month"] == 12)]
    assert dict(zip(vas12["arm"], vas12["value"]))["cohort1_25M"] == pytest.approx(20.6)
    assert dict(zip(vas12["arm"], vas12["value"]))["cohort2_150M"] == pytest.approx(46.6)


@pytest.mark.parametrize("column, bad, row, match", [
    ("product", "platelet_rich_plasma", 2, "product"),
    ("n", "0", 3, "n"),
    ("month", "-1", 1, "month"),
    ("kl_grades", "0-5", 2, "kl_grades"),
    ("injection_days", "30;0", 4, "injection_days"),
    ("spread_low", "", 1, "spread_low"),   # sd declared but missing
    ("value", "1.4", 5, "value"),          # a proportion above 1
    ("source_kind", "tertiary", 2, "source_kind"),  # the optional column's vocabulary
])
def test_malformed_rows_are_rejected_naming_row_and_column(column, bad, row, match):
    records = _records()
    records[row - 1][column] = bad
    with pytest.raises(ArmTableError) as info:
        arm_table_from_records(records, "t.csv")
    assert info.value.row == row and info.value.column == match
    assert f"row {row}" in str(info.value) and isinstance(info.value, DataError)


def test_one_design_per_arm_and_missing_or_extra_columns_are_rejected(tmp_path):
    records = _records()
    records[1]["dose"] = "5e7"  # row 2 belongs to the Saline arm of row 1 ... change its design
    records[1]["product"] = "msc"
    records[1]["cell_source"] = "adipose"
    records[1]["dose_unit"] = "cells"
    with pytest.raises(ArmTableError, match="row 2, column product"):
        arm_table_from_records(records)
    df = pd.read_csv(SMALL, dtype=str, keep_default_na=False)
    df.drop(columns=["n"]).to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(ArmTableError, match="header, column n"):
        read_arm_table(tmp_path / "missing.csv")
    df.assign(source="x").to_csv(tmp_path / "extra.csv", index=False)
    with pytest.raises(ArmTableError, match="header, column source"):
        read_arm_table(tmp_path / "extra.csv")


def test_cli_refuses_a_malformed_table_with_exit_code_2(tmp_path):
    text = SMALL.read_text().replace("TinyRCT,HA,hyaluronic_acid", "TinyRCT,HA,honey", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    result = CliRunner().invoke(app, ["validate-against", str(bad), "--replicates", "2"])
    assert result.exit_code == 2
    assert "row 4, column product" in result.output and "honey" in result.output


def test_rows_that_cannot_be_simulated_say_why():
    table = read_arm_table(SMALL)
    reasons = {i + 1: skip_reason(r) for i, r in enumerate(table.rows)}
    assert reasons[10] == "dose of the exosome arm not reported"
    assert all(reasons[i] is None for i in range(1, 10))


def test_a_treated_arm_is_paired_with_its_control_rows():
    """A cell arm's rows pair with its control arm's row of the same endpoint, statistic and
    month: the study's only saline/HA arm, or the one its control_arm names; a study with two
    such arms and no control_arm pairs nothing; a bad control_arm is refused by row and column."""
    records = [dict(r) for r in _records()]
    # TinyRCT has two control arms (Saline, HA): ambiguous, nothing paired
    assert control_rows(arm_table_from_records(records)) == {}
    for r in records:
        if r["arm"] == "UC-MSC + HA":
            r["control_arm"] = "Saline"
            r["statistic"] = "mean" if r["endpoint"] == "vas_pain" else r["statistic"]
    records[6]["month"] = "3"  # the UC-MSC VAS row at month 3, as the Saline arm's row 2
    pairs = control_rows(arm_table_from_records(records))
    assert pairs == {7: 2, 6: 1}  # month 3 and month 0 VAS rows; AE and MRI rows have no Saline match
    # the same with only one control arm in the study and no control_arm: paired by default
    single = [dict(r, control_arm="") for r in records if r["arm"] != "HA"]
    assert control_rows(arm_table_from_records(single)) == {4: 1, 5: 2}
    # the bundled table: Gupta2016's cohorts each have their own placebo arm
    bundled = read_arm_table(bundled_arm_table())
    gupta = {(bundled.rows[i - 1].arm, bundled.rows[j - 1].arm) for i, j in control_rows(bundled).items()
             if bundled.rows[i - 1].study == "Gupta2016"}
    assert gupta == {("cohort1_25M", "cohort1_placebo_P1"), ("cohort1_50M", "cohort1_placebo_P1"),
                     ("cohort2_75M", "cohort2_placebo_P2"), ("cohort2_150M", "cohort2_placebo_P2")}
    bad = [dict(r) for r in records]
    bad[5]["control_arm"] = "Placebo"  # not an arm of TinyRCT
    with pytest.raises(ArmTableError) as info:
        arm_table_from_records(bad)
    assert info.value.column == "control_arm" and "Saline" in str(info.value)
    bad = [dict(r) for r in records]
    bad[0]["control_arm"] = "HA"  # a saline arm has no control
    with pytest.raises(ArmTableError, match="column control_arm"):
        arm_table_from_records(bad)


def test_control_arm_changes_the_digest_but_not_what_is_simulated():
    """control_arm is read only by the likelihood: a table that gains it has a new digest (the
    data a calibration is fitted to) and the same simulation digest (a design simulated for the
    table without it serves), and a table without it digests as before the column existed."""
    bundled = read_arm_table(bundled_arm_table())
    stripped = ArmTable(tuple(r.model_copy(update={"control_arm": None}) for r in bundled.rows))
    assert bundled.digest() != stripped.digest()
    assert bundled.simulation_digest() == stripped.simulation_digest() == stripped.digest()
    # the digest of the bundled table before control_arm was added (commit 3dc4584)
    assert stripped.digest() == "0c436046261062d0"
