"""Run a trial scenario end to end and write its outputs atomically.

scenario → conduct (population, protocol, simulation, observation) → blinded datasets →
explicit unblinding → analysis → ``summary.json``, ``report.html``, Parquet + DuckDB tables.
Everything is written into a temporary folder beside the destination and renamed into place
only when complete, so an interrupted run leaves no output folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..adam.engine import json_safe
from ..adam.report import write_ard
from ..data import from_trial_run
from ..data.tables import paramcd_of
from ..io import RunOutput, atomic_output_dir
from ..provenance import provenance
from .analyse import PLACEBO, analyse
from .conduct import conduct_trial
from .summary import TrialSummary

if TYPE_CHECKING:  # the trial is given a validated scenario; it does not load one
    from ..scenario import Scenario


def _clean(x):
    """JSON-safe values (NaN -> None, numpy -> Python, floats to 10 decimals)."""
    return json_safe(x, digits=10)


def build_summary(scenario: Scenario, run, dataset, analysis, mmrm: dict | None = None) -> TrialSummary:
    adsl = dataset["ADSL"]
    level = 1 - scenario.analysis.alpha  # every interval below is computed at this alpha (trial.analyse)
    arms = []
    protocols = {a.label: a for a in getattr(run, "arms", ())}
    for arm, g in adsl.groupby("TRT01P", sort=False):
        ch = analysis.change[analysis.change["arm"] == arm]
        ae = dataset["ADAE"][dataset["ADAE"]["USUBJID"].isin(g["USUBJID"])]
        protocol = protocols.get(arm)
        entry = {
            "arm": arm, "dose": float(g["TRTDOSE"].iloc[0]), "dose_unit": str(g["TRTDOSU"].iloc[0]),
            "product": protocol.exposure_product() if protocol else "",
            "injection_days": list(protocol.injection_days) if protocol else [],
            "cohorts": sorted(int(c) for c in g["COHORT"].unique()),
            "n_randomised": int(len(g)), "n_completed": int((g["COMPLFL"] == "Y").sum()),
            "change_from_baseline": {
                code: {row.visit: {"n": row.n, "mean": row.mean_chg, "sd": row.sd_chg,
                                   "ci": [row.ci_low, row.ci_high], "ci_level": level}
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
                    "ci": [r["ci_lower"], r["ci_upper"]], "ci_level": level}
        for code, res in analysis.ancova.items():
            d = res.differences
            if arm != PLACEBO and arm in set(d.index):
                row = d.loc[arm]
                entry["ancova_vs_placebo"][code] = {"estimate": row["estimate"], "se": row["se"],
                                                    "ci": [row["ci_lower"], row["ci_upper"]], "ci_level": level,
                                                    "p_value": row["p_value"]}
        arms.append(entry)
    order = {PLACEBO: -1.0}
    arms.sort(key=lambda a: order.get(a["arm"], a["dose"]))
    return TrialSummary.from_dict(_clean({
        "scenario": scenario.name, "description": scenario.description,
        "primary_endpoint": scenario.analysis.primary_endpoint,
        "primary_visit_month": scenario.analysis.primary_visit_month,
        "design": "ascending-dose cohorts" if scenario.design.cohorts else "parallel groups",
        "screening": run.screening, "cohort_decisions": run.cohort_decisions, "arms": arms,
        "solver_failures": getattr(run, "solver_failures", 0),
        "dose_response": None if analysis.dose_response is None else {
            "method": "MCP-Mod", "dose_response_detected": bool(analysis.dose_response.dose_response_detected),
            "target_dose_in_lowest_dose_units": analysis.dose_response.target_dose},
        "notes": analysis.notes,
        "provenance": provenance(scenario, parameter_set=scenario.model.parameter_set,
                                 **({"posterior_draw": run.parameter_draw} if run.parameter_draw else {})),
        "mmrm": mmrm,
    }))


def _mmrm_summary(adam) -> dict | None:
    if adam.mmrm is None:
        return None
    from ..adam.engine import mmrm_contrasts

    return _clean({"endpoint": adam.paramcd, "covariance": adam.mmrm.covariance_structure,
                   "df_method": adam.mmrm.df_method, "n_subjects": adam.mmrm.n_subjects,
                   "contrasts": mmrm_contrasts(adam.mmrm, adam.control).to_dict("records")})


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


def trial_ard(adam, analysis):
    """Analysis-results table: the standard analysis of the primary endpoint plus the ANCOVA of
    every endpoint at the primary visit and the responder analyses."""
    import pandas as pd

    rows = []
    for code, res in analysis.ancova.items():
        for arm, r in res.differences.iterrows():
            for stat, col in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lower"), ("ci_high", "ci_upper"),
                              ("p_value", "p_value")):
                rows.append({"ANALYSIS": "ANCOVA DIFF PRIMARY VISIT", "PARAMCD": paramcd_of(code), "AVISIT": "",
                             "ARM": str(arm), "REFARM": PLACEBO, "STAT": stat, "VALUE": float(r[col])})
    for name, res in analysis.responders.items():
        for arm, r in res.rates.iterrows():
            for stat in ("n", "responders", "rate"):
                rows.append({"ANALYSIS": f"RESPONDERS {name}", "PARAMCD": "", "AVISIT": "", "ARM": str(arm),
                             "REFARM": "", "STAT": stat, "VALUE": float(r[stat])})
    extra = pd.DataFrame(rows).assign(DATASET="ADQS")
    return pd.concat([adam.ard(), extra], ignore_index=True)


def run_trial(scenario: Scenario, out_dir: Path, progress: Callable[[str], None] | None = None,
              force: bool = False) -> TrialSummary:
    """Run ``scenario`` and write its outputs to ``out_dir``; return the summary.

    A non-empty ``out_dir`` is replaced only with ``force``, only if oasim wrote it, and only
    once the new outputs are complete (:func:`oasim.io.atomic_output_dir`).
    """
    with atomic_output_dir(out_dir, force) as tmp:
        summary, _dataset = _write(scenario, tmp, progress or (lambda _m: None))
    return summary


def run_scenario(scenario: Scenario, out_dir: Path, source: str, progress: Callable[[str], None]) -> RunOutput:
    """The runner of ``kind = "trial"`` (:data:`oasim.scenario.loader.KINDS`): writes into ``out_dir``."""
    summary, dataset = _write(scenario, Path(out_dir), progress)
    return RunOutput(summary, dict(dataset.tables), summary.provenance)


def _write(scenario: Scenario, tmp: Path, say: Callable[[str], None]):
    run = conduct_trial(scenario, say)
    say("building datasets")
    blinded = from_trial_run(run)
    dataset = blinded.unblind()  # the explicit unblinding step, after the last visit
    say("analysing")
    pv = list(scenario.visits.months).index(scenario.analysis.primary_visit_month)
    analysis = analyse(dataset, scenario.analysis.primary_endpoint, pv, scenario.analysis.endpoints,
                       scenario.analysis.alpha, scenario.analysis.mmrm)
    adam = trial_adam_analysis(scenario, dataset, analysis)  # the same path as `oasim analyse`
    summary = build_summary(scenario, run, dataset, analysis, _mmrm_summary(adam))
    say("writing outputs")
    dataset.write(tmp / "datasets")
    write_ard(trial_ard(adam, analysis), tmp)
    (tmp / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2), encoding="utf-8")
    if scenario.output.figures:
        from ..report import write_trial_report

        write_trial_report(tmp / "report.html", scenario, dataset, analysis, summary, adam)
    (tmp / "scenario.json").write_text(json.dumps(scenario.model_dump(mode="json"), indent=2))
    return summary, dataset
