"""Run a program scenario: the stages in order, each fed by name from the earlier ones, into one
output folder written atomically (:func:`oasim.io.atomic_output_dir`):

* ``report.html`` — one numbered section per stage, the provenance trail as a table;
* ``provenance.json`` — every stage's source, seed, resolved inputs (and their SHA-256) and
  outputs with units, and the trail of carried numbers;
* ``summary.json`` — the program's provenance and every stage's outputs;
* ``tables/<stage>_<table>.parquet`` — each stage's tables; ``trial/`` — the trial's own outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd

from ..io import RunOutput, atomic_output_dir
from ..provenance import provenance as make_provenance
from ..report.document import Document, Paragraph, Section, Table
from .scenario import STAGES, ProgramScenario, parse_reference
from .stages import RUNNERS, TITLES, Context
from .trail import Chain, stage_seed


def run_program(program: ProgramScenario, out_dir: str | Path, force: bool = False, source: str = "<scenario>",
                progress: Callable[[str], None] | None = None) -> dict:
    """Run every stage of ``program`` and write the outputs to ``out_dir`` atomically; returns the summary."""
    with atomic_output_dir(out_dir, force) as tmp:
        return run_scenario(program, tmp, source, progress or (lambda _m: None)).summary


def run_scenario(program: ProgramScenario, out_dir: Path, source: str, progress: Callable[[str], None]) -> RunOutput:
    """The program's runner for :mod:`oasim.scenario.loader`: writes into the fresh folder ``out_dir``."""
    chain = Chain()
    sections: list[Section] = []
    tables: dict[str, pd.DataFrame] = {}
    for stage, spec in program.stages():
        progress(f"stage {stage}")
        inputs = chain.resolve(stage, spec)
        refs = frozenset(f"{stage}.{k}" for k, v in spec if parse_reference(v) is not None)
        seed = stage_seed(program.seed, STAGES.index(stage))
        done = RUNNERS[stage](inputs, seed, Context(program, out_dir, refs))
        chain.record(stage, done.source, seed if done.seeded else None, inputs, done.outputs)
        for name, frame in done.tables.items():
            tables[f"{stage}_{name}"] = frame
        sections.append(Section(TITLES[stage], [_inputs_paragraph(stage, chain), *done.blocks]))
    progress("writing outputs")
    stages = chain.to_json()["stages"]
    provenance = make_provenance(program, source=source)
    summary = {**provenance, "stages": stages,
               "results": {s: {k: v["value"] for k, v in r["outputs"].items()} for s, r in stages.items()}}
    (out_dir / "tables").mkdir()
    trail = chain.trail_frame()
    tables["provenance_trail"] = trail
    for name, frame in tables.items():
        frame.to_parquet(out_dir / "tables" / f"{name}.parquet", index=False)
    (out_dir / "provenance.json").write_text(json.dumps({**provenance, **chain.to_json()}, indent=2),
                                             encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    document(program, sections, trail, summary).write(out_dir / "report.html")
    lines = tuple(f"{r.step:>2}. {r.to} ← {r['from']} = {r.value} {r.unit} ({r.from_source})"
                  for _, r in trail.iterrows())
    return RunOutput(summary, tables, provenance, ("provenance trail:", *lines))


def _inputs_paragraph(stage: str, chain: Chain) -> Paragraph:
    record = chain.records[stage]
    seed = "–" if record.seed is None else record.seed
    carried = [c for c in chain.carried if c.to.startswith(f"{stage}.")]
    fed = "; ".join(f"{c.to.split('.', 1)[1]} ← {c.origin}" for c in carried) or "none"
    return Paragraph(f"Source: {record.source}; seed {seed}; inputs from earlier stages: "
                     f"{fed}; inputs SHA-256 {record.inputs_digest}.")


def document(program: ProgramScenario, sections: list[Section], trail: pd.DataFrame, summary: dict) -> Document:
    """The program's report: an overview, one section per stage, the provenance trail."""
    rows = [[s, TITLES[s], r["source"], ", ".join(f"{k} = {_short(v['value'])} {v['unit']}"
                                                    for k, v in r["outputs"].items() if k != "design")]
            for s, r in summary["stages"].items()]
    overview = Section("Program", [
        Paragraph(program.description or program.name),
        Table("Stages in running order", ["stage", "what", "source", "outputs"], rows, "",
              ["every output can feed a later stage by name: 'from:<stage>.<output>'"])])
    note = ("from_inputs_sha256: SHA-256 (first 16 hex digits) of the originating stage's resolved inputs; "
            "provenance.json has them")
    trail_section = Section("Provenance trail", [Table.from_frame("Numbers carried between stages", trail, "", [note])])
    prov = [f"{k}: {summary[k]}" for k in ("kind", "name", "seed", "scenario_digest", "oasim_version", "source")]
    return Document(f"Program: {program.name}", "bench to bedside in one run",
                    [overview, *sections, trail_section], prov)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return "–" if value is None else str(value)
