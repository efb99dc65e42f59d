"""Architecture numbers for issue 17: the walk of a trial scenario from the CLI to the report,
and the largest modules and functions.

    python tools/walk.py SRC_DIR [SCENARIO]      # e.g. python tools/walk.py src

* rooms: oasim modules outside the ground floor (model, parameters, solvers, analysis,
  trial.escalation) and outside the shared services (errors, io, units, provenance, extras,
  odemodel, the package itself) whose code runs during ``oasim run SCENARIO --out TMP``
  (traced with ``sys.setprofile`` in a subprocess that imports from SRC_DIR);
* climbs: ``import`` statements (module-level or local; not those under ``if TYPE_CHECKING:``,
  which never run) from one room to a room earlier in the
  flow cli → commands → api → scenario → trial.run → trial.conduct → population, protocol,
  simulation, readouts → endpoints → data → trial.analyse → report;
* cycles: pairs of rooms that import each other.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

GROUND = ("oasim.model", "oasim.parameters", "oasim.solvers", "oasim.analysis", "oasim.trial.escalation")
SERVICES = ("oasim.errors", "oasim.io", "oasim.units", "oasim.provenance", "oasim.extras", "oasim.odemodel")
FLOW = [("oasim.cli",), ("oasim.commands",), ("oasim.api", "oasim.results"), ("oasim.scenario",),
        ("oasim.trial.run",), ("oasim.trial",), ("oasim.population", "oasim.protocol", "oasim.simulation",
                                                  "oasim.readouts"),
        ("oasim.endpoints",), ("oasim.data", "oasim.adam"), ("oasim.trial.analyse",), ("oasim.report",)]

TRACE = r"""
import json, sys
seen = set()
def hook(frame, event, arg):
    if event == "call":
        name = frame.f_globals.get("__name__", "")
        if name.startswith("oasim"):
            seen.add(name)
sys.setprofile(hook)
from oasim.cli import app
try:
    app(["run", sys.argv[1], "--out", sys.argv[2]], standalone_mode=False)
finally:
    sys.setprofile(None)
    print("SEEN" + json.dumps(sorted(seen)))
"""


def _rank(module: str) -> int | None:
    best = None
    for rank, prefixes in enumerate(FLOW):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return None if best is None else best[0]


def _is_room(module: str) -> bool:
    return module != "oasim" and not module.startswith(GROUND) and not module.startswith(SERVICES)


def _module_file(src: Path, module: str) -> Path | None:
    base = src.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """Import nodes under ``if TYPE_CHECKING:`` (annotations only: never run)."""
    out = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
                                         or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")):
            out.update(n for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(src: Path, module: str) -> set[str]:
    path = _module_file(src, module)
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if node in _type_checking_only(tree):
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in out if m.startswith("oasim") and _module_file(src, m) is not None}


def sizes(src: Path, top: int = 5) -> dict:
    modules, functions = [], []
    for path in sorted((src / "oasim").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(src))
        modules.append((len(text.splitlines()), rel))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.name}"))
    modules.sort(reverse=True)
    functions.sort(reverse=True)
    return {"largest_modules_lines": modules[:top], "largest_functions_lines": functions[:top]}


def walk(src: Path, scenario: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(src)}
        proc = subprocess.run([sys.executable, "-c", TRACE, str(scenario), str(Path(tmp) / "out")], env=env,
                              capture_output=True, text=True, check=True)
    seen = json.loads(proc.stdout.split("SEEN", 1)[1])
    rooms = sorted(m for m in seen if _is_room(m) and _module_file(src, m) is not None)
    climbs, cycles = [], set()
    graph = {m: _imports(src, m) & set(rooms) for m in rooms}
    for m, targets in graph.items():
        for t in sorted(targets):
            if t == m:
                continue
            rm, rt = _rank(m), _rank(t)
            if rm is not None and rt is not None and rt < rm:
                climbs.append(f"{m} -> {t}")
            if m in graph.get(t, ()):
                cycles.add(" <-> ".join(sorted((m, t))))
    return {"rooms": rooms, "n_rooms": len(rooms), "climbs": climbs, "n_climbs": len(climbs),
            "cycles": sorted(cycles)}


if __name__ == "__main__":
    src = Path(sys.argv[1]).resolve()
    repo = Path(__file__).resolve().parents[1]
    scenario = Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "examples" / "hucmsc_exosome_trial.toml"
    print(json.dumps({"src": str(src), **walk(src, scenario.resolve()), **sizes(src)}, indent=1))
