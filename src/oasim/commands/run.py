"""``oasim run`` and ``oasim validate``: scenario files in, results folder out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import FieldError, OasimError, ScenarioError
from ..io import atomic_output_dir, check_output_dir, default_out_dir
from ..scenario import Scenario, read_toml


def _load(path: Path):
    """(kind, validated scenario or the raw dict of an experiment) or raise ScenarioError."""
    from ..experiments import EXPERIMENT_KINDS, validate_scenario

    data = read_toml(path)
    kind = data.get("kind", "trial")
    if kind == "trial":
        return kind, Scenario.from_file_data(data, path)
    if kind in EXPERIMENT_KINDS:
        validate_scenario(data, str(path))
        return kind, data
    raise ScenarioError(str(path), [FieldError("kind", kind, f"one of {['trial', *sorted(EXPERIMENT_KINDS)]}",
                                               str(path))])


def _report_errors(exc: ScenarioError) -> None:
    err = Console(stderr=True)
    err.print(f"[bold red]invalid scenario[/] {exc.source}: {len(exc.errors)} error(s)")
    for e in exc.errors:
        err.print(f"  - [bold]{e.field}[/] = {e.value!r}: {e.allowed}")


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(scenario: Path = typer.Argument(..., help="scenario TOML file")):
        """Check a scenario file; list every error with field, value and what is allowed (exit 2)."""
        try:
            kind, _ = _load(scenario)
        except ScenarioError as exc:
            _report_errors(exc)
            raise typer.Exit(2)
        typer.echo(f"{scenario}: valid ({kind})")

    @app.command("run")
    def run(
        scenario: Path = typer.Argument(..., help="scenario TOML file"),
        out: Optional[Path] = typer.Option(None, "--out", help="output folder (default results/<name>-<time>)"),
        force: bool = typer.Option(False, "--force", help="replace an earlier non-empty oasim output folder"),
    ):
        """Run a scenario (trial or preclinical experiment) and write datasets, summary and report."""
        try:
            kind, spec = _load(scenario)
        except ScenarioError as exc:
            _report_errors(exc)
            raise typer.Exit(2)
        name = spec.name if kind == "trial" else str(spec.get("name", scenario.stem))
        try:
            out = check_output_dir(default_out_dir(name) if out is None else out, force)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        console = Console(width=150)
        try:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task("starting", total=None)

                def say(msg: str) -> None:
                    bar.update(task, description=msg)

                if kind == "trial":
                    from ..trial.run import run_trial

                    summary = run_trial(spec, out, say, force)
                else:
                    summary = _run_experiment_atomically(spec, out, str(scenario), say, force)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if kind == "trial":
            _print_trial_summary(console, summary)
        console.print(f"results written to [bold]{out}[/]")
        typer.echo(str(out))


def _run_experiment_atomically(data: dict, out: Path, source: str, say, force: bool) -> dict:
    """Run a preclinical experiment into a temporary folder, then rename it into place."""
    from ..experiments import run_experiment

    with atomic_output_dir(out, force) as tmp:
        say(f"running {data.get('kind')} experiment")
        result = run_experiment(data, tmp, source)
    return result.summary


def _print_trial_summary(console: Console, summary: dict) -> None:
    code = summary["primary_endpoint"]
    month = summary["primary_visit_month"]
    visit = f"MONTH {month:g}"
    table = Table(title=f"{summary['scenario']}: change in {code} at month {month:g} (mean [95% CI])")
    for col in ("arm", "n rand", "n compl", "change", "vs placebo (ANCOVA)", "AEs (related, ≥G3)"):
        table.add_column(col)
    for a in summary["arms"]:
        c = a["change_from_baseline"].get(code, {}).get(visit)
        change = f"{c['mean']:.2f} [{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}] (n={c['n']})" if c and c["mean"] is not None else "–"
        anc = a["ancova_vs_placebo"].get(code)
        diff = f"{anc['estimate']:.2f} [{anc['ci95'][0]:.2f}, {anc['ci95'][1]:.2f}] p={anc['p_value']:.3f}" if anc else "–"
        ae = a["adverse_events"]
        table.add_row(a["arm"], str(a["n_randomised"]), str(a["n_completed"]), change, diff,
                      f"{ae['events']} ({ae['related_events']}, {ae['grade3_or_more']})")
    console.print(table)
    s = summary["screening"]
    console.print(f"screened {s['screened']}, screen failures {s['screen_failures']}; cohorts: "
                  + ", ".join(f"{d['cohort']}: {d['decision']} ({d['n_dlt']} DLT)" for d in summary["cohort_decisions"]))
