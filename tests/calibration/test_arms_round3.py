"""Round 3 of the calibration table: arms read by hand from primary sources.

``scripts/data/arms_round3.csv`` holds each row with its page, how it was read (or derived, with
the formula) and a verbatim quote from the page. These tests check that what the file says was
read is in its quote, that the curation script appended exactly these rows to the bundled table,
and that the rows curated before round 3 did not change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from oasim.calibration.arms import COLUMNS, ArmTable, arm_table_from_records, bundled_arm_table, read_arm_table

ROUND3 = Path(__file__).resolve().parents[2] / "scripts" / "data" / "arms_round3.csv"
EXCLUDED3 = ROUND3.with_name("arms_round3_excluded.csv")
# digest of the 98 rows of the bundled table before round 3 (ArmTable.digest of main's arms.csv)
ROWS_BEFORE_ROUND3 = 98
DIGEST_BEFORE_ROUND3 = "65c045ba22e78682"


def _round3() -> pd.DataFrame:
    return pd.read_csv(ROUND3, dtype=str, keep_default_na=False)


def _number_in(text: str, number: str) -> bool:
    """``number`` (as written, e.g. '7' or '4.2') is a whole number token of ``text``."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])(?!\.\d)", text) is not None


def test_number_tokens_are_matched_whole():
    assert _number_in("from 5 (3, 7) to 4 (3, 5)", "7") and _number_in("2 (0,4)", "4")
    assert not _number_in("15.2 (11)", "5.2") and not _number_in("15 (11)", "1") and not _number_in("4.25", "4.2")


def test_every_read_value_and_spread_is_in_its_quote():
    df = _round3()
    read = df[df["how"].str.startswith("read")]
    assert len(read) > 0
    missing = []
    for i, r in read.iterrows():
        for col in ("value", "spread_low", "spread_high"):
            if r[col] != "" and not _number_in(r["quote"], r[col]):
                missing.append((i + 2, col, r[col]))
    assert missing == []


def test_round3_rows_are_primary_sourced_and_quoted():
    df = _round3()
    assert list(df.columns) == list(COLUMNS) + ["source_kind", "source", "how", "quote"]
    assert set(df["source_kind"]) == {"primary"}
    assert df["source"].str.contains("https://").all()
    assert df["how"].str.match(r"^(read|derived): ").all()
    assert (df["quote"].str.len().between(1, 300)).all()
    # derived rows write their formula down
    assert df.loc[df["how"].str.startswith("derived"), "how"].str.contains("=").all()
    # the rows validate as an arm table (vocabulary, one design per arm)
    arm_table_from_records(df.to_dict("records"), str(ROUND3))


def test_bundled_table_is_the_previous_rows_then_round3():
    table = read_arm_table(bundled_arm_table())
    # the rows before round 3 are unchanged but for the control_arm column added later (Gupta2016's cohorts)
    before = tuple(r.model_copy(update={"control_arm": None}) for r in table.rows[:ROWS_BEFORE_ROUND3])
    assert ArmTable(before).digest() == DIGEST_BEFORE_ROUND3
    round3 = arm_table_from_records(_round3().to_dict("records"))
    assert table.rows[ROWS_BEFORE_ROUND3:] == round3.rows
    sources = pd.read_csv(bundled_arm_table().parent / "sources.csv")
    for study, arm in {(r.study, r.arm) for r in round3.rows}:
        src = sources[(sources["study"] == study) & (sources["arm"] == arm)]
        assert len(src) == 1 and "https://" in src["source"].iloc[0]


def test_round3_exclusions_are_listed_with_a_reason():
    excluded = pd.read_csv(EXCLUDED3, dtype=str, keep_default_na=False)
    assert list(excluded.columns) == ["study", "arm", "endpoint", "reason"]
    assert (excluded["reason"].str.len() > 20).all()
    bundled = pd.read_csv(bundled_arm_table().parent / "excluded.csv", dtype=str, keep_default_na=False)
    listed = set(map(tuple, bundled[["study", "arm", "endpoint"]].to_numpy()))
    assert set(map(tuple, excluded[["study", "arm", "endpoint"]].to_numpy())) <= listed


@pytest.mark.parametrize("study, arm, endpoint, month, value", [
    # Lamo-Espinosa 2016 abstract: VAS 5 (3, 7) -> 4 (3, 5) control, 6 (4, 8) -> 2 (0, 4) at 100M
    ("LamoEspinosa2016", "HA control", "vas_pain", 12, 4.0),
    ("LamoEspinosa2016", "BM-MSC 100M + HA", "vas_pain", 0, 6.0),
    # Table 2: overall WOMAC of the high dose at 12 months, 16.5 (12, 19)
    ("LamoEspinosa2016", "BM-MSC 100M + HA", "womac_total", 12, 16.5),
])
def test_published_values_reach_the_bundled_table(study, arm, endpoint, month, value):
    frame = read_arm_table(bundled_arm_table()).frame()
    hit = frame[(frame.study == study) & (frame.arm == arm) & (frame.endpoint == endpoint) & (frame.month == month)]
    assert hit["value"].tolist() == [value]
