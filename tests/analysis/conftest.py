"""Shared fixtures of the analysis tests: reference data sets and reference-number tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

# The data sets themselves (SAS/R inputs, provenance in tests/data/README.md).
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
# The SAS/R reference numbers computed on them.
DATA_DIR = Path(__file__).parent / "data"


def read_reference(name: str, **read_csv_options) -> pd.DataFrame:
    """Read a reference-number CSV from ``tests/analysis/data`` (``#`` lines are provenance)."""
    return pd.read_csv(DATA_DIR / name, comment="#", keep_default_na=False, **read_csv_options)


def _reference_csv(name: str) -> Path:
    """A shipped reference data set; a missing file is a failure (FileNotFoundError), never a skip."""
    return REFERENCE_DIR / name


@pytest.fixture(scope="session")
def ancova_drug() -> pd.DataFrame:
    return pd.read_csv(_reference_csv("ancova_drug.csv"))


@pytest.fixture(scope="session")
def fev_data() -> pd.DataFrame:
    data = pd.read_csv(_reference_csv("fev_data.csv"))
    order = {
        "AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"],
        "ARMCD": ["PBO", "TRT"],
        "RACE": ["Asian", "Black or African American", "White"],
        "SEX": ["Male", "Female"],
    }
    for column, levels in order.items():
        data[column] = pd.Categorical(data[column], categories=levels)
    return data


@pytest.fixture(scope="session")
def adcibc() -> pd.DataFrame:
    return pd.read_csv(_reference_csv("adcibc.csv"), index_col=0)
