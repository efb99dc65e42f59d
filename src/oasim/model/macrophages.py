"""Synovial macrophages, M1 (pro-inflammatory) and M2 (anti-inflammatory), and their polarisation.

Monocytes recruited by DAMPs and TNF-α enter as M1; M1→M2 polarisation has a constitutive part plus
IL-10- and TSG-6-driven parts, and is multiplied by the tissue-bound exosome effect (exosomes push M1→M2: Zhang 2020,
Li K 2022); M2→M1 is driven by TNF-α and DAMPs. Rate constants follow the QSP-IO macrophage
module (k_M2_pol 0.25/d, k_M1_pol 0.045/d, death 0.02/d). The healthy M2 count follows from the
polarisation steady state, M2/M1 = k_M1→M2 / (k_M2→M1 + k_death).

Macrophage education (memory): brief contact with MSCs (1-3 days of co-culture: Kim & Hematti
2009), engulfing dying injected MSCs (de Witte 2018; apoptotic MSCs suffice) or tissue-bound
exosomes give an
IL-10-high / IL-12-low phenotype. ``macrophage_memory_fraction`` is the educated share of the
synovial macrophages: gained at ``k_macrophage_education_per_day`` × stimulus, lost with its own
half-life (the educated cells' turnover, bounded by trained-immunity persistence: about 3 months,
fading by 1 year, Kleinnijenhuis 2014). Educated macrophages polarise to M2 more readily and
resist repolarisation to M1 (× / ÷ (1 + emax·memory)); memory is 0 in the healthy joint.
Th1 cells (IFN-γ) add to the M2→M1 drive and the injection flare adds monocyte recruitment.

References: Wang2021TNBC (macrophage module), Zhang2020, Choi2011, KimHematti2009,
Kleinnijenhuis2014, deWitte2018.
``monocyte_recruitment_scale`` is 1 in a joint and 0 in a culture well (no circulating
monocytes): a chondrocyte monoculture then starts, and stays, without macrophages; a co-culture
starts with its seeded macrophages.

Not modelled: M0 as a separate state, proliferation.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .inflammation import m2_healthy_cells
from .states import State

STATES = (
    State("m1_cells", "cells", "M1 synovial macrophages per joint", 1e6),
    State("m2_cells", "cells", "M2 synovial macrophages per joint", 1e6),
    State("macrophage_memory_fraction", "fraction", "MSC/exosome-educated share of synovial macrophages", 0.1),
)
REFERENCES = ("Wang2021TNBC", "Zhang2020", "Choi2011", "KimHematti2009", "Kleinnijenhuis2014", "deWitte2018")



def derivatives(s, p, g):
    """Rates of change of M1 and M2 [cells/day]."""
    m2_h = m2_healthy_cells(p)
    wd = p.recruitment_damps_fraction
    # No circulation in a culture well: monocyte_recruitment_scale = 0 there (1 in a joint).
    recruitment = (p.monocyte_recruitment_scale * p.k_macrophage_death_per_day
                   * (p.m1_healthy_cells + m2_h)
                   * (wd * g.damps_rel_response + (1.0 - wd) * g.tnf_rel)
                   * (1.0 + p.flare_recruitment_gain * s.flare_fraction))
    memory = 1.0 + p.emax_macrophage_memory * s.macrophage_memory_fraction
    wi, wt = p.m2_polarisation_il10_fraction, p.m2_polarisation_tsg6_fraction
    signal_m2 = (1.0 - wi - wt) + wi * g.il10_rel + wt * g.tsg6_rel  # rest: constitutive
    to_m2 = (p.k_m1_to_m2_per_day * signal_m2
             * (1.0 + p.emax_exosome_m2_polarisation * g.exosome_effect) * memory * s.m1_cells)
    wt = p.m1_polarisation_tnf_fraction
    wi = p.th1_m1_polarisation_weight
    to_m1 = (p.k_m2_to_m1_per_day * (wt * g.tnf_rel + (1.0 - wt) * g.damps_rel_response)
             * ((1.0 - wi) + wi * s.th1_rel) / memory * s.m2_cells)
    stimulus = g.exosome_effect + g.msc_efferocytosis
    k_loss = rate_from_half_life(p.macrophage_memory_half_life_d)
    death = p.k_macrophage_death_per_day
    return {
        "m1_cells": recruitment - to_m2 + to_m1 - death * s.m1_cells,
        "m2_cells": to_m2 - to_m1 - death * s.m2_cells,
        "macrophage_memory_fraction": (p.k_macrophage_education_per_day * stimulus
                                       * (1.0 - s.macrophage_memory_fraction)
                                       - k_loss * s.macrophage_memory_fraction),
    }
