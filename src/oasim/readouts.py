"""Readouts derived from states: cartilage thickness, cytokines in pg/mL, M1/M2, viability.

These are deterministic functions of a :class:`~oasim.solvers.Solution` and the subjects'
parameters; measurement noise and clinical scales belong to :mod:`oasim.endpoints`.
"""

from __future__ import annotations

import numpy as np

from .solvers.solution import Solution

CYTOKINES = ("il1b", "tnf", "il6", "il10", "tgfb", "pge2", "il1ra", "tsg6")


def thickness_mm(solution: Solution, params: dict) -> np.ndarray:
    """Cartilage thickness [mm] (n_subjects, n_times): healthy thickness × weighted matrix content."""
    w = np.asarray(params["thickness_collagen_weight"])[:, None]
    h0 = np.asarray(params["cartilage_thickness_healthy_mm"])[:, None]
    return h0 * (w * solution["collagen_ii_rel"] + (1.0 - w) * solution["aggrecan_rel"])


def pg_per_ml(solution: Solution, params: dict, cytokine: str) -> np.ndarray:
    """A mediator in pg/mL: pM × molecular weight [kDa]."""
    return solution[f"{cytokine}_pM"] * np.asarray(params[f"{cytokine}_mw_kda"])[:, None]


def m1_m2_ratio(solution: Solution) -> np.ndarray:
    return solution["m1_cells"] / solution["m2_cells"]


def chondrocyte_viability(solution: Solution, params: dict) -> np.ndarray:
    """Viable chondrocyte density as a fraction of the healthy density."""
    return solution["chondrocytes_per_mm3"] / np.asarray(params["chondrocytes_healthy_per_mm3"])[:, None]


def key_outputs(solution: Solution, params: dict) -> dict[str, np.ndarray]:
    """The quick-look outputs of ``oasim simulate``, each (n_subjects, n_times)."""
    thick = thickness_mm(solution, params)
    return {
        "cartilage_thickness_mm": thick,
        "cartilage_thickness_change_pct": 100.0 * (thick / thick[:, :1] - 1.0),
        "il1b_pg_per_ml": pg_per_ml(solution, params, "il1b"),
        "il10_pg_per_ml": pg_per_ml(solution, params, "il10"),
        "m1_m2_ratio": m1_m2_ratio(solution),
        "chondrocyte_viability": chondrocyte_viability(solution, params),
        "pain_drive_rel": solution["pain_drive_rel"],
    }
