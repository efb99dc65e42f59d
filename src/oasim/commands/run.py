"""``oasim run`` and ``oasim validate``: scenario files in, results folder out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..api import load_scenario, run as run_scenario
from ..errors import OasimError, ScenarioError
from ..io import check_output_dir, default_out_dir


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
            kind = load_scenario(scenario).kind
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
            spec = load_scenario(scenario)
        except ScenarioError as exc:
            _report_errors(exc)
            raise typer.Exit(2)
        try:
            out = check_output_dir(default_out_dir(spec.name) if out is None else out, force)
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

                result = run_scenario(scenario, out, force, say)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if result.kind == "trial":
            _print_summary(console, result.summary())
        elif result.kind == "program":
            console.print(str(result.summary()))
        console.print(f"results written to [bold]{out}[/]")
        typer.echo(str(out))


def _print_summary(console: Console, summary) -> None:
    table = Table(title=summary.title)
    for col in summary.header:
        table.add_column(col)
    for row in summary.rows:
        table.add_row(*row)
    console.print(table)
    for note in summary.notes:
        console.print(note)
