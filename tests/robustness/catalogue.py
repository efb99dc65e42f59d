"""Issue 11's catalogue of hostile inputs, run through the command line (and a few API calls).

Every case runs in a fresh folder as a subprocess with a timeout and is classified:

* ``named``     exit code 2 and an ``error:`` / usage message, no traceback (the wanted outcome);
* ``handled``   the case is legitimate and the result shows the right decision (see ``check``);
* ``traceback`` a Python traceback reached the user;
* ``hang``      the timeout expired;
* ``silent``    the hostile input was accepted (exit 0 or 1) without an error.

Scenario cases run ``oasim validate`` first; only when it accepts the file does ``oasim run``
decide the case (``validate`` then also counts as having accepted what ``run`` rejected when
``run`` fails). Usage::

    python tests/robustness/catalogue.py                    # this checkout's src/
    python tests/robustness/catalogue.py --src /tmp/old/src # another version of the code
    python tests/robustness/catalogue.py --only S --timeout 60

Prints one line per case and the count table. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import tomli_w

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TRIAL = HERE / "data" / "trial.toml"
LOT = REPO / "examples" / "lot_demo"


def small_trial() -> dict:
    """A small, quick version of the example trial: 2 cohorts of 3 + 1, three visits, no MMRM."""
    data = tomllib.loads(TRIAL.read_text("utf-8"))
    data["design"]["cohorts"] = [dict(c, n_active=3, n_placebo=1) for c in data["design"]["cohorts"][:2]]
    data["design"]["block_size"] = 4
    data["visits"] = {"months": [0, 1, 6], "mri_months": [0, 6]}
    data["analysis"].update(mmrm=False, endpoints=["WOMAC_TOTAL", "MRI_THICK_MM", "SF_IL1B_PG_ML"])
    data["output"] = {"figures": False}
    return data


def _set(data: dict, dotted: str, value) -> dict:
    target = data
    *path, last = dotted.split(".")
    for part in path:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


@dataclass
class Case:
    """One hostile input. ``setup(folder) -> argv`` writes what it needs and returns the command
    (``["oasim", ...]`` runs the CLI; ``["python", code]`` runs code that exits 2 on an OasimError)."""

    name: str
    setup: Callable[[Path], list[str]]
    scenario: bool = False  # validate first, then run
    check: Callable[[Path, str], bool] | None = None  # legitimate input: True = handled right
    notes: str = field(default="")


def scenario_case(name: str, edit: Callable[[dict], dict] | None = None, text: bytes | None = None,
                  check=None) -> Case:
    def setup(folder: Path) -> list[str]:
        path = folder / "scenario.toml"
        if text is not None:
            path.write_bytes(text)
        else:
            path.write_text(tomli_w.dumps(edit(small_trial())), "utf-8")
        return ["oasim", str(path)]
    return Case(name, setup, scenario=True, check=check)


def mutate(*pairs) -> Callable[[dict], dict]:
    def edit(data: dict) -> dict:
        for dotted, value in zip(pairs[::2], pairs[1::2]):
            _set(data, dotted, value)
        return data
    return edit


def distinct_arms(folder: Path, _output: str) -> bool:
    """1e11 and 1.0004e11 particles must stay two arms (or be refused)."""
    summary = json.loads((folder / "out" / "summary.json").read_text())
    active = [a for a in summary["arms"] if a["arm"] != "Placebo"]
    return len(active) == 2


def completed(folder: Path, _output: str) -> bool:
    """A legitimate input: handled when the run wrote its summary."""
    return (folder / "out" / "summary.json").is_file()


def cli(*args: str) -> Callable[[Path], list[str]]:
    return lambda folder: ["oasim", *args]


def api(code: str) -> Callable[[Path], list[str]]:
    wrapped = ("import sys\nfrom oasim.errors import OasimError\ntry:\n"
               + "".join(f"    {line}\n" for line in code.strip().splitlines())
               + "except OasimError as exc:\n    print(f'error: {exc}', file=sys.stderr)\n    sys.exit(2)\n")
    return lambda folder: ["python", wrapped]


def lot_case(name: str, edit_toml: Callable[[str], str] | None = None, args=(), extra=None) -> Case:
    def setup(folder: Path) -> list[str]:
        lot = folder / "lots" / "a" / "lot"
        shutil.copytree(LOT, lot)
        if edit_toml is not None:
            (lot / "lot.toml").write_text(edit_toml((lot / "lot.toml").read_text("utf-8")), "utf-8")
        if extra is not None:
            extra(lot)
        return ["oasim", "qc", str(lot), *args]
    return Case(name, setup)


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def _nan_fcs(lot: Path) -> None:
    """Rewrite the positive tube with one NaN and one 1e30 event in every channel."""
    import flowio
    import numpy as np

    path = lot / "flow" / "msc_positive_panel.fcs"
    fcs = flowio.FlowData(str(path))
    events = np.asarray(fcs.as_array(preprocess=False), dtype=np.float32).copy()
    events[0, :] = np.nan
    events[1, :] = 1e30
    names = list(fcs.pnn_labels)
    with open(path, "wb") as handle:
        flowio.create_fcs(handle, events.ravel().tolist(), names)


SBML_LOAD = ("from oasim.interop.sbml.importer import load\nimport numpy as np\n"
             "m = load('{path}')\nsol = m.simulate(np.linspace(0, 1, 3))\nprint(sol.states[0, -1])\n")


def sbml_case(name: str, attribute: str, value: str) -> Case:
    def setup(folder: Path) -> list[str]:
        text = (REPO / "tests" / "interop" / "data" / "hostile_base.xml").read_text()
        path = folder / "model.xml"
        path.write_text(text.replace(f'{attribute}="1"', f'{attribute}="{value}"', 1))
        return api(SBML_LOAD.format(path=path))(folder)
    return Case(name, setup)


POWER_TRUNCATED = """import sys
from pathlib import Path
try:  # a folder the code under test started (since resume_stamp.json: an unstamped one is refused first)
    from oasim.distributed import claim_resumable_dir
    claim_resumable_dir("power", "power")
