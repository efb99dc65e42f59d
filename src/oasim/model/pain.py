"""Pain drive: an effect compartment that follows PGE2 and synovitis with a delay.

The pain drive is relative to the healthy joint (1 = no excess nociceptive drive). PGE2
sensitises nociceptors; synovitis (M1 macrophages, activated FLS) tracks pain in knee OA.
The endpoint models map this drive onto WOMAC pain and VAS.

References: Orita2011 (TNF-α correlates with WOMAC), Baker2017.
Not modelled: NGF, central sensitisation, bone-marrow lesions.
"""

from __future__ import annotations

from .states import State

STATES = (State("pain_drive_rel", "relative_to_healthy", "nociceptive drive (effect compartment)", 1.0),)
REFERENCES = ("Orita2011",)

LN2 = 0.6931471805599453


def pain_target_rel(s, p, g):
    """Instantaneous nociceptive drive relative to health."""
    wp = p.pain_pge2_weight
    synovitis_rel = 0.5 * (s.m1_cells / p.m1_healthy_cells
                           + s.fls_activated_fraction / p.fls_activated_healthy_fraction)
    return wp * g.pge2_rel + (1.0 - wp) * synovitis_rel


def derivatives(s, p, g):
    """Rate of change of the pain drive [1/day]."""
    k = LN2 / p.pain_equilibration_half_life_d
    return {"pain_drive_rel": k * (pain_target_rel(s, p, g) - s.pain_drive_rel)}
