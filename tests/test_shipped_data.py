"""The data files the validation tests read are shipped in the repo, unchanged (no skips)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
TESTS = Path(__file__).resolve().parent
# | `reference/fev_data.csv` | 84618 | `371d…` |
ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$", re.MULTILINE)
LISTED = ROW.findall((DATA / "README.md").read_text(encoding="utf-8"))


def test_readme_lists_every_shipped_file():
    shipped = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "README.md")
    assert sorted(name for name, _, _ in LISTED) == shipped


@pytest.mark.parametrize(("name", "n_bytes", "sha256"), LISTED, ids=[row[0] for row in LISTED])
def test_shipped_file_matches_its_provenance_checksum(name, n_bytes, sha256):
    content = (DATA / name).read_bytes()  # a missing file raises: a failure, not a skip
    assert len(content) == int(n_bytes)
    assert hashlib.sha256(content).hexdigest() == sha256


def test_no_test_reads_outside_the_repo():
    offending = []
    for path in TESTS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("/work/", '"shared"', "../shared", "pytest.skip(", "pytest.importorskip("):
            if needle in text and path.name != Path(__file__).name:
                offending.append(f"{path.relative_to(TESTS)}: {needle}")
    assert offending == []
