"""Packaging: every imported third-party package is declared; a missing extra is a named error."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

from oasim.errors import OasimError
from oasim.extras import EXTRAS, MissingExtraError, require

REPO = Path(__file__).resolve().parents[1]
# import name -> distribution name, where they differ
DISTRIBUTION = {"libsbml": "python-libsbml", "roadrunner": "libroadrunner", "sklearn": "scikit-learn",
                "pydantic_core": "pydantic-core", "yaml": "pyyaml",
                "PIL": "pillow", "tomli_w": "tomli-w"}


def _imported(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("oasim", "tests", "benchmarks")}


def _declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_every_imported_package_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = _declared(project["dependencies"])
    optional = core | {d for reqs in extras.values() for d in _declared(reqs)}

    def dist(name: str) -> str:
        return DISTRIBUTION.get(name, name).lower().replace("_", "-")

    undeclared = sorted(n for n in _imported(REPO / "src" / "oasim") if dist(n) not in optional)
    assert undeclared == [], f"imported by src/oasim but not declared in pyproject.toml: {undeclared}"
    untested = sorted(n for n in _imported(REPO / "tests") if dist(n) not in optional)
    assert untested == [], f"imported by tests but not in any extra: {untested}"
    for module, extra in EXTRAS.items():  # the error names an extra that really installs the module
        assert dist(module) in _declared(extras[extra]), (module, extra)
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) == {"qc", "sbml", "dask", "dashboard"}
    assert "oasim[all]" in extras["test"]


@pytest.mark.parametrize("module, extra", [("flowkit", "qc"), ("libsbml", "sbml"), ("roadrunner", "sbml")])
def test_a_missing_extra_names_what_to_install(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(MissingExtraError, match=re.escape(f"pip install 'oasim[{extra}]'")) as info:
        require(module, "this feature")
    assert isinstance(info.value, OasimError) and info.value.extra == extra


def test_sbml_export_without_libsbml_is_a_named_error(monkeypatch, tmp_path):
    from oasim.interop.sbml import export_sbml

    monkeypatch.setitem(sys.modules, "libsbml", None)
    with pytest.raises(MissingExtraError, match=r"oasim\[sbml\]"):
        export_sbml(tmp_path / "knee.xml")
    assert not (tmp_path / "knee.xml").exists()
