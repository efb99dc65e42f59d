"""Shared fixtures of the documentation tests: the page generator and one run of every tutorial."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "docs" / "_gen" / "pages.py"


def load_generator():
    """``docs/_gen/pages.py`` as a module (its page writing runs only under mkdocs-gen-files)."""
    spec = importlib.util.spec_from_file_location("oasim_docs_pages", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pages():
    return load_generator()


@pytest.fixture(scope="session")
def tutorial_runs(pages, tmp_path_factory):
    """Every tutorial run once from the repository root: ``{name: (stdout, seconds, out_dir)}``.

    The captured outputs are also written to ``<tmp>/<name>.txt`` (``runs.dir``) so that the
    docs build test renders the site from this very run; run times go to ``timings.json``.
    """
    root = tmp_path_factory.mktemp("tutorials")
    runs = {}
    for name in pages.TUTORIALS:
        stdout, seconds = pages.run_tutorial(name, root / "out")
        (root / f"{name}.txt").write_text(stdout, "utf-8")
        runs[name] = (stdout, seconds, root / "out" / name)
    (root / "timings.json").write_text(json.dumps({k: round(v[1], 2) for k, v in runs.items()}, indent=1))
    runs_dir = root
    return {"dir": runs_dir, "runs": runs}
