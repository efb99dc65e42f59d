"""Synovial macrophages, M1 (pro-inflammatory) and M2 (anti-inflammatory), and their polarisation.

Monocytes recruited by DAMPs and TNF-α enter as M1; M1→M2 polarisation has a constitutive part plus
IL-10- and TSG-6-driven parts, and is multiplied by the tissue-bound exosome effect (exosomes push M1→M2: Zhang 2020,
Li K 2022); M2→M1 is driven by TNF-α and DAMPs. Rate constants follow the QSP-IO macrophage
module (k_M2_pol 0.25/d, k_M1_pol 0.045/d, death 0.02/d). The healthy M2 count follows from the
polarisation steady state, M2/M1 = k_M1→M2 / (k_M2→M1 + k_death).

References: Wang2021TNBC (macrophage module), Zhang2020, Choi2011.
``monocyte_recruitment_scale`` is 1 in a joint and 0 in a culture well (no circulating
monocytes): a chondrocyte monoculture then starts, and stays, without macrophages; a co-culture
starts with its seeded macrophages.

Not modelled: M0 as a separate state, proliferation, efferocytosis.
"""

from __future__ import annotations

from .inflammation import m2_healthy_cells
from .states import State

STATES = (
    State("m1_cells", "cells", "M1 synovial macrophages per joint", 1e6),
    State("m2_cells", "cells", "M2 synovial macrophages per joint", 1e6),
)
REFERENCES = ("Wang2021TNBC", "Zhang2020", "Choi2011")


def derivatives(s, p, g):
    """Rates of change of M1 and M2 [cells/day]."""
    m2_h = m2_healthy_cells(p)
    wd = p.recruitment_damps_fraction
    # No circulation in a culture well: monocyte_recruitment_scale = 0 there (1 in a joint).
    recruitment = (p.monocyte_recruitment_scale * p.k_macrophage_death_per_day
                   * (p.m1_healthy_cells + m2_h)
                   * (wd * g.damps_rel_response + (1.0 - wd) * g.tnf_rel))
    wi, wt = p.m2_polarisation_il10_fraction, p.m2_polarisation_tsg6_fraction
    signal_m2 = (1.0 - wi - wt) + wi * g.il10_rel + wt * g.tsg6_rel  # rest: constitutive
    to_m2 = (p.k_m1_to_m2_per_day * signal_m2
             * (1.0 + p.emax_exosome_m2_polarisation * g.exosome_effect) * s.m1_cells)
    wt = p.m1_polarisation_tnf_fraction
    to_m1 = p.k_m2_to_m1_per_day * (wt * g.tnf_rel + (1.0 - wt) * g.damps_rel_response) * s.m2_cells
    death = p.k_macrophage_death_per_day
    return {
        "m1_cells": recruitment - to_m2 + to_m1 - death * s.m1_cells,
        "m2_cells": to_m2 - to_m1 - death * s.m2_cells,
    }
