"""The trial report: one self-contained HTML file (figures embedded as base64 PNG), rendered from
the Jinja2 template ``templates/report.html.j2`` (see :mod:`oasim.report.trial`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..trial.summary import TrialSummary


def write_trial_report(path: Path, scenario, dataset, analysis, summary: TrialSummary, adam) -> Path:
    """Write ``report.html`` (numbered sections, captioned tables and figures; see
    :func:`oasim.report.trial.trial_document`)."""
    from .trial import trial_document

    return trial_document(scenario, dataset, analysis, summary, adam).write(path)
