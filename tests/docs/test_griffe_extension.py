"""The API reference's docstring rewrite (docs/_gen/griffe_oasim.py): ``name : long description``
entries move the description out of the numpy *type* slot; real types and free text stay."""

from __future__ import annotations

import runpy

from .conftest import REPO

rewrite = runpy.run_path(str(REPO / "docs/_gen/griffe_oasim.py"))["rewrite"]

DOC = """Simulate.

Parameters
----------
parameter_set : name of a packaged set (``"human"``) or a ``.toml`` path
y : mapping or sequence
    State values by name.
rng : numpy.random.Generator or int, optional

Notes
-----
alpha : this line is prose in Notes, not an entry at all
See :class:`~oasim.protocol.Dose` and :func:`oasim.api.run`.
"""


def test_long_entries_become_descriptions_and_types_stay():
    lines = rewrite(DOC).splitlines()
    i = lines.index("parameter_set")
    assert lines[i + 1] == '    name of a packaged set (``"human"``) or a ``.toml`` path'
    assert "y : mapping or sequence" in lines
    assert "rng : numpy.random.Generator or int, optional" in lines
    assert "alpha : this line is prose in Notes, not an entry at all" in lines


def test_sphinx_roles_become_code_spans():
    text = rewrite(DOC)
    assert "See `Dose` and `oasim.api.run`." in text and ":class:" not in text
