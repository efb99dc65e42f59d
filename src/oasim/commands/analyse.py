"""``oasim analyse ADAM_DIR``: the standard analysis of real (or simulated) trial data in ADaM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import OasimError


def analyse(
    adam_dir: Path = typer.Argument(..., help="folder of ADaM datasets (.xpt, .parquet, .csv or Dataset-JSON)"),
    paramcd: Optional[str] = typer.Option(None, "--paramcd", help="parameter to analyse (PARAMCD)"),
    visit: Optional[List[str]] = typer.Option(None, "--visit", help="AVISIT value or AVISITN (repeatable; "
                                              "default every post-baseline visit; MMRM when several)"),
    population: Optional[str] = typer.Option(None, "--population", help="subject-level flag, e.g. EFFFL (= 'Y')"),
    where: Optional[List[str]] = typer.Option(None, "--where", help="record filter VAR=VALUE (repeatable), "
                                              "e.g. ANL01FL=Y"),
    covariates: Optional[str] = typer.Option(None, "--covariates", help="comma-separated factors/covariates "
                                             "besides treatment (character variables are factors)"),
    control: Optional[str] = typer.Option(None, "--control", help="control arm (default: the arm with "
                                          "<treatment>N = 0, else the arm named placebo)"),
    treatment: Optional[str] = typer.Option(None, "--treatment", help="treatment variable (default TRTP, else "
                                            "TRT01P)"),
    trend: Optional[str] = typer.Option(None, "--trend", help="numeric dose variable for the linear trend test"),
    out: Optional[Path] = typer.Option(None, "--out", help="write report.html, results.json, ard.parquet/json here"),
    force: bool = typer.Option(False, "--force", help="replace a non-empty --out folder"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
):
    """Analyse real trial data in ADaM: ANCOVA vs control, trend test, MMRM, descriptive tables, Table 1, AE overview."""
    from ..adam import AnalysisSpec, analyse_adam, read_adam_dir

    try:
        spec = AnalysisSpec(paramcd=paramcd, visits=tuple(visit or ()), population=population,
                            where=AnalysisSpec.parse_where(where), treatment=treatment, control=control,
                            covariates=tuple(c.strip() for c in (covariates or "").split(",") if c.strip()),
                            trend=trend)
        if out is not None:
            from ..io import check_output_dir

            check_output_dir(out, force)  # before the analysis, not after it
        result = analyse_adam(read_adam_dir(adam_dir), spec)
        if out is not None:
            from ..adam.report import write_outputs

            write_outputs(result, out, str(adam_dir), force)
    except OasimError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    _print(result)
    if out is not None:
        typer.echo(f"results written to {out}")


def _print(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..analysis._common import level_text
    from ..report.document import fmt, fmt_p

    console = Console(width=140)
    table = Table(title=f"{result.param} ({result.paramcd}), {result.response}: difference vs {result.control}")
    for col in ("visit", "arm", "estimate", "SE", f"{level_text(result.spec.alpha)} CI", "p"):
        table.add_column(col)
    for r in result.pairwise.itertuples():
        table.add_row(str(r.visit), str(r.arm), fmt(r.estimate, 3), fmt(r.se, 3),
                      f"{fmt(r.ci_low, 3)}, {fmt(r.ci_high, 3)}", fmt_p(r.p_value))
    console.print(table)
    for r in result.dose_response.itertuples():
        console.print(f"trend in {r.variable} at {r.visit}: slope {r.slope:.4g} (SE {r.se:.3g}), p = {fmt_p(r.p_value)}")
    for note in result.notes:
        console.print(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse)
