"""The generated scenario reference lists every table and field that the shipped example
scenarios use, under the heading of their kind and table path (so the page a newcomer reads
when writing a scenario covers what the examples write)."""

from __future__ import annotations

import re
import tomllib

import pytest

from .conftest import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.toml"))


def _sections(page: str) -> dict[tuple[str, str], str]:
    """(kind, table heading such as '' / '[design]' / '[[design.cohorts]]') -> section text."""
    out = {}
    for block in re.split(r"^## ", page, flags=re.M)[1:]:
        kind = re.match(r'`kind = "(\w+)"`', block).group(1)
        parts = re.split(r"^### ", block, flags=re.M)
        out[(kind, "")] = parts[0]
        out.update({(kind, part.splitlines()[0].strip("`")): part for part in parts[1:]})
    return out


def _check(sections, kind: str, data: dict, path: str, heading: str, where: str) -> int:
    """Every key of ``data`` has a row in its section; nested tables recurse. Returns rows checked."""
    text = sections[(kind, heading)]
    checked = 0
    for key, value in data.items():
        row = re.search(rf"^\| `{re.escape(key)}` \| (.*?) \|", text, re.M)
        assert row, f"{where}: field {key!r} missing under {heading or 'the top level'} of kind {kind}"
        checked += 1
        sub = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            if (kind, f"[{sub}]") in sections:
                checked += _check(sections, kind, value, sub, f"[{sub}]", where)
            else:  # a free-form table (e.g. the program's trial scenario body): typed 'table' in its row
                assert "table" in row.group(1), f"{where}: {sub} is a table but documented as {row.group(1)}"
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                checked += _check(sections, kind, item, sub, f"[[{sub}]]", where)
    return checked


@pytest.fixture(scope="module")
def sections(pages):
    return _sections(pages.scenario_reference_page())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_field_of_the_example_is_documented(sections, example):
    data = tomllib.loads(example.read_text("utf-8"))
    assert _check(sections, data.get("kind", "trial"), data, "", "", example.name) >= 10
