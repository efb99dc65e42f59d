"""Synovial-fluid cytokines and mediators: IL-1β, TNF-α, IL-6, IL-10, TGF-β, PGE2, IL-1Ra, TSG-6.

Each mediator is produced by the cells that make it in the joint (M1/M2 macrophages, activated
synovial fibroblasts, catabolic chondrocytes) and by licensed MSCs, and eliminated first-order
(local degradation plus clearance from the synovial fluid). Production terms are normalised so
that every mediator sits at its healthy level in the healthy joint; OA levels emerge from the
cell states. The pro-/anti-inflammatory loop follows Baker 2017 made cell-resolved.

Concentrations are synovial-fluid pM (report in pg/mL via the molecular weight).
MSC secretion is given in pg per 10^6 cells per day and converted to pM/day with the synovial
fluid volume and molecular weight: pM = (pg/mL) / (MW in kDa).

References: Baker2017, Westacott1990, Richette2008, Owen1994, Proctor2014, Nemeth2009, Choi2011.
T cells enter through their cytokines' effects (tcells.py): Treg-derived IL-10 adds to the M2
source with weight ``treg_il10_weight``. IL-17 and IFN-γ are not states (their effects are
carried by the Th17 and Th1 abundances). Not modelled: NGF.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .states import State

STATES = (
    State("il1b_pM", "pM", "IL-1β in synovial fluid", 1.0),
    State("tnf_pM", "pM", "TNF-α (trimer) in synovial fluid", 1.0),
    State("il6_pM", "pM", "IL-6 in synovial fluid", 1.0),
    State("il10_pM", "pM", "IL-10 (dimer) in synovial fluid", 1.0),
    State("tgfb_pM", "pM", "active TGF-β1 in synovial fluid", 1.0),
    State("pge2_pM", "pM", "prostaglandin E2 in synovial fluid", 100.0),
    State("il1ra_pM", "pM", "IL-1 receptor antagonist in synovial fluid", 1000.0),
    State("tsg6_pM", "pM", "TSG-6 in synovial fluid", 10.0),
)
REFERENCES = (
    "Baker2017", "Westacott1990", "Richette2008", "Owen1994", "Proctor2014", "Nemeth2009",
    "Choi2011",
)


def msc_secretion_pM_per_day(rate_pg_per_mcells_day, msc_cells, licensing, v_sf_ml, mw_kda):
    """Licensed MSC secretion into synovial fluid [pM/day]."""
    pg_per_ml_day = rate_pg_per_mcells_day * licensing * msc_cells * 1e-6 / v_sf_ml
    return pg_per_ml_day / mw_kda


def mediator_rate(level_pM, healthy_pM, half_life_h, production_rel, extra_pM_per_day=0.0):
    """d(level)/dt: normalised endogenous production + extra source − elimination [pM/day]."""
    k = rate_from_half_life(half_life_h, "h")
    return k * healthy_pM * production_rel + extra_pM_per_day - k * level_pM


def derivatives(s, p, g):
    """Rates of change of the mediator states [pM/day]."""
    m1_rel = s.m1_cells / p.m1_healthy_cells
    m2_rel = s.m2_cells / m2_healthy_cells(p)
    fls_rel = s.fls_activated_fraction / p.fls_activated_healthy_fraction
    catabolic_chondrocytes = g.chondrocytes_rel * g.catabolic_rel

    def from_msc(rate_name, mw_name):
        return msc_secretion_pM_per_day(
            getattr(p, rate_name), g.msc_total_cells, g.msc_licensing, p.v_sf_ml, getattr(p, mw_name)
        )

    # DAMPs activate macrophages through TLRs (Baker 2017's fragment -> cytokine term), so
    # per-cell output of M1 cytokines rises with the fragment load.
    wt = p.macrophage_tlr_activation_weight
    m1_output = m1_rel * ((1.0 - wt) + wt * g.damps_rel_response)
    w = p.il1b_from_macrophages_fraction
    il1b = mediator_rate(s.il1b_pM, p.il1b_healthy_pM, p.il1b_half_life_h,
                         w * m1_output + (1.0 - w) * catabolic_chondrocytes)
    tnf = mediator_rate(s.tnf_pM, p.tnf_healthy_pM, p.tnf_half_life_h, m1_output)
    w1, w2 = p.il6_from_macrophages_fraction, p.il6_from_fls_fraction
    il6 = mediator_rate(s.il6_pM, p.il6_healthy_pM, p.il6_half_life_h,
                        w1 * m1_rel + w2 * fls_rel + (1.0 - w1 - w2) * catabolic_chondrocytes)
    # PGE2 reprogrammes macrophages to secrete IL-10 (Nemeth 2009).
    wp = p.il10_pge2_dependent_fraction
    wtr = p.treg_il10_weight
    il10 = mediator_rate(s.il10_pM, p.il10_healthy_pM, p.il10_half_life_h,
                         (1.0 - wtr) * m2_rel * ((1.0 - wp) + wp * g.pge2_rel) + wtr * s.treg_rel)
    wm = p.tgfb_from_macrophages_fraction
    tgfb = mediator_rate(s.tgfb_pM, p.tgfb_healthy_pM, p.tgfb_half_life_h,
                         wm * m2_rel + (1.0 - wm) * g.chondrocytes_rel)
    wf, wc = p.pge2_from_fls_fraction, p.pge2_from_chondrocytes_fraction
    pge2 = mediator_rate(s.pge2_pM, p.pge2_healthy_pM, p.pge2_half_life_h,
                         wf * fls_rel + wc * catabolic_chondrocytes + (1.0 - wf - wc) * m1_rel,
                         from_msc("msc_pge2_pg_per_mcells_day", "pge2_mw_kda"))
    wr = p.il1ra_from_macrophages_fraction
    il1ra = mediator_rate(s.il1ra_pM, p.il1ra_healthy_pM, p.il1ra_half_life_h,
                          wr * (m1_rel + m2_rel) * 0.5 + (1.0 - wr) * fls_rel,
                          from_msc("msc_il1ra_pg_per_mcells_day", "il1ra_mw_kda"))
    tsg6 = mediator_rate(s.tsg6_pM, p.tsg6_healthy_pM, p.tsg6_half_life_h, fls_rel,
                         from_msc("msc_tsg6_pg_per_mcells_day", "tsg6_mw_kda"))
    return {
        "il1b_pM": il1b, "tnf_pM": tnf, "il6_pM": il6, "il10_pM": il10, "tgfb_pM": tgfb,
        "pge2_pM": pge2, "il1ra_pM": il1ra, "tsg6_pM": tsg6,
    }


def m2_healthy_cells(p):
    """Healthy M2 count implied by the polarisation steady state (see macrophages.py)."""
    return p.m1_healthy_cells * p.k_m1_to_m2_per_day / (p.k_m2_to_m1_per_day + p.k_macrophage_death_per_day)
