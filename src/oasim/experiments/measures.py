"""Bench readouts as documented functions of model states.

mRNA (relative expression per cell, 1 = the reference state the solution starts from):
each gene's transcription follows the chondrocyte catabolic fraction ``S`` relative to the
reference (IL-1/NF-κB-driven genes: MMP13, ADAMTS5, IL6, NOS2), or the matrix synthesis capacity
per cell times catabolic repression (SOX9-driven matrix genes: COL2A1, ACAN)::

    catabolic genes   T_g(t) = (S(t) / S_ref) ** a_g
    matrix genes      T_g(t) = (A(t) / A_ref) * (S(t) / S_ref) ** (-a_g)

with ``A`` = :func:`oasim.model.matrix.anabolic_rel` per viable chondrocyte. mRNA follows
transcription with its own half-life, dm/dt = k_g (T_g − m), integrated exactly for a
piecewise-constant T on the solution's grid. The exponents ``a_g`` (gene sensitivity) and the
half-lives are readout parameters of the system (Proctor 2014 for MMP and ADAMTS mRNA).

Histology (mouse): OARSI 0–6 (Glasson 2010 grades) from matrix loss, see :func:`oarsi_score`;
synovitis 0–3 from the synovial lining state, see :func:`synovitis_score`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Mapping

import numpy as np

from ..model import matrix as matrix_module
from ..model.signals import compute_signals
from ..solvers.solution import Solution
from ..units import DAYS_PER_YEAR, rate_from_half_life

CATABOLIC_GENES = ("MMP13", "ADAMTS5", "IL6", "NOS2")
MATRIX_GENES = ("COL2A1", "ACAN")
GENES = ("MMP13", "ADAMTS5", "COL2A1", "ACAN", "IL6", "NOS2")


def namespaces(solution: Solution, params: Mapping[str, np.ndarray]):
    """(states, parameters, signals) namespaces broadcasting as (n_subjects, n_times)."""
    s = SimpleNamespace(**{n: solution[n] for n in solution.state_names})
    p = SimpleNamespace(**{k: np.asarray(v, float)[:, None] for k, v in params.items()})
    return s, p, compute_signals(s, p)


def transcription_rel(gene: str, solution: Solution, params, readouts) -> np.ndarray:
    """Transcription rate of ``gene`` per cell relative to the solution's first time point."""
    s, p, g = namespaces(solution, params)
    a = readouts[f"{gene.lower()}_catabolic_exponent"]
    catabolic = s.catabolic_fraction / s.catabolic_fraction[:, :1]
    if gene in CATABOLIC_GENES:
        return catabolic ** a
    per_cell = matrix_module.anabolic_rel(s, p, g) / g.chondrocytes_rel
    return per_cell / per_cell[:, :1] * catabolic ** (-a)


def mrna_rel(gene: str, solution: Solution, params, readouts) -> np.ndarray:
    """Relative mRNA of ``gene`` (n_subjects, n_times), starting at steady state (= 1)."""
    drive = transcription_rel(gene, solution, params, readouts)
    k = rate_from_half_life(readouts[f"{gene.lower()}_mrna_half_life_h"], "h")
    t = solution.t_days
    m = np.empty_like(drive)
    m[:, 0] = 1.0
    for j in range(1, t.size):
        decay = np.exp(-k * (t[j] - t[j - 1]))
        target = 0.5 * (drive[:, j] + drive[:, j - 1])
        m[:, j] = target + (m[:, j - 1] - target) * decay
    return m


def viable_cells_rel(solution: Solution) -> np.ndarray:
    """Viable chondrocytes relative to the first time point (CCK-8 signal before toxicity)."""
    c = solution["chondrocytes_per_mm3"]
    return c / c[:, :1]


def exosome_viability_factor(concentration_per_ml, tc50_per_ml: float, hill: float):
    """Fraction of cells surviving direct exosome toxicity: 1 / (1 + (c / TC50)^h)."""
    c = np.asarray(concentration_per_ml, float)
    return 1.0 / (1.0 + (c / tc50_per_ml) ** hill)


def degradation_released(solution: Solution, params) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative aggrecan and collagen released [% of initial content + synthesised].

    Release is the time integral of each degradation flux (what appears in the medium); the
    percentage follows the explant convention released / (released + remaining) × 100.
    """
    s, p, g = namespaces(solution, params)
    agg_flux, col_flux = matrix_module.degradation_fluxes_rel(s, g)
    days = DAYS_PER_YEAR * p.matrix_turnover_scale
    k_agg = rate_from_half_life(p.aggrecan_half_life_y * days, "d")
    k_col = rate_from_half_life(p.collagen_half_life_y * days, "d")
    out = []
    for flux, k, content in ((agg_flux, k_agg, s.aggrecan_rel), (col_flux, k_col, s.collagen_ii_rel)):
        rate = k * flux
        dt = np.diff(solution.t_days)
        released = np.concatenate([np.zeros((rate.shape[0], 1)),
                                   np.cumsum(0.5 * (rate[:, 1:] + rate[:, :-1]) * dt, axis=1)], axis=1)
        out.append(100.0 * released / (released + content))
    return out[0], out[1]


# OARSI mouse grades (Glasson 2010): 0.5 proteoglycan loss only, 1 superficial fibrillation,
# 2 clefts below the superficial layer, 3 erosion to calcified cartilage over < 25 % of the
# surface, 4 25-50 %, 5 50-75 %, 6 > 75 %. The loss of collagen (the network) is read as the
# eroded share of the surface; proteoglycan loss covers grades 0-1.
OARSI_COLLAGEN_LOSS_KNOTS = (0.0, 0.02, 0.05, 0.25, 0.50, 0.75)
OARSI_COLLAGEN_SCORE_KNOTS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def oarsi_score(aggrecan_rel, collagen_ii_rel, pg_loss_at_grade1: float) -> np.ndarray:
    """OARSI score 0–6 (continuous) from matrix contents.

    ``min(1, proteoglycan loss / pg_loss_at_grade1)`` plus a piecewise-linear map of collagen
    loss through the knots above (2 % → +1, 5 % → +2, 25/50/75 % eroded surface → +3/+4/+5).
    """
    pg = np.clip((1.0 - np.asarray(aggrecan_rel)) / pg_loss_at_grade1, 0.0, 1.0)
    col = np.interp(1.0 - np.asarray(collagen_ii_rel), OARSI_COLLAGEN_LOSS_KNOTS, OARSI_COLLAGEN_SCORE_KNOTS)
    return np.clip(pg + col, 0.0, 6.0)


def synovitis_rel(solution: Solution, params) -> np.ndarray:
    """Lining activity relative to health: mean of M1/M1_healthy and FLS_act/FLS_healthy."""
    m1 = solution["m1_cells"] / np.asarray(params["m1_healthy_cells"])[:, None]
    fls = solution["fls_activated_fraction"] / np.asarray(params["fls_activated_healthy_fraction"])[:, None]
    return 0.5 * (m1 + fls)


def synovitis_score(relative, k_half_excess: float) -> np.ndarray:
    """Synovitis score 0–3 (lining hyperplasia / infiltrate grade) from lining activity:
    ``3 x / (x + k)``, x = excess over health (0 in the healthy joint)."""
    x = np.clip(np.asarray(relative) - 1.0, 0.0, None)
    return 3.0 * x / (x + k_half_excess)
