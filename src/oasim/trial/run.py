"""Run a trial scenario end to end and write its outputs atomically.

scenario → conduct (population, protocol, simulation, observation) → blinded datasets →
explicit unblinding → analysis → ``summary.json``, ``report.html``, Parquet + DuckDB tables.
Everything is written into a temporary folder beside the destination and renamed into place
only when complete, so an interrupted run leaves no output folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable


from ..adam.engine import json_safe
from ..data import from_trial_run
from ..io import atomic_output_dir
from ..provenance import provenance
from ..scenario import Scenario
from .analyse import PLACEBO, analyse
from .conduct import conduct_trial


def _clean(x):
    """JSON-safe values (NaN -> None, numpy -> Python, floats to 10 decimals)."""
    return json_safe(x, digits=10)


def build_summary(scenario: Scenario, run, dataset, analysis) -> dict:
    adsl = dataset["ADSL"]
    arms = []
    for arm, g in adsl.groupby("TRT01P", sort=False):
        ch = analysis.change[analysis.change["arm"] == arm]
        ae = dataset["ADAE"][dataset["ADAE"]["USUBJID"].isin(g["USUBJID"])]
        entry = {
            "arm": arm, "dose": float(g["TRTDOSE"].iloc[0]), "dose_unit": str(g["TRTDOSU"].iloc[0]),
            "cohorts": sorted(int(c) for c in g["COHORT"].unique()),
            "n_randomised": int(len(g)), "n_completed": int((g["COMPLFL"] == "Y").sum()),
            "change_from_baseline": {
                code: {row.visit: {"n": row.n, "mean": row.mean_chg, "sd": row.sd_chg,
                                   "ci95": [row.ci_low, row.ci_high]}
                       for row in ch[ch["paramcd"] == code].sort_values("visitnum").itertuples()}
                for code in ch["paramcd"].unique()},
            "ancova_vs_placebo": {},
            "adverse_events": {
                "subjects_with_any": int(ae["USUBJID"].nunique()),
                "events": len(ae),
                "related_events": int((ae["AEREL"] == "Y").sum()),
                "grade3_or_more": int((ae["AETOXGR"] >= 3).sum()),
            },
        }
        for name, res in analysis.responders.items():
            if arm in res.rates.index:
                r = res.rates.loc[arm]
                entry.setdefault("responders", {})[name] = {
                    "n": r["n"], "responders": r["responders"], "rate": r["rate"],
                    "ci95": [r["ci_lower"], r["ci_upper"]]}
        for code, res in analysis.ancova.items():
            d = res.differences
            if arm != PLACEBO and arm in set(d.index):
                row = d.loc[arm]
                entry["ancova_vs_placebo"][code] = {"estimate": row["estimate"], "se": row["se"],
                                                    "ci95": [row["ci_lower"], row["ci_upper"]], "p_value": row["p_value"]}
        arms.append(entry)
    order = {PLACEBO: -1.0}
    arms.sort(key=lambda a: order.get(a["arm"], a["dose"]))
    return _clean({
        "scenario": scenario.name, "description": scenario.description,
        "primary_endpoint": scenario.analysis.primary_endpoint,
        "primary_visit_month": scenario.analysis.primary_visit_month,
        "screening": run.screening, "cohort_decisions": run.cohort_decisions, "arms": arms,
        "dose_response": None if analysis.dose_response is None else {
            "method": "MCP-Mod", "dose_response_detected": bool(analysis.dose_response.dose_response_detected),
            "target_dose_in_lowest_dose_units": analysis.dose_response.target_dose},
        "notes": analysis.notes,
        "provenance": provenance(scenario, parameter_set=scenario.model.parameter_set),
    })


def run_trial(scenario: Scenario, out_dir: Path, progress: Callable[[str], None] | None = None,
              force: bool = False) -> dict:
    """Run ``scenario`` and write its outputs to ``out_dir``.

    A non-empty ``out_dir`` is replaced only with ``force``, only if oasim wrote it, and only
    once the new outputs are complete (:func:`oasim.io.atomic_output_dir`).
    """
    say = progress or (lambda _m: None)
    with atomic_output_dir(out_dir, force) as tmp:
        run = conduct_trial(scenario, say)
        say("building datasets")
        blinded = from_trial_run(run)
        dataset = blinded.unblind()  # the explicit unblinding step, after the last visit
        say("analysing")
        pv = list(scenario.visits.months).index(scenario.analysis.primary_visit_month)
        analysis = analyse(dataset, scenario.analysis.primary_endpoint, pv, scenario.analysis.endpoints,
                           scenario.analysis.alpha, scenario.analysis.mmrm)
        summary = build_summary(scenario, run, dataset, analysis)
        say("writing outputs")
        dataset.write(tmp / "datasets")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        if scenario.output.figures:
            from ..report import write_trial_report

            write_trial_report(tmp / "report.html", scenario, dataset, analysis, summary)
        (tmp / "scenario.json").write_text(json.dumps(scenario.model_dump(mode="json"), indent=2))
    return summary
