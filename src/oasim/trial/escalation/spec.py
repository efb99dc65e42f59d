"""The link to the trial runner: build a design from a scenario's ``design`` table, and
define DLTs from the adverse-event table.

A DLT here is, by default, a grade >= 3 adverse event related to the product with onset
within 28 days of the dose (CTCAE grading; the usual first-in-human DLT window).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oasim.analysis.safety import dlt_events
from oasim.errors import FieldError
from oasim.trial.escalation.boin import Boin
from oasim.trial.escalation.crm import Crm, crm_skeleton
from oasim.trial.escalation.design import AbstractDesign
from oasim.trial.escalation.three_plus_three import ThreePlusThree
from oasim.trial.escalation.wrappers import AcceleratedTitration, SentinelDosing, StopAtN

DESIGNS = ("boin", "crm", "3+3")
TITRATIONS = ("none", "accelerated", "sentinel")
_KEYS = {
    "design", "num_doses", "target", "cohort_size", "max_n", "start_dose", "titration",
    "allow_deescalate", "skeleton", "prior_mtd", "model", "prior_sd", "stop_tox_prob",
    "n_earlystop", "cutoff_elim", "p_saf", "p_tox",
}  # fmt: skip


def design_from_spec(spec: dict, prefix: str = "design") -> AbstractDesign:
    """Build a design from plain values, e.g. a scenario file's ``[design]`` table.

    Parameters
    ----------
    spec : dict
        ``design`` ("boin", "crm" or "3+3"), ``num_doses``, ``max_n``; ``target`` (BOIN, CRM);
        optional ``cohort_size`` (3), ``start_dose`` (1), ``titration`` ("none",
        "accelerated", "sentinel"), ``allow_deescalate`` (3+3), ``skeleton`` or ``prior_mtd``
        (CRM; default skeleton by Lee & Cheung 2009 with the MTD guessed at the middle dose),
        ``model``, ``prior_sd``, ``stop_tox_prob`` (CRM), ``n_earlystop``, ``cutoff_elim``,
        ``p_saf``, ``p_tox`` (BOIN).
    prefix : str
        Dotted path of ``spec`` in the scenario, used in error messages.

    Returns
    -------
    AbstractDesign
        The design wrapped in :class:`StopAtN` (and the titration wrapper, if any).
    """
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise FieldError(f"{prefix}.{unknown[0]}", spec[unknown[0]], f"one of {sorted(_KEYS)}")
    kind = str(spec.get("design", "")).lower()
    if kind not in DESIGNS:
        raise FieldError(f"{prefix}.design", spec.get("design"), f"one of {DESIGNS}")
    for key in ("num_doses", "max_n") + (("target",) if kind != "3+3" else ()):
        if key not in spec:
            raise FieldError(f"{prefix}.{key}", None, "a value (required)")
    common = {"num_doses": spec["num_doses"], "start_dose": spec.get("start_dose", 1)}
    if kind == "boin":
        extra = {k: spec[k] for k in ("n_earlystop", "cutoff_elim", "p_saf", "p_tox") if k in spec}
        design = Boin(target=spec["target"], cohort_size=spec.get("cohort_size", 3), **common, **extra)
    elif kind == "3+3":
        design = ThreePlusThree(allow_deescalate=bool(spec.get("allow_deescalate", False)), cohort_size=spec.get("cohort_size", 3), **common)
    else:
        model = spec.get("model", "empiric")
        skeleton = spec.get("skeleton") or crm_skeleton(
            spec["target"], spec["num_doses"], spec.get("prior_mtd", (spec["num_doses"] + 1) // 2), model=model
        )
        if len(skeleton) != spec["num_doses"]:
            raise FieldError(f"{prefix}.skeleton", list(skeleton), f"{spec['num_doses']} values, one per dose")
        extra = {k: spec[k] for k in ("prior_sd", "stop_tox_prob") if k in spec}
        design = Crm(tuple(skeleton), spec["target"], model=model, cohort_size=spec.get("cohort_size", 3), start_dose=common["start_dose"], **extra)
    titration = spec.get("titration", "none") or "none"
    if titration not in TITRATIONS:
        raise FieldError(f"{prefix}.titration", titration, f"one of {TITRATIONS}")
    if titration == "accelerated":
        design = AcceleratedTitration(design)
    elif titration == "sentinel":
        design = SentinelDosing(design)
    return StopAtN(design, spec["max_n"])


def dlt_from_adverse_events(
    adverse_events: pd.DataFrame,
    subject_ids=None,
    min_grade: int = 3,
    window_days: float = 28.0,
    related_only: bool = True,
) -> pd.Series:
    """Flag the subjects who had a dose-limiting toxicity.

    Parameters
    ----------
    adverse_events : DataFrame
        One row per AE with columns ``subject_id``, ``grade`` (CTCAE 1-5), ``related`` (bool),
        ``onset_day`` and ``dose_day`` (study days).
    subject_ids : sequence, optional
        Every subject dosed (subjects without AEs get False); default: those in the table.
    min_grade : int
        Lowest grade that counts.
    window_days : float
        An AE counts when 0 <= onset_day - dose_day <= window_days [days].
    related_only : bool
        Count only AEs judged related to the product.

    Returns
    -------
    Series of bool
        Indexed by subject_id, True for a DLT.
    """
    ae = adverse_events
    counts = dlt_events(ae, min_grade, window_days, related_only)
    flagged = pd.Series(counts, index=ae["subject_id"].to_numpy()).groupby(level=0).any()
    subjects = pd.unique(np.asarray(ae["subject_id"])) if subject_ids is None else list(subject_ids)
    return flagged.reindex(subjects, fill_value=False).astype(bool).rename("dlt").rename_axis("subject_id")
