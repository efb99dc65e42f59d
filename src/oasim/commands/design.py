"""``oasim design``: sweep trial designs (n, dose, enrichment, primary visit) by repeated simulation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ..errors import OasimError


def register(app: typer.Typer) -> None:
    @app.command("design")
    def design(
        scenario: Path = typer.Argument(..., help="trial scenario TOML"),
        vary: List[str] = typer.Option([], "--vary", help="KEY=V1,V2,... (n_active, n_placebo, dose_scale, kl, "
                                       "primary_visit); repeat for a grid"),
        trials: int = typer.Option(200, "--trials", min=2, max=100_000, help="simulated trials per design point"),
        out: Optional[Path] = typer.Option(None, "--out", help="folder for results (Parquet, DuckDB, figure); "
                                           "a rerun with the same oasim code resumes"),
        chunk_size: int = typer.Option(10, "--chunk-size", min=1),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256, help="local Dask cluster size"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler tcp://HOST:PORT"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Power, type I error (a null-dose variant runs automatically), CI coverage, P(choosing the
        right dose), expected n and AEs for every design point of the --vary grid."""
        from ..distributed import Engine
        from ..scenario import Scenario
        from ..trial.design_sweep import parse_vary, run_design, write_outputs

        try:
            engine = Engine.from_options(workers=workers, scheduler=scheduler)
            grid = parse_vary(vary)
            sc = Scenario.from_toml(scenario)
            with Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as bar:
                task = bar.add_task("trials", total=None)
                result = run_design(sc, grid, trials, out, chunk_size, engine,
                                    lambda done, total: bar.update(task, completed=done, total=total))
            paths = write_outputs(result, out, grid) if out is not None else []
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps({"trials": trials, "grid": {k: [list(v) if isinstance(v, tuple) else v for v in vs]
                                                              for k, vs in grid.items()},
                                   "design": json.loads(result.table.to_json(orient="records")),
                                   "files": [str(p) for p in paths]}, indent=2))
        else:
            Console(width=200).print(result.table.to_string(index=False))
            for p in paths:
                typer.echo(f"wrote {p}")
