"""Matrix-degrading enzymes and their inhibitor: pro-/active MMP-13, ADAMTS-5, TIMP-3.

Catabolic chondrocytes express pro-MMP-13 and ADAMTS-5; pro-MMP-13 must be activated (by MMP-3
from activated synovial fibroblasts: Proctor 2014's "collagenase needs activation"); TIMP-3 is
made by non-catabolic chondrocytes, induced by TGF-β, and inhibits ADAMTS-5 strongly and MMP-13 weakly
(Proctor 2014 inhibition constants: ADAMTS-4·TIMP-3 5e-4 vs MMP-13·TIMP-3 1e-8 per molecule
per s). Inhibition is taken at quasi-equilibrium (free = total / (1 + TIMP-3 / Ki)).
Half-lives: ADAMTS ≈ 4 h, TIMP ≈ 10 h, active MMP pool ≈ 30 h (Proctor 2014).
``mmp13_activator_rel`` is an exogenous activator (explants without synovium; Proctor 2014 needed
one for collagen release), in units of the healthy FLS activation drive; 0 in the joint.

References: Proctor2014, Glasson2005 (ADAMTS-5 is the aggrecanase in mouse OA).
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .states import State

STATES = (
    State("pro_mmp13_nM", "nM", "latent pro-MMP-13 in cartilage", 1.0),
    State("mmp13_nM", "nM", "active MMP-13 in cartilage", 0.1),
    State("adamts5_nM", "nM", "ADAMTS-5 in cartilage", 0.1),
    State("timp3_nM", "nM", "TIMP-3 in cartilage", 1.0),
)
REFERENCES = ("Proctor2014", "Glasson2005")


def timp3_expression_rel(s, p, g):
    """TIMP-3 expression relative to health: made by non-catabolic chondrocytes, induced by
    TGF-β; TIMP-3 falls in OA cartilage (its loss causes OA-like degradation)."""
    wt = p.timp3_tgfb_weight
    non_catabolic = (1.0 - s.catabolic_fraction) / (1.0 - p.catabolic_healthy_fraction)
    return g.chondrocytes_rel * non_catabolic * ((1.0 - wt) + wt * g.tgfb_rel)


def derivatives(s, p, g):
    """Rates of change of the enzyme states [nM/day]."""
    k_pro = rate_from_half_life(p.pro_mmp13_half_life_h, "h")
    k_act_mmp = rate_from_half_life(p.mmp13_half_life_h, "h")
    # Healthy activation rate so that active MMP-13 sits at its healthy level.
    k_activation_h = k_act_mmp * p.mmp13_healthy_nM / p.pro_mmp13_healthy_nM
    fls_rel = s.fls_activated_fraction / p.fls_activated_healthy_fraction
    # Activators other than FLS-derived MMP-3 (Proctor 2014's generic "MMP activator" in explant
    # culture) add to the FLS drive; mmp13_activator_rel is 0 in the joint.
    activation = k_activation_h * (fls_rel + p.mmp13_activator_rel) * s.pro_mmp13_nM
    expression = g.chondrocytes_rel * g.catabolic_rel
    synthesis_pro = (k_pro + k_activation_h) * p.pro_mmp13_healthy_nM * expression
    k_adamts = rate_from_half_life(p.adamts5_half_life_h, "h")
    k_timp = rate_from_half_life(p.timp3_half_life_h, "h")
    return {
        "pro_mmp13_nM": synthesis_pro - activation - k_pro * s.pro_mmp13_nM,
        "mmp13_nM": activation - k_act_mmp * s.mmp13_nM,
        "adamts5_nM": k_adamts * (p.adamts5_healthy_nM * expression - s.adamts5_nM),
        "timp3_nM": k_timp * (p.timp3_healthy_nM * timp3_expression_rel(s, p, g) - s.timp3_nM),
    }
