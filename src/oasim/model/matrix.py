"""Cartilage matrix: aggrecan and collagen II (fractions of healthy) and matrix fragments (DAMPs).

Synthesis by viable, non-catabolic chondrocytes (raised by TGF-β and the exosome anabolic
effect); aggrecan degraded by free ADAMTS-5; collagen II degraded by free active MMP-13 only
where aggrecan no longer shields it (Proctor 2014; Pratta 2003). Turnover times: collagen II
t½ ≈ 117 y (Verzijl 2000), aggrecan core protein t½ ≈ 3.4 y (Maroudas 1998) — both scaled per
system. Fragments (fibronectin, collagen and aggrecan pieces acting as DAMPs) come from the
degradation fluxes plus mechanical damage (Baker 2017's c13·m + c14), are cleared first-order,
and feed back into inflammation (the vicious cycle). DAMPs are relative to the healthy joint.

References: Proctor2014, Pratta2003, Verzijl2000, Maroudas1998, Baker2017.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .states import State

STATES = (
    State("aggrecan_rel", "fraction_of_healthy", "aggrecan (GAG) content", 1.0),
    State("collagen_ii_rel", "fraction_of_healthy", "collagen II content", 1.0),
    State("damps_rel", "relative_to_healthy", "matrix fragments / DAMPs in the joint", 1.0),
)
REFERENCES = ("Proctor2014", "Pratta2003", "Verzijl2000", "Maroudas1998", "Baker2017")



def anabolic_rel(s, p, g):
    """Matrix synthesis capacity relative to health."""
    wt = p.anabolic_tgfb_weight
    return (g.chondrocytes_rel * (1.0 - s.catabolic_fraction) / (1.0 - p.catabolic_healthy_fraction)
            * ((1.0 - wt) + wt * g.tgfb_rel)
            * (1.0 + p.emax_exosome_anabolic * g.exosome_effect))


def degradation_fluxes_rel(s, g):
    """(aggrecan, collagen) degradation fluxes relative to their healthy turnover."""
    return s.aggrecan_rel * g.adamts5_activity_rel, (
        s.collagen_ii_rel * g.mmp13_activity_rel * g.collagen_exposure_rel
    )


def derivatives(s, p, g):
    """Rates of change of matrix contents [1/day] and DAMPs [1/day]."""
    k_agg = rate_from_half_life(p.aggrecan_half_life_y, "y") / p.matrix_turnover_scale
    k_col = rate_from_half_life(p.collagen_half_life_y, "y") / p.matrix_turnover_scale
    synthesis = anabolic_rel(s, p, g)
    agg_flux, col_flux = degradation_fluxes_rel(s, g)
    wa = p.damps_from_aggrecan_fraction
    wc = p.damps_from_collagen_fraction
    mechanical = g.load_rel * (1.0 + p.joint_damage_drive)
    damps_source = wa * agg_flux + wc * col_flux + (1.0 - wa - wc) * mechanical
    k_damps = rate_from_half_life(p.damps_half_life_h, "h")
    return {
        "aggrecan_rel": k_agg * (synthesis - agg_flux),
        "collagen_ii_rel": k_col * (synthesis - col_flux),
        "damps_rel": k_damps * (damps_source - s.damps_rel),
    }
