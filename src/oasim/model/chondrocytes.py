"""Chondrocytes: viable density and the catabolic (IL-1/NF-κB-driven) state.

Density: slow renewal toward the healthy density (adult chondrocytes are nearly post-mitotic:
Gardiner 2016) and cytokine-driven apoptosis above the healthy level.
Catabolic state: a fraction in [0, 1) switched on by IL-1 receptor signalling, TNF-α, DAMPs and
mechanical load (BMI × joint-damage drive) and switched off faster by TGF-β and by the direct
(macrophage-independent) share of the exosome effect. Per Marrero-Berrios 2024, MSC effects on
chondrocytes are largely macrophage-dependent, so the direct share is a separate parameter.

``osm_il1_synergy_gain`` represents oncostatin M in explant culture (IL-1 + OSM, Proctor 2014)
as a multiplier (1 + gain) on the IL-1 share of the catabolic drive; OSM itself is not modelled.
``exosome_il1_signal_blockade`` lets the tissue-bound exosome effect dampen that IL-1 share (a
stimulus-dependent action: no effect on unstimulated cells); 0 in the human set.

References: Hunziker2002, Gardiner2016, MarreroBerrios2024, He2020, Wang2017, Proctor2014.
"""

from __future__ import annotations

from .states import State

STATES = (
    State("chondrocytes_per_mm3", "cells/mm^3", "viable chondrocyte density", 1e4),
    State("catabolic_fraction", "fraction", "catabolic activation of chondrocytes", 0.1),
)
REFERENCES = ("Hunziker2002", "Gardiner2016", "MarreroBerrios2024", "He2020", "Wang2017", "Proctor2014")


def catabolic_drive_rel(p, g):
    """Catabolic drive normalised to 1 in the healthy joint at reference BMI."""
    w_il1, w_tnf, w_damps = p.catabolic_il1_weight, p.catabolic_tnf_weight, p.catabolic_damps_weight
    w_load = 1.0 - w_il1 - w_tnf - w_damps
    mechanical = g.load_rel * (1.0 + p.joint_damage_drive * p.damage_catabolic_gain)
    # Oncostatin M is not a state of the model: OSM + IL-1 synergy (AP-1 = c-Fos/c-Jun,
    # Proctor 2014) is an explicit gain on the IL-1 share, 0 without OSM (and in the joint).
    # Exosome cargo can dampen IL-1 receptor signalling (NF-κB pathway) in the cell: the IL-1 share
    # is divided by (1 + blockade·E); blockade = 0 keeps the v1 form (human set).
    il1 = (g.il1_signal_rel * (1.0 + p.osm_il1_synergy_gain)
           / (1.0 + p.exosome_il1_signal_blockade * g.exosome_effect))
    weighted = (w_il1 * il1 + w_tnf * g.tnf_rel + w_damps * g.damps_rel_response
                + w_load * mechanical)
    # NF-κB-driven catabolic programmes respond steeply to combined stimuli; a power keeps the
    # drive positive and equal to 1 at health.
    return weighted ** p.catabolic_drive_hill


def derivatives(s, p, g):
    """Rates of change of chondrocyte density [cells/mm^3/day] and catabolic fraction [1/day]."""
    apoptosis_excess = p.k_chondrocyte_apoptosis_per_day * (
        0.5 * (g.il1_signal_rel + g.tnf_rel) - 1.0
    )
    density = (p.k_chondrocyte_renewal_per_day
               * (p.chondrocytes_healthy_per_mm3 - s.chondrocytes_per_mm3)
               - apoptosis_excess * s.chondrocytes_per_mm3)
    s_h = p.catabolic_healthy_fraction
    k_on = p.k_catabolic_on_per_day
    k_off = k_on * (1.0 - s_h) / s_h
    on = k_on * catabolic_drive_rel(p, g) * (1.0 - s.catabolic_fraction)
    off = (k_off * g.tgfb_rel
           * (1.0 + p.emax_exosome_anticatabolic * p.exosome_direct_chondrocyte_share * g.exosome_effect)
           * s.catabolic_fraction)
    return {"chondrocytes_per_mm3": density, "catabolic_fraction": on - off}
