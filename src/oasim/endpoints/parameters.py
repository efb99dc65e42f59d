"""The observation-model parameters (same data format and checks as the model's sets)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..parameters import ParameterSet


@lru_cache(maxsize=4)
def load_observation_parameters(name: str = "observation_human") -> ParameterSet:
    """Load ``endpoints/<name>.toml`` (every entry with value, unit and source)."""
    path = resources.files("oasim.endpoints").joinpath(f"{name}.toml")
    return ParameterSet.load(str(path))
