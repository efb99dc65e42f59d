"""The trial report: one self-contained HTML file (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from ..data.tables import PARAM_LABELS
from . import figures


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, float_format=lambda x: f"{x:.{digits}g}", border=0, classes="t")


def write_trial_report(path: Path, scenario, dataset, analysis, summary: dict) -> Path:
    """Write ``report.html``: design, screening, trajectories, waterfall, MRI, ANCOVA, AEs."""
    months = {i: m for i, m in enumerate(scenario.visits.months)}
    primary = scenario.analysis.primary_endpoint
    pv = scenario.visits.months.index(scenario.analysis.primary_visit_month)
    parts = [f"<h1>{html.escape(scenario.name)}</h1>", f"<p>{html.escape(scenario.description)}</p>",
             f"<p>seed {scenario.seed} · scenario digest {scenario.digest()} · oasim {summary['provenance']['oasim_version']}"
             f" · parameter set {html.escape(scenario.model.parameter_set)}</p>",
             f"<h2>Design and conduct</h2><p>Design: {html.escape(summary.get('design', ''))}.</p>",
             _table(pd.DataFrame(summary["cohort_decisions"])),
             f"<p>Screened {summary['screening']['screened']}, screen failures "
             f"{summary['screening']['screen_failures']} ({html.escape(str(summary['screening']['failures_by_reason']))}).</p>",
             _table(pd.DataFrame([{k: a.get(k, "") for k in ("arm", "product", "dose", "dose_unit", "injection_days",
                                                             "n_randomised", "n_completed")}
                                  for a in summary["arms"]]))]
    parts.append("<h2>Efficacy: mean change from baseline per arm</h2>")
    for code in dict.fromkeys([primary, *scenario.analysis.endpoints]):
        if code in set(analysis.change["paramcd"]) and code != "MRI_THICK_MM":
            parts.append(_img(figures.trajectories(analysis.change, code, PARAM_LABELS.get(code, code), months), code))
    adqs = dataset["ADQS"]
    parts.append(_img(figures.waterfall(adqs, primary, pv, PARAM_LABELS.get(primary, primary)), "waterfall"))
    if "MRI_THICK_MM" in set(adqs["PARAMCD"]):
        parts.append("<h2>MRI cartilage thickness change</h2>")
        parts.append(_img(figures.trajectories(analysis.change, "MRI_THICK_MM", "thickness (mm)", months), "mri"))
    parts.append(f"<h2>ANCOVA at month {scenario.analysis.primary_visit_month:g} (vs pooled placebo)</h2>")
    for code, res in analysis.ancova.items():
        parts.append(f"<h3>{html.escape(PARAM_LABELS.get(code, code))}</h3>")
        parts.append(_table(res.to_frame().reset_index() if res.to_frame().index.name else res.to_frame()))
    if analysis.mmrm is not None:
        parts.append("<h2>MMRM of the primary endpoint (UN, Kenward–Roger)</h2>")
        parts.append(_table(analysis.mmrm.contrasts.reset_index()))
    for name, res in analysis.responders.items():
        parts.append(f"<h2>Responders at month {scenario.analysis.primary_visit_month:g}: {html.escape(name)}</h2>")
        parts.append(_table(res.rates.reset_index()))
        parts.append(_table(res.comparisons.reset_index()))
    if analysis.dose_response is not None:
        parts.append("<h2>Dose-response (MCP-Mod, dose in units of the lowest dose)</h2>")
        parts.append(f"<pre>{html.escape(str(analysis.dose_response.summary()))}</pre>")
    parts.append("<h2>Adverse events</h2>")
    parts.append(_table(analysis.safety.by_term.reset_index() if hasattr(analysis.safety.by_term, "reset_index") else analysis.safety.by_term))
    parts.append(_table(analysis.safety.by_max_grade.reset_index()))
    if analysis.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in analysis.notes) + "</ul>")
    style = ("<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th{padding:2px 6px;"
             "border-bottom:1px solid #ddd}img{max-width:100%}</style>")
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(scenario.name)}"
                    f"</title>{style}</head><body>{''.join(parts)}</body></html>", encoding="utf-8")
    return path
