"""Synovial CD4+ T cells: Th1, Th17 and regulatory T cells (Treg), relative to the healthy joint.

Each subset is a relative abundance (1 = healthy synovium) that relaxes toward a target set by
its drivers, at its own turnover rate:

* Th1 (IFN-γ): driven by IL-12-producing M1 macrophages; the largest joint subset in OA
  (activated effector memory, Th1-enriched versus blood; Moradi 2015, research note 1a).
* Th17 (IL-17): driven by IL-6 and IL-1 signalling; a minority phenotype (SF IL-17 detectable
  in 9 % of end-stage OA samples, Snelling 2017).
* Treg: induced by TGF-β and by MSCs (MSC-induced Tregs are induced during Th1/Th17
  differentiation, Luz-Crawford 2013; ≈1.4-fold with MSC secretome); an induced excess decays
  at the loss rate of the expanded memory pool, so Tregs carry a months-long memory of MSC
  exposure after the cells are gone (memory CD4 half-life 0.4 y, Vrisekoop 2008).

Tregs suppress both effector subsets, and MSCs suppress effector proliferation (65 % of a
polyclonal response, Di Nicola 2002), both through divisors equal to 1 at health. Effector
turnover follows the effector-memory proliferation rate (4.7 %/day, Macallan 2004).

Feedback into the joint (weights in [0, 1], 0 switches a coupling off): Th1/IFN-γ favours M2→M1
repolarisation (macrophages.py), Th17/IL-17 activates synovial fibroblasts (synoviocytes.py),
Treg-derived IL-10 adds to macrophage IL-10 (inflammation.py).

References: Moradi2015, Snelling2017, LuzCrawford2013, DiNicola2002, Macallan2004,
Vrisekoop2008, VukmanovicStejic2006.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .hill import relative_response
from .states import State

STATES = (
    State("th1_rel", "relative_to_healthy", "synovial Th1 (IFN-γ) CD4+ T cells", 1.0),
    State("th17_rel", "relative_to_healthy", "synovial Th17 (IL-17) CD4+ T cells", 1.0),
    State("treg_rel", "relative_to_healthy", "synovial Foxp3+ regulatory T cells", 1.0),
)
REFERENCES = ("Moradi2015", "Snelling2017", "LuzCrawford2013", "DiNicola2002", "Macallan2004",
              "Vrisekoop2008", "VukmanovicStejic2006")



def effector_suppression(s, p, g):
    """Divisor-form suppression of effector T cells by Tregs and MSCs (1 at health)."""
    sigma = p.treg_suppression_gain
    by_treg = (1.0 + sigma) / (1.0 + sigma * s.treg_rel)
    by_msc = 1.0 / (1.0 + p.emax_msc_tcell_suppression * g.msc_contact)
    return by_treg * by_msc


def derivatives(s, p, g):
    """Rates of change of the T-cell subsets [1/day]."""
    k_eff = rate_from_half_life(p.effector_t_half_life_d)
    k_treg = rate_from_half_life(p.treg_memory_half_life_d)
    suppression = effector_suppression(s, p, g)
    # activation saturates (relative_response: 1 at health, at most 1 + k_half)
    k = p.tcell_activation_k_half_rel
    w1 = p.th1_m1_drive_weight
    th1_drive = relative_response(s.m1_cells / p.m1_healthy_cells, 1.0, k)
    th1_target = ((1.0 - w1) + w1 * th1_drive) * suppression
    w17 = p.th17_il6_drive_weight
    th17_drive = relative_response(0.5 * (s.il6_pM / p.il6_healthy_pM + g.il1_signal_rel), 1.0, k)
    th17_target = ((1.0 - w17) + w17 * th17_drive) * suppression
    wt = p.treg_tgfb_drive_weight
    treg_target = ((1.0 - wt) + wt * g.tgfb_rel) * (1.0 + p.emax_msc_treg_induction * g.msc_contact)
    return {
        "th1_rel": k_eff * (th1_target - s.th1_rel),
        "th17_rel": k_eff * (th17_target - s.th17_rel),
        "treg_rel": k_treg * (treg_target - s.treg_rel),
    }
