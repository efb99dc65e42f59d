"""``oasim validate-against``: replay published arms and score the simulator's predictive intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ..errors import OasimError


def _json_safe(x):
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def register(app: typer.Typer) -> None:
    @app.command("validate-against")
    def validate_against_cmd(
        table: Path = typer.Argument(..., help="arm table CSV (see README: the arm table)"),
        parameter_set: str = typer.Option("human", "--parameter-set", help="model parameter set name or .toml path"),
        replicates: int = typer.Option(200, "--replicates", min=2, max=100_000, help="simulated replays per study"),
        seed: int = typer.Option(0, "--seed", min=0),
        out: Optional[Path] = typer.Option(None, "--out", help="folder for per-chunk results; a rerun with the same "
                                           "oasim code resumes (other code: refused)"),
        chunk_size: int = typer.Option(25, "--chunk-size", min=1),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                              help="run on a local Dask cluster with N worker processes"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="run on a Dask cluster: tcp://HOST:PORT"),
        new_study: bool = typer.Option(True, "--new-study-effects/--no-new-study-effects",
                                       help="with a calibrated set that carries heterogeneity SDs, each replicate "
                                            "adds a new study's between-study/arm/row random effects"),
    ):
        """Simulate every study of TABLE as that trial R times: 95% predictive interval of each
        published statistic, inside or not, interval score, coverage and width vs the published CI."""
        from ..calibration.arms import read_arm_table
        from ..calibration.validate import validate_against
        from ..distributed import Engine

        try:
            engine = Engine.from_options(workers=workers, scheduler=scheduler)
            arm_table = read_arm_table(table)
            with Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                          console=Console(stderr=True)) as bar:
                task = bar.add_task("replicates", total=replicates)
                result = validate_against(arm_table, parameter_set, replicates, seed, chunk_size, out,
                                          progress=lambda done, total: bar.update(task, completed=done),
                                          engine=engine, new_study=new_study)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps(_json_safe(result.to_dict()), indent=2))
        else:
            Console(width=200).print(result.summary(), markup=False)
