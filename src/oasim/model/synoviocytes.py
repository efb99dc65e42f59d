"""Activated fibroblast-like synoviocytes (FLS), as the activated fraction of the lining.

IL-1β and TNF-α activate FLS (IL-6, PGE2 and MMP-3 producers); TSG-6 and the exosome effect
suppress activation (TSG-6 via CD44 / NF-κB: Choi 2011; MSC crosstalk with resident cells:
Lakrat 2025). Activated FLS supply the MMP-3 that activates pro-MMP-13 (Proctor 2014 logic:
collagenase needs activation).

Th17 cells (IL-17) add to the activation drive with weight ``th17_fls_activation_weight``
(IL-17-positive synovial fluid has more IL-6 and chemokines: Snelling 2017).

References: Lakrat2025, Choi2011, Proctor2014, Snelling2017.
"""

from __future__ import annotations

from .states import State

STATES = (State("fls_activated_fraction", "fraction", "activated fraction of synovial fibroblasts", 0.1),)
REFERENCES = ("Lakrat2025", "Choi2011", "Proctor2014", "Snelling2017")


def derivatives(s, p, g):
    """Rate of change of the activated FLS fraction [1/day]."""
    f_h = p.fls_activated_healthy_fraction
    k_on = p.k_fls_activation_per_day
    k_off = k_on * (1.0 - f_h) / f_h  # healthy steady state by construction
    wi = p.fls_il1_fraction
    w17 = p.th17_fls_activation_weight
    activation = (k_on * (wi * g.il1_signal_rel + (1.0 - wi) * g.tnf_rel)
                  * ((1.0 - w17) + w17 * s.th17_rel) * (1.0 - s.fls_activated_fraction))
    resolution = (k_off * g.tsg6_rel * (1.0 + p.emax_exosome_fls * g.exosome_effect)
                  * s.fls_activated_fraction)
    return {"fls_activated_fraction": activation - resolution}
