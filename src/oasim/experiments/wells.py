"""Culture wells: chondrocytes ± IL-1β ± exosomes or MSC-conditioned medium, ± macrophages.

Each group of wells is one deterministic model run (wells of one culture share their biology;
bench noise is added by :mod:`oasim.experiments.bench`). The timeline of every group is

1. equilibration for ``equilibration_days`` in plain medium (cells settle to their culture
   steady state; a monoculture holds no macrophages and no synoviocytes, a co-culture holds its
   seeded macrophages at their polarisation steady state);
2. exosomes or conditioned medium added ``pretreatment_h`` before IL-1β (0 = together);
3. IL-1β (ng/mL, converted to pM with the IL-1β molecular weight) added at t = 0 and held
   constant (no clearance in a well; medium changes restore it).

References: MarreroBerrios2024 (co-culture), Proctor2014 (IL-1 kinetics), Wang2017, He2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import KneeModel
from ..model.inflammation import m2_healthy_cells
from ..solvers.solution import Solution
from .systems import Segment, System, initial_state, run_segments


def ng_per_ml_to_pM(ng_per_ml, mw_kda):
    """Mass to molar concentration: pM = (pg/mL) / (MW in kDa)."""
    return np.asarray(ng_per_ml, float) * 1e3 / mw_kda


@dataclass(frozen=True)
class WellGroup:
    """One treatment group of wells.

    Parameters
    ----------
    name : label of the group
    il1b_ng_per_ml : IL-1β added at t = 0 [ng/mL]
    exosome_particles_per_ml : exosomes added [particles/mL of medium]
    conditioned_medium_fraction : share of the medium replaced by MSC-conditioned medium [0-1]
    macrophages : co-culture with seeded macrophages
    """

    name: str
    il1b_ng_per_ml: float = 0.0
    exosome_particles_per_ml: float = 0.0
    conditioned_medium_fraction: float = 0.0
    macrophages: bool = False


def conditioned_medium_content(system: System, fraction: float) -> dict[str, float]:
    """What a share of MSC-conditioned medium brings into a well: exosomes [particles] and the
    licensed-secretion mediators IL-1Ra, PGE2, TSG-6 [pM], from the system's CM recipe
    (cells, volume, days, licensing) and the MSC secretion rates of the parameter set."""
    v = system.value
    per_ml_days = v("cm_msc_cells") * v("cm_conditioning_days") / v("cm_volume_ml")
    lic = v("cm_msc_licensing")
    out = {"exosome_free_particles": fraction * v("v_sf_ml") * per_ml_days
           * v("msc_exosome_secretion_particles_per_cell_day")}
    for state, rate, mw in (("il1ra_pM", "msc_il1ra_pg_per_mcells_day", "il1ra_mw_kda"),
                            ("pge2_pM", "msc_pge2_pg_per_mcells_day", "pge2_mw_kda"),
                            ("tsg6_pM", "msc_tsg6_pg_per_mcells_day", "tsg6_mw_kda")):
        pg_per_ml = v(rate) * lic * per_ml_days * 1e-6
        out[state] = fraction * pg_per_ml / v(mw)
    return out


def simulate_groups(system: System, groups: tuple[WellGroup, ...], t_end_days: float,
                    pretreatment_h: float = 0.0, equilibration_days: float = 7.0,
                    step_h: float = 0.5, model: KneeModel | None = None, solver=None):
    """Run every group (one model subject each) and return ``(solution, params)``.

    The solution starts at the exosome addition (``-pretreatment_h``) on a ``step_h`` grid to
    ``t_end_days``; ``params`` are the per-group parameter arrays of the IL-1β phase.
    """
    model = model or KneeModel()
    n = len(groups)
    params = system.sample(n)
    macrophages = np.array([g.macrophages for g in groups])
    m1 = np.where(macrophages, params["m1_healthy_cells"], 0.0)
    m2 = np.where(macrophages, m2_healthy_cells(_namespace(params)), 0.0)
    y0 = initial_state(model, params, n, {"m1_cells": m1, "m2_cells": m2, "fls_activated_fraction": 0.0})
    t_pre = -pretreatment_h / 24.0
    t_start = t_pre - equilibration_days
    added = {"exosome_free_particles": np.array([g.exosome_particles_per_ml for g in groups]) * params["v_sf_ml"]}
    for k, g in enumerate(groups):
        if g.conditioned_medium_fraction > 0:
            for state, amount in conditioned_medium_content(system, g.conditioned_medium_fraction).items():
                added.setdefault(state, np.zeros(n))
                added[state] = np.array(added[state], float)
                added[state][k] += amount
    il1b = ng_per_ml_to_pM([g.il1b_ng_per_ml for g in groups], system.value("il1b_mw_kda"))
    segments = [Segment(t_pre)]
    if t_pre < 0:
        segments.append(Segment(0.0, add_states=added))
        segments.append(Segment(t_end_days, parameters={"il1b_exogenous_pM": il1b}))
    else:
        segments.append(Segment(t_end_days, parameters={"il1b_exogenous_pM": il1b}, add_states=added))
    grid = np.arange(t_pre, t_end_days + 1e-9, step_h / 24.0)
    sol = run_segments(model, params, y0, segments, grid, t_start_days=t_start, solver=solver)
    phase = dict(params, il1b_exogenous_pM=il1b)
    return sol, phase


def _namespace(params):
    from types import SimpleNamespace

    return SimpleNamespace(**params)


def at_times(solution: Solution, values: np.ndarray, t_days) -> np.ndarray:
    """Columns of ``values`` (n, n_times on the solution grid) at the nearest grid times."""
    idx = [int(np.argmin(np.abs(solution.t_days - t))) for t in np.atleast_1d(t_days)]
    return values[:, idx]
