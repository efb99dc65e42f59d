"""The numbered examples in the qc docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

MODULES = ["criteria", "flow", "isct", "lot", "nta"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"oasim.qc.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    # every ">>>" line of the module not marked +SKIP is an example that ran (zero cannot pass)
    lines = inspect.getsource(module).splitlines()
    n_prompts = sum(line.lstrip().startswith(">>> ") and "+SKIP" not in line for line in lines)
    assert n_prompts >= 1 and result.attempted == n_prompts
    assert result.failed == 0
