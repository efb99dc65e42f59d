"""Injection flare (reactogenicity): a dose-dependent, self-limiting effusion and inflammation.

Injected cells trigger an acute innate reaction (complement, neutrophil and monocyte influx,
phagocytosis of the injected cells: de Witte 2018; Markides 2019 found labelled MSCs engulfed in
the synovium). The flare is a fraction in [0, 1): switched on by the fast MSC pool with a
half-maximal cell number ``msc_flare_ed50_cells`` — the same ED50 as the effusion adverse-event
model (``ae_effusion_msc_ed50_cells``, Matas 2024: swelling in every subject at 80e6 UC-MSCs) —
and follows D / (D + ED50) of the cells present with a half-life of days. Knee pain (24.5 %) and effusion (12.5 %) are the common
adverse reactions after IA stem-cell injections (Shang 2023).

What the flare does in the efficacy model (each gain 0 switches it off):
* adds to the peripheral nociceptive drive (effusion pain; pain.py),
* raises monocyte recruitment (more M1 macrophages; macrophages.py),
* speeds clearance of the fast MSC pool (phagocytosis; therapy.py),
so a higher cell dose buys less durable benefit and more early pain: the basis of the plateau
and inverse dose-responses of Gupta 2016 and Matas 2024.

References: Shang2023, Matas2024, Gupta2016, deWitte2018, Markides2019.
"""

from __future__ import annotations

from ..units import rate_from_half_life
from .hill import saturating
from .states import State

STATES = (State("flare_fraction", "fraction", "injection flare / effusion intensity (0 = none)", 0.1),)
REFERENCES = ("Shang2023", "Matas2024", "Gupta2016", "deWitte2018", "Markides2019")



def derivatives(s, p, g):
    """Rate of change of the flare fraction [1/day]."""
    k = rate_from_half_life(p.flare_half_life_d)
    # the flare follows D / (D + ED50) of the cells present, the dose-response of the effusion AE
    return {"flare_fraction": k * (saturating(s.msc_fast_cells, p.msc_flare_ed50_cells) - s.flare_fraction)}
