"""Release criteria for hUC-MSC lots and their exosomes, each with its source.

Every threshold used to pass or fail a lot lives here, next to the citation it rests on or an
``assumed:`` note saying why no citation exists. Nothing else in :mod:`oasim.qc` hard-codes a
limit.

References
----------
Dominici2006
    Dominici M, Le Blanc K, Mueller I, et al. Minimal criteria for defining multipotent
    mesenchymal stromal cells. The International Society for Cellular Therapy position
    statement. Cytotherapy 2006;8(4):315-317. doi:10.1080/14653240600855905.
    "≥95% of the MSC population must express CD105, CD73 and CD90 ... and must lack
    expression (≤2% positive) of CD45, CD34, CD14 or CD11b, CD79α or CD19 and HLA-DR".
WebberClayton2013
    Webber J, Clayton A. How pure are your vesicles? J Extracell Vesicles 2013;2:19861.
    doi:10.3402/jev.v2i0.19861. Particle count (NTA) to protein (BCA) ratio as a purity metric.
Thery2018
    Théry C, Witwer KW, et al. Minimal information for studies of extracellular vesicles 2018
    (MISEV2018). J Extracell Vesicles 2018;7(1):1535750. doi:10.1080/20013078.2018.1535750.
Welsh2024
    Welsh JA, Goberdhan DCI, O'Driscoll L, et al. Minimal information for studies of
    extracellular vesicles (MISEV2023): from basic to advanced approaches.
    J Extracell Vesicles 2024;13(2):e12404. doi:10.1002/jev2.12404.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCES = ("Dominici2006", "WebberClayton2013", "Thery2018", "Welsh2024")


@dataclass(frozen=True)
class Criterion:
    """One release limit with its provenance.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"isct_positive_min_percent"``.
    value : float
        The limit, in the unit named in ``name``.
    source : str
        A bib key from :data:`REFERENCES`, or ``"assumed: <reason>"``.
    """

    name: str
    value: float
    source: str


# --- ISCT identity (flow cytometry), Dominici2006 -------------------------------------------
ISCT_POSITIVE_MIN_PERCENT = Criterion("isct_positive_min_percent", 95.0, "Dominici2006")
ISCT_NEGATIVE_MAX_PERCENT = Criterion("isct_negative_max_percent", 2.0, "Dominici2006")

#: Markers that must be expressed (≥ 95 % positive).
ISCT_POSITIVE_MARKERS = ("CD73", "CD90", "CD105")

#: Negative-panel requirements: each tuple is satisfied by any one of its markers; every
#: marker of a tuple that was measured must be ≤ 2 % (Dominici2006 lists "CD14 or CD11b",
#: "CD79α or CD19").
ISCT_NEGATIVE_REQUIREMENTS = (
    ("CD34",),
    ("CD45",),
    ("CD14", "CD11b"),
    ("CD79a", "CD19"),
    ("HLA-DR",),
)

#: Percentile of the isotype/FMO control that sets the positivity threshold.
CONTROL_PERCENTILE = Criterion(
    "control_percentile",
    99.0,
    "assumed: common flow practice (≤1 % of control events called positive); "
    "Dominici2006 does not prescribe a gating method",
)

# --- Trilineage differentiation ---------------------------------------------------------
TRILINEAGE_MIN_FOLD = Criterion(
    "trilineage_min_fold_over_control",
    2.0,
    "assumed: Dominici2006 requires differentiation 'demonstrated by staining' but sets no "
    "quantitative limit; a two-fold stain increase over undifferentiated control is a "
    "conservative, commonly reported effect size",
)
TRILINEAGE_MAX_P_VALUE = Criterion(
    "trilineage_max_p_value",
    0.05,
    "assumed: one-sided Welch t-test, induced > control, conventional alpha",
)

# --- Exosome (small EV) characterisation ------------------------------------------------
EXOSOME_SIZE_MIN_NM = 30.0
EXOSOME_SIZE_MAX_NM = 150.0
EXOSOME_MODE_IN_RANGE = Criterion(
    "exosome_mode_size_in_30_150_nm",
    1.0,
    "assumed: conventional exosome size range 30-150 nm; MISEV2018 (Thery2018) prefers "
    "'small EVs' (< 200 nm) to size-defined 'exosomes'",
)
EXOSOME_MIN_PERCENT_IN_RANGE = Criterion(
    "exosome_min_percent_in_30_150_nm",
    50.0,
    "assumed: at least half of the particles within the exosome size range",
)
PURITY_MIN_PARTICLES_PER_UG = Criterion(
    "purity_min_particles_per_ug",
    1.5e9,
    "WebberClayton2013 (particle:protein ratio as purity metric); limit = leaving their "
    "'impure' band (< 1.5e9 p/ug; 2e9-2e10 low purity, > 3e10 high purity). The band limits "
    "are quoted without a check against the paper's full text: confirm before relying on them",
)
WESTERN_MIN_SIGNAL_TO_BACKGROUND = Criterion(
    "western_min_signal_to_background",
    3.0,
    "assumed: band called detected when its densitometry exceeds 3x the blank-lane "
    "background (a usual limit-of-detection convention)",
)
#: Western blot: markers that must be detected in the exosome lane (Thery2018: at least one
#: transmembrane and one cytosolic EV protein) and those that must be absent (contaminant).
WESTERN_POSITIVE_MARKERS = ("CD9", "CD63", "TSG101")
WESTERN_NEGATIVE_MARKERS = ("calnexin",)


def purity_band(particles_per_ug: float) -> str:
    """Name the Webber & Clayton (2013) purity band of a particle-to-protein ratio.

    Parameters
    ----------
    particles_per_ug : float
        NTA particles per µg of BCA protein [particles/µg].

    Returns
    -------
    str
        ``"high purity"``, ``"low purity"``, ``"impure"`` or ``"between bands"``.

    Examples
    --------
    >>> purity_band(5e10), purity_band(1e10), purity_band(1e9)
    ('high purity', 'low purity', 'impure')
    """
    if particles_per_ug > 3e10:
        return "high purity"
    if 2e9 <= particles_per_ug <= 2e10:
        return "low purity"
    if particles_per_ug < 1.5e9:
        return "impure"
    return "between bands"
