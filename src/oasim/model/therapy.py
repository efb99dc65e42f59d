"""The therapy: intra-articular MSCs and MSC-derived exosomes (small EVs).

MSCs: two viable pools. A dose is split into a fast pool (lost with t½ ≈ 10 d) and a persistent
pool (t½ ≈ 1 y); the rest is lost at injection. Fractions and half-lives are fitted to Toupet
2013 (≈15 % of human AD-MSCs detectable in the mouse knee at 1 month, ≈1.5 % engrafted at
≥6 months). Retention is longer in inflamed joints (Li 2016: ≈10 weeks in OA vs ≈4 weeks in
normal rat knees): the fast-pool loss rate is divided by (1 + θ·DAMPs) / (1 + θ), which is 1
in the healthy joint and grows with the fragment load. The injection flare (reactogenicity.py)
speeds fast-pool clearance by (1 + ``flare_msc_clearance_gain`` · flare): phagocytes recruited by
a large dose clear the injected cells (de Witte 2018).
Licensed MSCs secrete IL-1Ra, PGE2 and TSG-6 (see inflammation.py) and exosomes.

Exosomes: free in synovial fluid (lymphatic clearance, uptake into tissue) and tissue-bound /
internalised (slower loss). The tissue-bound pool drives an Emax effect E = B / (B + EC50/potency)
on M1→M2 polarisation, on FLS and chondrocyte catabolism and on matrix anabolism.
Doses are accepted in cells, particles, or µg protein (× particles per µg, see protocol.py).

References: Toupet2013, Li2016, Evans2014, Partain2020, Webber2013.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .signals import msc_fast_loss_rate_per_day
from .states import State

STATES = (
    State("msc_fast_cells", "cells", "viable MSCs, fast-cleared pool", 1e6),
    State("msc_persistent_cells", "cells", "viable MSCs, persistent (engrafted) pool", 1e5),
    State("exosome_free_particles", "particles", "exosomes free in synovial fluid", 1e10),
    State("exosome_bound_particles", "particles", "exosomes bound to / taken up by joint tissue", 1e10),
)
REFERENCES = ("Toupet2013", "Li2016", "Evans2014", "Partain2020", "Webber2013")


def exosome_rates_per_day(free_half_life_h, uptake_per_day, bound_half_life_d):
    """(k_free, k_uptake, k_bound) [1/day] of the two exosome pools: free exosomes leave synovial
    fluid at k_free = clearance + uptake, k_uptake of them into tissue; bound ones are lost at k_bound."""
    k_uptake = uptake_per_day
    return rate_from_half_life(free_half_life_h, "h") + k_uptake, k_uptake, rate_from_half_life(bound_half_life_d)


def bound_exosomes_after_bolus(dose_particles, tau_days, k_free, k_uptake, k_bound):
    """Tissue-bound exosomes τ days after a bolus of ``dose_particles`` into the free pool.

    The closed form of the two linear exosome equations of :func:`derivatives` (no MSC secretion):
    B(τ) = dose · k_uptake / (k_bound − k_free) · (e^(−k_free·τ) − e^(−k_bound·τ)), and
    dose · k_uptake · τ · e^(−k_free·τ) when the two rates coincide. Elementwise on arrays.
    """
    import numpy as np

    tau = np.asarray(tau_days, dtype=float)
    if abs(k_bound - k_free) < 1e-12 * k_free:
        return dose_particles * (k_uptake * tau * np.exp(-k_free * tau))
    return dose_particles * (k_uptake / (k_bound - k_free) * (np.exp(-k_free * tau) - np.exp(-k_bound * tau)))


def derivatives(s, p, g):
    """Rates of change of the therapy pools [cells/day, particles/day]."""
    k_fast_eff = msc_fast_loss_rate_per_day(s, p)
    k_persist = rate_from_half_life(p.msc_persistent_half_life_d)
    k_free, k_uptake, k_bound = exosome_rates_per_day(p.exosome_free_half_life_h, p.k_exosome_uptake_per_day,
                                                      p.exosome_bound_half_life_d)
    secretion = p.msc_exosome_secretion_particles_per_cell_day * g.msc_total_cells
    return {
        "msc_fast_cells": -k_fast_eff * s.msc_fast_cells,
        "msc_persistent_cells": -k_persist * s.msc_persistent_cells,
        "exosome_free_particles": secretion - k_free * s.exosome_free_particles,
        "exosome_bound_particles": k_uptake * s.exosome_free_particles - k_bound * s.exosome_bound_particles,
    }
