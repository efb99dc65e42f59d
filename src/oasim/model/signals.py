"""Signals shared between biology modules, each normalised to 1 in the healthy joint.

These are not states; they are algebraic functions of states and parameters computed once per
right-hand-side evaluation and handed to every module (the "assignment rules" of SBML export).

References
----------
Proctor2014 : IL-1Ra competes with IL-1 at the receptor and needs a large molar excess to act.
Richette2008 : IL-1Ra / IL-1β molar ratio in OA synovial fluid.

``il1b_exogenous_pM`` is IL-1β added to a culture medium (in vitro assay, explant): constant,
not cleared (medium changes restore it), and 0 in the joint, where all IL-1β is the state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import rate_from_half_life
from .hill import relative_response, saturating


@dataclass(frozen=True)
class Signals:
    """Algebraic quantities of one right-hand-side evaluation (broadcast over subjects)."""

    il1_signal_rel: object  # IL-1 receptor occupancy / healthy occupancy
    tnf_rel: object  # TNF-α response / healthy
    damps_rel_response: object  # DAMP (matrix-fragment) response / healthy
    tgfb_rel: object  # TGF-β response / healthy
    tsg6_rel: object  # TSG-6 response / healthy
    il10_rel: object  # IL-10 response / healthy
    pge2_rel: object  # PGE2 response / healthy
    load_rel: object  # mechanical load: BMI / reference BMI
    chondrocytes_rel: object  # chondrocyte density / healthy density
    catabolic_rel: object  # catabolic state / healthy catabolic state
    exosome_effect: object  # tissue-bound exosome Emax effect in [0, 1)
    msc_licensing: object  # MSC licensing by IL-1β + TNF-α in [0, 1)
    msc_total_cells: object  # viable MSCs in the joint [cells]
    msc_contact: object  # contact of viable MSCs with joint T cells, in [0, 1)
    msc_efferocytosis: object  # uptake of dying MSCs by macrophages, in [0, 1)
    mmp13_activity_rel: object  # TIMP-free active MMP-13 / healthy
    adamts5_activity_rel: object  # TIMP-free ADAMTS-5 / healthy
    collagen_exposure_rel: object  # collagen accessible to collagenase / healthy (aggrecan shield)


def il1_receptor_occupancy(il1b_pM, il1ra_pM, kd_il1b_pM, ki_il1ra_pM):
    """Fraction of IL-1R1 bound by IL-1β with IL-1Ra as a competitive antagonist."""
    return il1b_pM / (il1b_pM + kd_il1b_pM * (1.0 + il1ra_pM / ki_il1ra_pM))


def msc_fast_loss_rate_per_day(s, p):
    """Loss rate of the fast MSC pool [1/day]: t½, longer retention in inflamed joints (Li 2016),
    faster clearance during an injection flare (see therapy.py)."""
    theta = p.msc_retention_inflammation_gain
    retention = (1.0 + theta * s.damps_rel) / (1.0 + theta)
    return (rate_from_half_life(p.msc_fast_half_life_d) / retention
            * (1.0 + p.flare_msc_clearance_gain * s.flare_fraction))


def msc_loss_cells_per_day(s, p):
    """Viable MSCs lost per day from both pools [cells/day]."""
    return (msc_fast_loss_rate_per_day(s, p) * s.msc_fast_cells
            + rate_from_half_life(p.msc_persistent_half_life_d) * s.msc_persistent_cells)


def compute_signals(s, p) -> Signals:
    """Compute every shared signal from the state namespace ``s`` and parameters ``p``."""
    # Exogenous IL-1β (added to a culture medium and kept constant by medium changes; 0 in the
    # joint) binds the same receptor as the endogenous IL-1β state.
    il1b_total_pM = s.il1b_pM + p.il1b_exogenous_pM
    occupancy = il1_receptor_occupancy(il1b_total_pM, s.il1ra_pM, p.kd_il1b_pM, p.ki_il1ra_pM)
    occupancy_healthy = il1_receptor_occupancy(
        p.il1b_healthy_pM, p.il1ra_healthy_pM, p.kd_il1b_pM, p.ki_il1ra_pM
    )
    mmp13_free = s.mmp13_nM / (1.0 + s.timp3_nM / p.ki_mmp13_timp3_nM)
    mmp13_free_healthy = p.mmp13_healthy_nM / (1.0 + p.timp3_healthy_nM / p.ki_mmp13_timp3_nM)
    adamts5_free = s.adamts5_nM / (1.0 + s.timp3_nM / p.ki_adamts5_timp3_nM)
    adamts5_free_healthy = p.adamts5_healthy_nM / (
        1.0 + p.timp3_healthy_nM / p.ki_adamts5_timp3_nM
    )
    # Aggrecan shields collagen from collagenases (Proctor 2014; Pratta 2003): exposure is
    # 1 - shield*aggrecan, normalised to the healthy joint (aggrecan = 1).
    exposure = (1.0 - p.aggrecan_shield_fraction * s.aggrecan_rel) / (
        1.0 - p.aggrecan_shield_fraction
    )
    return Signals(
        il1_signal_rel=relative_response(occupancy / occupancy_healthy, 1.0, p.k_half_il1_signal_rel),
        tnf_rel=relative_response(s.tnf_pM, p.tnf_healthy_pM, p.k_half_tnf_pM),
        damps_rel_response=relative_response(s.damps_rel, 1.0, p.k_half_damps_rel),
        tgfb_rel=relative_response(s.tgfb_pM, p.tgfb_healthy_pM, p.k_half_tgfb_pM),
        tsg6_rel=relative_response(s.tsg6_pM, p.tsg6_healthy_pM, p.k_half_tsg6_pM),
        il10_rel=relative_response(s.il10_pM, p.il10_healthy_pM, p.k_half_il10_pM),
        pge2_rel=relative_response(s.pge2_pM, p.pge2_healthy_pM, p.k_half_pge2_pM),
        load_rel=p.bmi_kg_per_m2 / p.bmi_reference_kg_per_m2,
        chondrocytes_rel=s.chondrocytes_per_mm3 / p.chondrocytes_healthy_per_mm3,
        catabolic_rel=s.catabolic_fraction / p.catabolic_healthy_fraction,
        exosome_effect=saturating(
            s.exosome_bound_particles, p.ec50_exosome_bound_particles / p.exosome_potency_rel
        ),
        msc_licensing=saturating(il1b_total_pM + s.tnf_pM, p.k_half_msc_licensing_pM),
        msc_total_cells=s.msc_fast_cells + s.msc_persistent_cells,
        # ratio-dependent MSC action on immune cells (half-effect between 1:10 and 1:100 MSC:T,
        # research note 1d): an occupancy in the number of viable MSCs
        msc_contact=saturating(s.msc_fast_cells + s.msc_persistent_cells, p.k_half_msc_contact_cells),
        # macrophages are educated by engulfing dying MSCs (de Witte 2018): the loss flux of the
        # two viable pools [cells/day] (therapy.py) through a half-saturating uptake
        msc_efferocytosis=saturating(msc_loss_cells_per_day(s, p), p.k_half_msc_efferocytosis_cells_per_day),
        mmp13_activity_rel=mmp13_free / mmp13_free_healthy,
        adamts5_activity_rel=adamts5_free / adamts5_free_healthy,
        collagen_exposure_rel=exposure,
    )
