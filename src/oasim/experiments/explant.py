"""Cartilage explants: IL-1 (+ OSM, + MMP activator) driven GAG and collagen release.

Each explant group is one model run (no macrophages, no synoviocytes; IL-1 exogenous and
constant while present; OSM as the IL-1 synergy gain ``osm_synergy_gain_max·c/(c + K)``; the
activator as ``mmp13_activator_rel``). Release is the integrated degradation flux, reported as
% of total (released / (released + remaining)), as for DMMB (GAG) and hydroxyproline (collagen)
assays on medium and digested explant.

Anchors: Proctor 2014 (day 14 with IL-1 + OSM + activator: about 87 % aggrecan and about 10 %
collagen released; collagen release needs the activator) and Kar 2016 (IL-1 damage reversible
if stopped within about 6 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import KneeModel
from . import bench, measures
from .systems import Segment, System, initial_state, run_segments
from .wells import ng_per_ml_to_pM


@dataclass(frozen=True)
class ExplantGroup:
    """IL-1 and OSM [ng/mL] from day 0 until ``withdraw_day`` (None = never), ± activator."""

    name: str
    il1_ng_per_ml: float = 0.0
    osm_ng_per_ml: float = 0.0
    activator: bool = False
    withdraw_day: float | None = None
    exosome_particles_per_ml: float = 0.0


@dataclass(frozen=True)
class ExplantDesign:
    groups: tuple[ExplantGroup, ...]
    system: str = "explant_bovine"
    days: tuple[float, ...] = (0.0, 3.0, 7.0, 10.0, 14.0, 21.0, 28.0)
    n_explants: int = 4


def simulate_explants(system: System, groups, t_end_days: float, step_days: float = 0.25,
                      model: KneeModel | None = None, solver=None):
    """(solution from day 0 on a ``step_days`` grid, parameters of the stimulated phase)."""
    model = model or KneeModel()
    n = len(groups)
    params = system.sample(n)
    y0 = initial_state(model, params, n, {"m1_cells": 0.0, "m2_cells": 0.0, "fls_activated_fraction": 0.0})
    v = system.value
    il1 = ng_per_ml_to_pM([g.il1_ng_per_ml for g in groups], v("il1b_mw_kda"))
    osm = np.array([g.osm_ng_per_ml for g in groups])
    gain = v("osm_synergy_gain_max") * osm / (osm + v("osm_k_half_ng_per_ml"))
    act = np.array([v("mmp_activator_rel") if g.activator else 0.0 for g in groups])
    on = {"il1b_exogenous_pM": il1, "osm_il1_synergy_gain": gain, "mmp13_activator_rel": act}
    added = {"exosome_free_particles": np.array([g.exosome_particles_per_ml for g in groups]) * params["v_sf_ml"]}
    withdraw = sorted({g.withdraw_day for g in groups if g.withdraw_day is not None and g.withdraw_day < t_end_days})
    cuts = [*withdraw, t_end_days]
    segments = [Segment(-3.0)]  # explants rest in plain medium before stimulation
    start = 0.0
    for k, cut in enumerate(cuts):
        stimulated = np.array([g.withdraw_day is None or g.withdraw_day > start for g in groups])
        phase = {name: np.where(stimulated, val, 0.0) for name, val in on.items()}
        segments.append(Segment(cut, phase, add_states=added if k == 0 else {}))
        start = cut
    grid = np.arange(0.0, t_end_days + 1e-9, step_days)
    sol = run_segments(model, params, y0, segments, grid, t_start_days=-10.0, solver=solver)
    return sol, dict(params, **on)


@dataclass(frozen=True)
class ExplantResult:
    design: ExplantDesign
    expected: pd.DataFrame  # group, day, gag_released_pct, collagen_released_pct, chondrocytes_rel
    explants: pd.DataFrame  # group, day, explant, readout, value
    stats: pd.DataFrame  # Dunnett vs the first group at the last day
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.explants

    def summary(self) -> str:
        lines = [f"Explant release ({self.design.system}), n = {self.design.n_explants} per group, % of total"]
        for _, r in self.expected.iterrows():
            if r.day in (7.0, 14.0, 21.0, 28.0):
                lines.append(f"  day {r.day:4g}  {r.group:<26s} GAG {r.gag_released_pct:5.1f} %   "
                             f"collagen {r.collagen_released_pct:5.1f} %")
        return "\n".join(lines)


def run_explant(design: ExplantDesign, rng: np.random.Generator, seed: int | None = None, solver=None) -> ExplantResult:
    system = System.load(design.system)
    sol, params = simulate_explants(system, design.groups, max(design.days), solver=solver)
    gag, col = measures.degradation_released(sol, params)
    cells = measures.viable_cells_rel(sol)
    rows, noisy = [], []
    v = system.value
    for i, g in enumerate(design.groups):
        for day in design.days:
            j = int(np.argmin(np.abs(sol.t_days - day)))
            rows.append((g.name, float(day), gag[i, j], col[i, j], cells[i, j]))
            for readout, x, cv in (("gag_released_pct", gag[i, j], v("dmmb_assay_cv")),
                                   ("collagen_released_pct", col[i, j], v("hydroxyproline_assay_cv"))):
                obs = x * (1 + rng.normal(0, v("explant_biological_cv"), design.n_explants)) \
                    * (1 + rng.normal(0, cv, design.n_explants))
                noisy += [(g.name, float(day), k + 1, readout, float(np.clip(o, 0, 100))) for k, o in enumerate(obs)]
    expected = pd.DataFrame(rows, columns=["group", "day", "gag_released_pct", "collagen_released_pct", "chondrocytes_rel"])
    explants = pd.DataFrame(noisy, columns=["group", "day", "explant", "readout", "value"])
    last = explants[explants.day == max(design.days)]
    frames = []
    for readout in ("gag_released_pct", "collagen_released_pct"):
        per = {g.name: last[(last.readout == readout) & (last.group == g.name)].value.to_numpy() for g in design.groups}
        c = bench.compare_groups(per, design.groups[0].name, "dunnett")
        c.insert(0, "readout", readout)
        frames.append(c)
    return ExplantResult(design, expected, explants, pd.concat(frames, ignore_index=True), seed)


def reversibility_window(withdraw_days, il1_ng_per_ml: float = 1.0, system: str = "explant_bovine",
                         t_end_days: float = 28.0, solver=None) -> tuple[float | None, pd.DataFrame]:
    """Latest IL-1 withdrawal day after which the explant is restored (Kar 2016's test).

    Restored at ``t_end_days``: collagen ≥ 98 % of its content, viable chondrocytes ≥ 90 % of
    the unstimulated control (cell loss is what makes matrix loss permanent here), aggrecan
    rising again.
    """
    groups = (ExplantGroup("control"),) + tuple(
        ExplantGroup(f"withdraw d{d:g}", il1_ng_per_ml, withdraw_day=float(d)) for d in withdraw_days)
    sol, _ = simulate_explants(System.load(system), groups, t_end_days, solver=solver)
    cells = measures.viable_cells_rel(sol)[:, -1]
    col, agg = sol["collagen_ii_rel"][:, -1], sol["aggrecan_rel"]
    rising = agg[:, -1] > agg[:, -5]
    ok = (col >= 0.98) & (cells >= 0.9 * cells[0]) & rising
    table = pd.DataFrame({"withdraw_day": [np.nan, *withdraw_days], "collagen_rel": col,
                          "chondrocytes_rel": cells / cells[0], "aggrecan_rel": agg[:, -1], "restored": ok})
    restored = [d for d, r in zip(withdraw_days, ok[1:]) if r]
    return (max(restored) if restored else None), table
