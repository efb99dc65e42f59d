"""Mouse OA models (DMM, collagenase) with IA exosome or MSC injections.

Induction at day 0: DMM switches on the system's mechanical damage drive (per-mouse
variability from the set's cv); collagenase adds an early DAMP and M1 pulse, digests a share of
collagen and destabilises the joint; sham leaves the joint healthy. Mice are sacrificed per time
point, so each (group, week) is an independent cohort of n mice, as in a histology study.

Readouts per mouse: OARSI score 0-6 (Glasson 2010 grades from matrix loss, scorer noise,
rounded to the scale's 0.5 steps), synovitis score 0-3, SF IL-1β / TNF-α / IL-6 / IL-10 (pg/mL,
assay CV), M1/M2 ratio (flow CV). Statistics per week: ANOVA + Dunnett vs vehicle (or Tukey).

References: Glasson2007, Glasson2010, Zhu2017, Cosenza2017, Wang2017, Zhang2020.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..model import KneeModel
from ..protocol import Dose, dose_increments
from . import bench, measures
from .systems import Segment, System, initial_state, run_segments

READOUTS = ("oarsi", "synovitis", "il1b_pg_per_ml", "tnf_pg_per_ml", "il6_pg_per_ml", "il10_pg_per_ml", "m1_m2_ratio")


@dataclass(frozen=True)
class MouseGroup:
    """A group of mice: induction (``sham`` = no induction) and IA doses."""

    name: str
    doses: tuple[Dose, ...] = ()
    sham: bool = False


@dataclass(frozen=True)
class MouseDesign:
    groups: tuple[MouseGroup, ...]
    system: str = "mouse_dmm"
    weeks: tuple[float, ...] = (2.0, 4.0, 8.0, 12.0)
    n_per_group: int = 8
    reference_group: str | None = None
    method: Literal["dunnett", "tukey"] = "dunnett"

    @property
    def reference(self) -> str:
        vehicle = [g for g in self.groups if not g.doses and not g.sham]
        return self.reference_group or (vehicle or list(self.groups))[0].name


@dataclass(frozen=True)
class MouseResult:
    design: MouseDesign
    expected: pd.DataFrame  # group, week, readout, value (cohort mean without readout noise)
    mice: pd.DataFrame  # group, week, mouse, readout, value
    stats: pd.DataFrame  # week, readout, group, reference, mean_difference, p_value, test, anova_p
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.mice

    def group_table(self) -> pd.DataFrame:
        g = self.mice.groupby(["week", "readout", "group"], sort=False)["value"]
        table = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.size()}).reset_index()
        return table.merge(self.stats[["week", "readout", "group", "p_value"]], on=["week", "readout", "group"], how="left")

    def summary(self) -> str:
        t = self.group_table()
        lines = [f"Mouse OA ({self.design.system}), n = {self.design.n_per_group} per group and week; "
                 f"p vs '{self.design.reference}' ({self.design.method})"]
        for readout in ("oarsi", "synovitis", "m1_m2_ratio", "il1b_pg_per_ml"):
            lines.append(f"  {readout}")
            for _, r in t[t.readout == readout].iterrows():
                p = "" if pd.isna(r.p_value) else f"  p = {r.p_value:.3g} {bench.stars(r.p_value)}"
                lines.append(f"    week {r.week:4g}  {r.group:<24s} {r['mean']:7.3g} ± {r.sd:.2g}{p}")
        return "\n".join(lines)


def _segments(system: System, group: MouseGroup, params, n: int, t_end: float, index) -> list[Segment]:
    """Induction at day 0 then one segment per injection day."""
    v = system.value
    drive = params["joint_damage_drive"]
    induction: dict = {}
    set_states: dict = {}
    if system.name == "mouse_collagenase" and not group.sham:
        set_states = {"damps_rel": v("collagenase_damps_pulse_rel"),
                      "m1_cells": params["m1_healthy_cells"] * v("collagenase_m1_pulse_rel"),
                      "collagen_ii_rel": 1.0 - v("collagenase_collagen_digested_fraction")}
    injections: dict[float, dict] = {}
    for d in group.doses:
        adds = injections.setdefault(float(d.t_days), {})
        for name, amount in dose_increments(d, v("exosome_particles_per_ug"), params["msc_fast_fraction"],
                                            params["msc_persistent_fraction"]):
            adds[name] = adds.get(name, 0.0) + amount
    induction["joint_damage_drive"] = 0.0 * drive if group.sham else drive
    cuts = sorted(t for t in injections if 0.0 < t < t_end)
    segments = [Segment(cuts[0] if cuts else t_end, induction, set_states, injections.get(0.0, {}))]
    for k, t in enumerate(cuts):
        segments.append(Segment(cuts[k + 1] if k + 1 < len(cuts) else t_end, induction, {}, injections[t]))
    return segments


def simulate_mice(design: MouseDesign, rng: np.random.Generator, model: KneeModel | None = None, solver=None):
    """Per group: (solution over weekly grid, parameters) for n × len(weeks) mice."""
    model = model or KneeModel()
    system = System.load(design.system)
    n = design.n_per_group * len(design.weeks)
    t_end = 7.0 * max(design.weeks)
    grid = np.union1d(np.arange(0.0, t_end + 1e-9, 7.0), 7.0 * np.asarray(design.weeks))
    out = {}
    for group in design.groups:
        params = system.sample(n, rng)
        y0 = initial_state(model, dict(params, joint_damage_drive=np.zeros(n)), n)
        segs = _segments(system, group, params, n, t_end, model.state_index)
        sol = run_segments(model, dict(params, joint_damage_drive=np.zeros(n)), y0, segs, grid, solver=solver)
        out[group.name] = (sol, params)
    return system, out


def _noise_free(system: System, sol, params) -> dict[str, np.ndarray]:
    v = system.value
    return {
        "oarsi": measures.oarsi_score(sol["aggrecan_rel"], sol["collagen_ii_rel"], v("oarsi_pg_loss_at_grade1")),
        "synovitis": measures.synovitis_score(measures.synovitis_rel(sol, params), v("synovitis_k_half_excess")),
        "il1b_pg_per_ml": sol["il1b_pM"] * v("il1b_mw_kda"),
        "tnf_pg_per_ml": sol["tnf_pM"] * v("tnf_mw_kda"),
        "il6_pg_per_ml": sol["il6_pM"] * v("il6_mw_kda"),
        "il10_pg_per_ml": sol["il10_pM"] * v("il10_mw_kda"),
        "m1_m2_ratio": sol["m1_cells"] / sol["m2_cells"],
    }


def _observe(readout: str, x: np.ndarray, system: System, rng) -> np.ndarray:
    v = system.value
    if readout == "oarsi":
        step = v("oarsi_step")
        return np.clip(np.round((x + rng.normal(0, v("oarsi_scorer_sd"), x.shape)) / step) * step, 0.0, 6.0)
    if readout == "synovitis":
        return np.clip(np.round(x + rng.normal(0, v("synovitis_scorer_sd"), x.shape)), 0.0, 3.0)
    cv = v("m1_m2_flow_cv") if readout == "m1_m2_ratio" else v("cytokine_assay_cv")
    return x * np.exp(rng.normal(-0.5 * np.log1p(cv**2), np.sqrt(np.log1p(cv**2)), x.shape))


def run_mouse_oa(design: MouseDesign, rng: np.random.Generator, seed: int | None = None, solver=None) -> MouseResult:
    """Simulate the study: biology per mouse, histology/assay noise, statistics per week."""
    system, runs = simulate_mice(design, rng, solver=solver)
    n = design.n_per_group
    exp_rows, mice_rows = [], []
    observed: dict = {}
    for group in design.groups:
        sol, params = runs[group.name]
        values = _noise_free(system, sol, params)
        for w, week in enumerate(design.weeks):
            col = int(np.argmin(np.abs(sol.t_days - 7.0 * week)))
            cohort = slice(w * n, (w + 1) * n)
            for readout, x in values.items():
                truth = x[cohort, col]
                seen = _observe(readout, truth, system, rng)
                exp_rows.append((group.name, float(week), readout, float(np.mean(truth))))
                observed[(float(week), readout, group.name)] = seen
                mice_rows += [(group.name, float(week), m + 1, readout, float(s)) for m, s in enumerate(seen)]
    frames = []
    for week in design.weeks:
        for readout in READOUTS:
            per_group = {g.name: observed[(float(week), readout, g.name)] for g in design.groups}
            if readout in ("il1b_pg_per_ml", "tnf_pg_per_ml", "il6_pg_per_ml", "il10_pg_per_ml", "m1_m2_ratio"):
                per_group = {k: np.log(v) for k, v in per_group.items()}  # tests on log scale
            c = bench.compare_groups(per_group, design.reference, design.method)
            c.insert(0, "readout", readout)
            c.insert(0, "week", float(week))
            frames.append(c)
    expected = pd.DataFrame(exp_rows, columns=["group", "week", "readout", "value"])
    mice = pd.DataFrame(mice_rows, columns=["group", "week", "mouse", "readout", "value"])
    return MouseResult(design, expected, mice, pd.concat(frames, ignore_index=True), seed)
