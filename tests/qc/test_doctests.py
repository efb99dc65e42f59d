"""The numbered examples in the qc docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["criteria", "flow", "isct", "lot", "nta"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"oasim.qc.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