except ImportError:  # older code: no stamp
    Path("power").mkdir()
for name in ("chunk_000000_000002.parquet", "chunk_0000000_0000002.parquet"):  # d8d0671's and later names
    Path("power", name).write_bytes(b"PAR1\\x00\\x00truncated")
sys.argv = ["oasim", "power", "scenario.toml", "--trials", "2", "--chunk-size", "2", "--out", "power"]
from oasim.cli import main
main()
"""


def power_truncated_chunk(folder: Path) -> list[str]:
    path = folder / "scenario.toml"
    path.write_text(tomli_w.dumps(small_trial()), "utf-8")
    return ["python", POWER_TRUNCATED]


POP5 = ("from oasim.parameters import ParameterSet\nfrom oasim.population import Population\n"
        "from oasim.protocol import Dose\nfrom oasim.simulation import simulate\nimport numpy as np\n"
        "pop = Population.sample(ParameterSet.load('human'), 5, np.random.default_rng(1))\n"
        "d = [Dose('exosome', 3e11, 'particles')]\n")

CASES: list[Case] = [
    # scenario files: run through validate, then run
    scenario_case("S01 dose 1e300 particles", mutate("design.cohorts.1.dose", 1e300)),
    scenario_case("S02 dose inf", mutate("design.cohorts.1.dose", math.inf)),
    scenario_case("S03 dose nan", mutate("design.cohorts.1.dose", math.nan)),
    scenario_case("S04 kl_grades = []", mutate("population.inclusion.kl_grades", [])),
    scenario_case("S05 ages the sampler never draws", mutate("population.inclusion.age_min_y", 85,
                                                             "population.inclusion.age_max_y", 95)),
    scenario_case("S06 BMI ceiling below the sampler floor", mutate("population.inclusion.bmi_max_kg_per_m2", 17)),
    scenario_case("S07 binary file", text=bytes(range(256)) * 4),
    scenario_case("S08 UTF-16 file", text=tomli_w.dumps(small_trial()).encode("utf-16")),
    scenario_case("S09 empty file", text=b""),
    scenario_case("S10 kind = [1]", mutate("kind", [1])),
    scenario_case("S11 visits.months = []", mutate("visits.months", [], "visits.mri_months", [])),
    scenario_case("S12 baseline-only visits", mutate("visits.months", [0], "visits.mri_months", [0],
                                                    "analysis.primary_visit_month", 0)),
    scenario_case("S13 dropout rate 1 per year (legitimate)", mutate("dropout.rate_per_year", 1.0), check=completed),
    scenario_case("S14 dropout rate 2 per year (legitimate)", mutate("dropout.rate_per_year", 2.0), check=completed),
    scenario_case("S15 injection day 1e300", mutate("schedule.injection_days", [0, 1e300])),
    scenario_case("S16 visit month 1e300", mutate("visits.months", [0, 1, 6, 1e300])),
    scenario_case("S17 unknown parameter set", mutate("model.parameter_set", "no_such_set")),
    scenario_case("S18 parameter set is a binary .toml file", mutate("model.parameter_set", "binary.toml")),
    scenario_case("S19 design = 5", mutate("design", 5)),
    scenario_case("S20 alpha nan", mutate("analysis.alpha", math.nan)),
    scenario_case("S21 sentinel_days nan", mutate("design.sentinel_days", math.nan)),
    scenario_case("S22 rtol nan", mutate("model.rtol", math.nan)),
    scenario_case("S23 primary_visit_month nan", mutate("analysis.primary_visit_month", math.nan)),
    scenario_case("S24 particles_per_ug inf", mutate("product.particles_per_ug", math.inf)),
    scenario_case("S25 lot folder missing", mutate("product.lot", "no/such/lot")),
    scenario_case("S26 n_active = 10**9", mutate("design.cohorts.0.n_active", 10**9)),
    scenario_case("S27 age_min above age_max", mutate("population.inclusion.age_min_y", 70,
                                                      "population.inclusion.age_max_y", 50)),
    scenario_case("S28 doses 1e11 and 1.0004e11 stay two arms",
                  mutate("design.cohorts.0.dose", 1e11, "design.cohorts.1.dose", 1.0004e11), check=distinct_arms),
    scenario_case("S29 injection days out of order", mutate("schedule.injection_days", [0, 30, 10])),
    scenario_case("S30 mri month not a visit", mutate("visits.mri_months", [0, 3])),
    # oasim simulate
    Case("C01 simulate --dose 1e300 particles", cli("simulate", "--subjects", "3", "--dose", "exosome:1e300:particles@0")),
    Case("C02 simulate --dose inf", cli("simulate", "--subjects", "3", "--dose", "exosome:inf:particles@0")),
    Case("C03 simulate --dose nan", cli("simulate", "--subjects", "3", "--dose", "exosome:nan:particles@0")),
    Case("C04 simulate --dose at day 1e300", cli("simulate", "--subjects", "3", "--dose", "exosome:1e11:particles@1e300")),
    Case("C05 simulate --dose 1e13 cells", cli("simulate", "--subjects", "3", "--dose", "msc:1e13:cells@0")),
    Case("C06 simulate --years nan", cli("simulate", "--subjects", "3", "--years", "nan")),
    Case("C07 simulate --kl 5", cli("simulate", "--subjects", "3", "--kl", "5")),
    Case("C08 simulate --parameter-set missing file", cli("simulate", "--subjects", "3", "--parameter-set", "/no/such.toml")),
    Case("C09 simulate --parameter-set binary .toml", cli("simulate", "--subjects", "3", "--parameter-set", "binary.toml")),
    Case("C10 simulate --dose garbage", cli("simulate", "--subjects", "3", "--dose", "exosome:lots")),
    Case("C11 simulate --subjects 0", cli("simulate", "--subjects", "0")),
    # oasim explain
    Case("E01 explain --dose 1e300 particles", cli("explain", "--subjects", "20", "--dose", "exosome:1e300:particles@0")),
    Case("E02 explain --readout unknown", cli("explain", "--subjects", "20", "--dose", "exosome:1e11:particles@0",
                                              "--readout", "nope")),
    Case("E03 explain --day -5", cli("explain", "--subjects", "20", "--dose", "exosome:1e11:particles@0", "--day", "-5")),
    Case("E04 explain --day nan", cli("explain", "--subjects", "20", "--dose", "exosome:1e11:particles@0", "--day", "nan")),
    # oasim power
    Case("P01 power with a truncated chunk file", power_truncated_chunk),
    # oasim qc
    lot_case("Q01 lot id ../../x (output path)", _replace('id = "EXO-DEMO-001"', 'id = "../../x"')),
    lot_case("Q02 lot id empty", _replace('id = "EXO-DEMO-001"', 'id = ""')),
    lot_case("Q03 lot.toml binary", lambda _text: bytes(range(256)).decode("latin-1")),
    lot_case("Q04 potency_relative = inf", _replace("potency_relative = 1.0", "potency_relative = inf")),
    lot_case("Q05 potency_relative = 'abc'", _replace("potency_relative = 1.0", 'potency_relative = "abc"')),
    lot_case("Q06 control_percentile = 'high'", _replace("control_percentile = 99.0", 'control_percentile = "high"')),
    lot_case("Q07 control_percentile = 150", _replace("control_percentile = 99.0", "control_percentile = 150")),
    lot_case("Q08 nta dilution_factor = 'x'", _replace("dilution_factor = 1000.0", 'dilution_factor = "x"')),
    lot_case("Q09 nta dilution_factor = -1", _replace("dilution_factor = 1000.0", "dilution_factor = -1.0")),
    lot_case("Q10 [flow] gating = 5", _replace('gating = "control_p99"', "gating = 5")),
    lot_case("Q11 lot id is a number", _replace('id = "EXO-DEMO-001"', "id = 17")),
    lot_case("Q12 FCS events NaN / 1e30", extra=_nan_fcs),
    # SBML import
    sbml_case("B01 SBML initialConcentration INF", "initialConcentration", "INF"),
    sbml_case("B02 SBML initialConcentration NaN", "initialConcentration", "NaN"),
    sbml_case("B03 SBML parameter value INF", "value", "INF"),
    # API
    Case("A01 simulate(pop of 5, doses=[[dose]])", api(POP5 + "simulate(pop, [0, 30], [d])\n")),
    Case("A02 simulate(pop of 5, doses=[[dose]] * 7)", api(POP5 + "simulate(pop, [0, 30], [d] * 7)\n")),
]


def classify(proc: subprocess.CompletedProcess | None, output: str) -> str:
    if proc is None:
        return "hang"
    if "Traceback (most recent call last)" in output:
        return "traceback"
    if proc.returncode == 2 and ("error" in output.lower() or "usage" in output.lower()):
        return "named"
    if proc.returncode not in (0, 1):
        return "traceback"  # a crash without a Python traceback (signal, numba abort)
    return "silent"


def run(argv: list[str], folder: Path, src: Path, timeout: float):
    env = dict(os.environ, PYTHONPATH=str(src), OASIM_CACHE_DIR=os.environ.get("OASIM_CACHE_DIR", str(folder / "cache")),
               COLUMNS="200", NO_COLOR="1")
    if argv[0] == "oasim":
        argv = [sys.executable, "-m", "oasim.cli", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, "-c", argv[1]]
    try:
        proc = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return proc, proc.stdout + proc.stderr


def run_case(case: Case, src: Path, timeout: float) -> tuple[str, str, bool]:
    """(outcome, last line of output, validate accepted what run rejected)."""
    with tempfile.TemporaryDirectory(prefix="oasim-hostile-") as tmp:
        folder = Path(tmp)
        (folder / "binary.toml").write_bytes(bytes(range(256)) * 4)
        argv = case.setup(folder)
        if case.scenario:
            path = argv[1]
            proc, output = run(["oasim", "validate", path], folder, src, timeout)
            outcome = classify(proc, output)
            if outcome != "silent":
                return outcome, output.strip().splitlines()[-1] if output.strip() else "", False
            proc, output = run(["oasim", "run", path, "--out", str(folder / "out")], folder, src, timeout)
            outcome = classify(proc, output)
            mismatch = outcome != "silent"
        else:
            proc, output = run(argv, folder, src, timeout)
            outcome = classify(proc, output)
            mismatch = False
        if case.check is not None and outcome == "silent" and proc is not None and proc.returncode in (0, 1):
            outcome = "handled" if case.check(folder, output) else "silent"
        if case.name.startswith("Q01") and outcome == "silent" and (folder / "x").exists():
            output += "\n(wrote ./x outside results/qc)"
        lines = output.strip().splitlines()
        return outcome, lines[-1] if lines else "", mismatch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the oasim source folder to test")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as a hang")
    parser.add_argument("--only", default="", help="run the cases whose name starts with this prefix")
    parser.add_argument("--json", type=Path, help="also write the per-case outcomes here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oasim-hostile-") as tmp:  # compile the kernel outside the timeouts
        run(["oasim", "simulate", "--subjects", "2", "--years", "0.1"], Path(tmp), args.src.resolve(), 1800)
    kinds = ("named", "handled", "traceback", "hang", "silent")
    counts = dict.fromkeys(kinds, 0)
    mismatches = 0
    rows = []
    for case in CASES:
        if not case.name.startswith(args.only):
            continue
        start = time.perf_counter()
        outcome, last, mismatch = run_case(case, args.src.resolve(), args.timeout)
        counts[outcome] += 1
        mismatches += mismatch
        rows.append({"case": case.name, "outcome": outcome, "validate_accepted_run_rejected": mismatch,
                     "last_line": last[:160]})
        print(f"{case.name:<48} {outcome:<9} {time.perf_counter() - start:6.1f}s  {last[:100]}", flush=True)
    tried = sum(counts.values())
    print(f"\ntried {tried} | named error {counts['named']} | handled {counts['handled']} | "
          f"traceback {counts['traceback']} | hang {counts['hang']} | silent {counts['silent']} | "
          f"validate accepted what run rejected {mismatches}")
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "tried": tried, "mismatches": mismatches, "cases": rows},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
