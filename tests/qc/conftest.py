"""Shared fixtures for the lot-QC tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# Real instrument FCS files shipped with the tests (provenance in tests/data/README.md).
REAL_FCS = REPO / "tests" / "data" / "fcs"


@pytest.fixture
def real_fcs() -> Path:
    """The shipped FCS folder; a missing file fails the reading test, never skips it."""
    return REAL_FCS


@pytest.fixture
def demo_lot() -> Path:
    return EXAMPLES / "lot_demo"


@pytest.fixture
def failing_lot() -> Path:
    return EXAMPLES / "lot_demo_failing"
