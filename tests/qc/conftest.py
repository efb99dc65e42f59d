"""Shared fixtures for the lot-QC tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# CI runs in a fresh clone with a copy of shared/ beside it: <repo>/../shared
SHARED_FCS = REPO.parent / "shared" / "data" / "fcs"


@pytest.fixture
def shared_fcs() -> Path:
    if not SHARED_FCS.is_dir():
        pytest.skip(f"real FCS files not found at {SHARED_FCS} (shared/ is expected beside the repo)")
    return SHARED_FCS


@pytest.fixture
def demo_lot() -> Path:
    return EXAMPLES / "lot_demo"


@pytest.fixture
def failing_lot() -> Path:
    return EXAMPLES / "lot_demo_failing"
