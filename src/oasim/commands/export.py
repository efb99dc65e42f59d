"""``oasim export RESULTS_DIR --format xpt|dataset-json|csv``: submission formats of the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import OasimError


def export(
    results_dir: Path = typer.Argument(..., help="results folder of `oasim run` (its datasets/) or of `oasim analyse`"),
    fmt: str = typer.Option("xpt", "--format", help="xpt (SAS XPT v5), dataset-json (CDISC v1.1) or csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="output folder (default RESULTS_DIR/export-FORMAT)"),
    force: bool = typer.Option(False, "--force", help="replace a non-empty --out folder"),
):
    """Write a results folder's tables as SAS XPT v5, CDISC Dataset-JSON v1.1 or CSV, with define-style metadata."""
    from ..adam.export import export as run_export

    target = out or Path(results_dir) / f"export-{fmt}"
    try:
        written = run_export(results_dir, fmt, target, force)
    except OasimError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(str(written))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
