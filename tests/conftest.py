"""Shared fixtures: the model, the human parameter set and a compiled solver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oasim.model import KneeModel
from oasim.parameters import ParameterSet

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def model() -> KneeModel:
    return KneeModel()


@pytest.fixture(scope="session")
def human() -> ParameterSet:
    return ParameterSet.load("human")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)
