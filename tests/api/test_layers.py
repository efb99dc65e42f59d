"""No import runs back up the spine: the report does not import the trial, the trial does not load
scenarios, and the data package has no cycle (imports under ``if TYPE_CHECKING:`` never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def runtime_imports(path: Path) -> set[str]:
    """Absolute names of the oasim modules ``path`` imports when it runs (module-level or local)."""
    module = ".".join(path.relative_to(SRC).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if package.endswith(".__init__"):
        package = package.removesuffix(".__init__")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skip.update(n for stmt in node.body for n in ast.walk(stmt))
    out = set()
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            target = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
            target = f"{target}.{node.module}".strip(".") if node.module else target
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("oasim")}


def modules(package: str) -> list[Path]:
    return sorted((SRC / package.replace(".", "/")).rglob("*.py"))


# power.py and design_sweep.py drive many trials: they build scenarios, above the run path
DRIVERS = ("oasim/trial/power.py", "oasim/trial/design_sweep.py")


@pytest.mark.parametrize(("package", "forbidden"), [
    ("oasim.report", "oasim.trial"),
    ("oasim.trial", "oasim.scenario"),
    ("oasim.data", "oasim.trial"),
    ("oasim.data", "oasim.report"),
])
def test_no_import_runs_back_up(package, forbidden):
    offenders = {str(p.relative_to(SRC)): sorted(m for m in runtime_imports(p) if m.startswith(forbidden))
                 for p in modules(package) if str(p.relative_to(SRC)) not in DRIVERS}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_data_package_has_no_cycle():
    assert not any(m.startswith("oasim.data.tables") for m in runtime_imports(SRC / "oasim/data/dataset.py"))


def test_the_checker_sees_local_imports_and_skips_type_checking(tmp_path):
    assert "oasim.trial.summary.TrialSummary" not in runtime_imports(SRC / "oasim/report/trial.py")
    assert "oasim.data.dataset.TrialDataset" in runtime_imports(SRC / "oasim/data/tables.py")
    assert "oasim.report.write_trial_report" in runtime_imports(SRC / "oasim/trial/run.py")  # a local import
