"""The trial report: one self-contained HTML file (figures embedded as base64 PNG), rendered from
the Jinja2 template ``templates/report.html.j2`` (see :mod:`oasim.report.trial`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..trial.summary import TrialSummary


def trial_adam_analysis(scenario, dataset, analysis):
    """The standard ADaM analysis (:func:`oasim.adam.analyse_adam`) of the primary endpoint over
    every post-baseline visit, reusing the trial analysis's MMRM (same model) instead of refitting."""
    from dataclasses import replace

    from ..adam import AnalysisSpec, analyse_adam
    from ..data.tables import paramcd_of

    spec = AnalysisSpec(paramcd=paramcd_of(scenario.analysis.primary_endpoint), where=(("ANL01FL", "Y"),),
                        population="ITTFL", control="Placebo", treatment="TRTP", trend="TRTPN",
                        alpha=scenario.analysis.alpha, mmrm=False)
    adam = analyse_adam(dataset.tables, spec)
    note = "trend test on TRTPN, the dose rank (0 = placebo, then 1, 2, ... by increasing dose)"
    return replace(adam, mmrm=analysis.mmrm, notes=[*adam.notes, note])


def write_trial_report(path: Path, scenario, dataset, analysis, summary: TrialSummary, adam=None) -> Path:
    """Write ``report.html`` (numbered sections, captioned tables and figures; see
    :func:`oasim.report.trial.trial_document`)."""
    from .trial import trial_document

    adam = adam if adam is not None else trial_adam_analysis(scenario, dataset, analysis)
    return trial_document(scenario, dataset, analysis, summary, adam).write(path)
