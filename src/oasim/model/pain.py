"""Pain: peripheral nociceptive drive × a slowly integrating sensitisation gain.

``pain_drive_rel`` (1 = the healthy joint) is the perceived nociceptive drive the endpoint
models map onto WOMAC and VAS. Its target is

    peripheral × sensitisation_rel ** sensitisation_pain_exponent

* peripheral drive: PGE2 sensitises nociceptors and synovitis (M1 macrophages, activated FLS)
  tracks pain (synovitis OR 9.2 for knee pain, Baker 2010); the injection flare (effusion) adds
  to it, × (1 + ``flare_pain_gain`` · flare);
* sensitisation (peripheral and central; lower pressure-pain thresholds in knee OA, Moss 2016)
  follows the peripheral drive with a half-life of months: an intra-articular anaesthetic raises
  thresholds for ≥ 2 weeks (Pain Res Treat 2014) and sensitisation falls over 12 months after
  effective treatment (research note 8). A transient anti-inflammatory pulse therefore lowers
  pain for months, and a flare raises it for months.

References: Orita2011, Baker2010, Hill2007, Moss2016.
Not modelled: NGF, bone-marrow lesions.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .states import State

STATES = (
    State("pain_drive_rel", "relative_to_healthy", "perceived nociceptive drive (effect compartment)", 1.0),
    State("sensitisation_rel", "relative_to_healthy", "nociceptive sensitisation (slow integrator)", 1.0),
)
REFERENCES = ("Orita2011", "Baker2010", "Hill2007", "Moss2016")



def peripheral_drive_rel(s, p, g):
    """Peripheral nociceptive drive relative to health (PGE2, synovitis, injection flare)."""
    wp = p.pain_pge2_weight
    synovitis_rel = 0.5 * (s.m1_cells / p.m1_healthy_cells
                           + s.fls_activated_fraction / p.fls_activated_healthy_fraction)
    return (wp * g.pge2_rel + (1.0 - wp) * synovitis_rel) * (1.0 + p.flare_pain_gain * s.flare_fraction)


def pain_target_rel(s, p, g):
    """Instantaneous perceived drive relative to health."""
    return peripheral_drive_rel(s, p, g) * s.sensitisation_rel ** p.sensitisation_pain_exponent


def derivatives(s, p, g):
    """Rates of change of the pain drive and of sensitisation [1/day]."""
    k = rate_from_half_life(p.pain_equilibration_half_life_d)
    k_sens = rate_from_half_life(p.sensitisation_half_life_d)
    return {"pain_drive_rel": k * (pain_target_rel(s, p, g) - s.pain_drive_rel),
            "sensitisation_rel": k_sens * (peripheral_drive_rel(s, p, g) - s.sensitisation_rel)}
