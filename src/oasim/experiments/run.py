"""The experiments' runner: a validated scenario → tables (Parquet), summary.json, report.html.

:func:`run_scenario` is the runner :mod:`oasim.scenario.loader` calls for the experiment kinds
(``out_dir`` is its temporary folder, renamed into place when done); :func:`run_experiment`
validates a dict first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import RunOutput
from ..protocol import Dose
from ..provenance import provenance as make_provenance
from . import report
from .explant import ExplantDesign, ExplantGroup, run_explant
from .invitro import AssayDesign, run_il1b_assay, run_toxicity
from .mouse import MouseDesign, MouseGroup, run_mouse_oa
from ..scenario.experiments import validate_scenario
from .systems import System
from .translation import translate
from .wells import WellGroup


@dataclass(frozen=True)
class ExperimentRun:
    """What a run produced: the result objects, the files written and the summary."""

    kind: str
    results: dict
    files: tuple[str, ...]
    summary: dict
    tables: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return next(iter(self.results.values())).to_frame()


def _invitro(sc, rng):
    v = System.load(sc.system).value
    ppu = sc.particles_per_ug or v("exosome_particles_per_ug")
    groups = tuple(WellGroup(g.name, g.il1b_ng_per_ml,
                             g.exosome * (ppu if g.exosome_unit == "ug_per_ml" else 1.0),
                             g.conditioned_medium_fraction, g.macrophages) for g in sc.groups)
    design = AssayDesign(groups, sc.system, tuple(sc.readout_hours), sc.n_wells, sc.pretreatment_h,
                         sc.reference_group, sc.method)
    results = {"assay": run_il1b_assay(design, rng, sc.seed)}
    if sc.toxicity:
        t = sc.toxicity
        results["toxicity"] = run_toxicity(t.concentrations_per_ml, rng, t.system, t.hours, t.n_wells, sc.seed)
    return results


def _mouse(sc, rng):
    groups = tuple(MouseGroup(g.name, tuple(Dose(d.product, d.amount, d.unit, day) for d in g.doses for day in d.days),
                              g.sham) for g in sc.groups)
    design = MouseDesign(groups, sc.system, tuple(sc.weeks), sc.n_per_group, sc.reference_group, sc.method)
    results = {"mouse": run_mouse_oa(design, rng, sc.seed)}
    if sc.translation:
        t = sc.translation
        results["translation"] = translate(t.dose_particles, sc.system, "human", t.days, t.horizon_days)
    return results


def _explant(sc, rng):
    groups = tuple(ExplantGroup(g.name, g.il1_ng_per_ml, g.osm_ng_per_ml, g.activator, g.withdraw_day) for g in sc.groups)
    return {"explant": run_explant(ExplantDesign(groups, sc.system, tuple(sc.days), sc.n_explants), rng, sc.seed)}


RUNNERS = {"invitro_il1b": _invitro, "mouse_oa": _mouse, "explant": _explant}


def _tables(results: dict) -> dict[str, pd.DataFrame]:
    out = {}
    for key, r in results.items():
        out[f"{key}_data"] = r.to_frame()
        for attr in ("expected", "stats"):
            if hasattr(r, attr):
                out[f"{key}_{attr}"] = getattr(r, attr)
    return out


def _figures(results: dict) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(heading, text summary, [(caption, PNG bytes)]) per result, for :func:`report.write_html`."""
    sections = []
    if "assay" in results:
        a = results["assay"]
        groups = [g.name for g in a.design.groups]
        figs = [(f"Readouts at {h:g} h: bar = group mean, error bar = SD, points = wells, stars = p against the "
                 f"reference group", report.assay_bars(a.wells, a.stats, h, groups)) for h in a.design.readout_hours]
        sections.append(("IL-1β chondrocyte assay", a.summary(), figs))
    if "toxicity" in results:
        t = results["toxicity"]
        frame = t.table.assign(group=t.table.concentration_per_ml.map(lambda c: f"{c:.2g}/mL"), readout="viability_pct",
                               hour=t.hours).rename(columns={"viability_pct": "value"})
        groups = list(dict.fromkeys(frame.group))
        stats = t.stats.assign(hour=t.hours, readout="viability_pct",
                               group=t.stats.group.map(lambda g: f"{float(g):.2g}/mL"))
        sections.append(("Human chondrocyte toxicity", t.summary(),
                         [(f"Viability at {t.hours:g} h by exosome concentration (mean, SD, wells)",
                           report.assay_bars(frame, stats, t.hours, groups))]))
    if "mouse" in results:
        m = results["mouse"]
        groups = [g.name for g in m.design.groups]
        img = report.time_courses(m.mice, "week", ("oarsi", "synovitis", "m1_m2_ratio"), groups, "weeks after induction")
        sections.append(("Mouse OA model", m.summary(),
                         [("OARSI score, synovitis and M1/M2 ratio by week (mean ± SD; points = mice)", img)]))
    if "translation" in results:
        sections.append(("Dose translation to the human knee", results["translation"].summary(), []))
    if "explant" in results:
        e = results["explant"]
        groups = [g.name for g in e.design.groups]
        img = report.time_courses(e.explants, "day", ("gag_released_pct", "collagen_released_pct"), groups, "day")
        sections.append(("Explant release", e.summary(),
                         [("GAG and collagen released by day (mean ± SD; points = explants)", img)]))
    return sections


def _key_numbers(results: dict) -> dict:
    out = {}
    if "assay" in results:
        t = results["assay"].group_table()
        out["assay_means"] = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in t.to_dict("records")]
    if "toxicity" in results:
        out["toxicity"] = {"highest_non_toxic_per_ml": results["toxicity"].highest_non_toxic_per_ml,
                           "ic50_per_ml": results["toxicity"].ic50_per_ml}
    if "mouse" in results:
        e = results["mouse"].expected
        out["oarsi_expected"] = e[e.readout == "oarsi"].to_dict("records")
    if "translation" in results:
        out["translation_particles"] = results["translation"].doses
    if "explant" in results:
        out["explant_expected"] = results["explant"].expected.to_dict("records")
    return out


def run_experiment(data: dict, out_dir: Path, source: str = "<scenario>") -> ExperimentRun:
    """Validate ``data``, run the experiment and write its outputs into ``out_dir``."""
    return _run(validate_scenario(data, source), Path(out_dir), source)


def run_scenario(scenario, out_dir: Path, source: str, progress) -> RunOutput:
    """The runner of the experiment kinds (:data:`oasim.scenario.loader.KINDS`)."""
    progress(f"running {scenario.kind} experiment")
    done = _run(scenario, Path(out_dir), source)
    summary = json.loads(json.dumps(done.summary, default=float))  # what summary.json says
    provenance = {k: v for k, v in summary.items() if k != "results"}
    return RunOutput(summary, done.tables, provenance, tuple(r.summary() for r in done.results.values()))


def _run(scenario, out_dir: Path, source: str) -> ExperimentRun:
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed))
    results = RUNNERS[scenario.kind](scenario, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _tables(results)
    files = []
    for name, frame in tables.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        files.append(f"{name}.parquet")
    provenance = make_provenance(scenario, source=source, system=scenario.system)
    summary = {**provenance, "results": _key_numbers(results)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float), encoding="utf-8")
    report.write_html(out_dir / "report.html", f"{scenario.kind}: {scenario.name}", scenario.description,
                      _figures(results), provenance)
    files += ["summary.json", "report.html"]
    return ExperimentRun(scenario.kind, results, tuple(files), summary,
                         {name: frame.reset_index(drop=True) for name, frame in tables.items()})
