"""``oasim power``: repeat a trial scenario many times — power per arm, P(stopping for safety)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ..errors import OasimError, ScenarioError
from ..scenario import Scenario


def register(app: typer.Typer) -> None:
    @app.command("power")
    def power(
        scenario: Path = typer.Argument(..., help="trial scenario TOML"),
        trials: int = typer.Option(200, "--trials", min=2, max=100_000, help="number of simulated trials"),
        n_active: Optional[int] = typer.Option(None, "--n-active", min=1, help="override active subjects per cohort"),
        n_placebo: Optional[int] = typer.Option(None, "--n-placebo", min=0, help="override placebo subjects per cohort"),
        out: Optional[Path] = typer.Option(None, "--out", help="folder for per-chunk results; a rerun with the same "
                                           "oasim code resumes (other code: refused)"),
        chunk_size: int = typer.Option(10, "--chunk-size", min=1),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                              help="run on a local Dask cluster with N worker processes"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="run on a Dask cluster: tcp://HOST:PORT"),
        parameter_set: Optional[str] = typer.Option(
            None, "--parameter-set", help="parameter set (default: the scenario's; the demo trial names "
            "human_calibrated, whose posterior contributes one draw per simulated trial)"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Simulate the whole trial TRIALS times and report power per active arm (ANCOVA of the
        primary endpoint at the primary visit vs pooled placebo) and P(escalation stopped early)."""
        from ..distributed import Engine
        from ..trial.power import simulate_power

        try:
            engine = Engine.from_options(workers=workers, scheduler=scheduler)
            sc = Scenario.from_toml(scenario)
            if parameter_set is not None:
                data = sc.model_dump()
                data["model"]["parameter_set"] = parameter_set
                sc = Scenario.from_dict(data, str(scenario))
            if n_active is not None or n_placebo is not None:
                data = sc.model_dump()
                for c in data["design"]["cohorts"]:
                    c["n_active"] = n_active if n_active is not None else c["n_active"]
                    c["n_placebo"] = n_placebo if n_placebo is not None else c["n_placebo"]
                sc = Scenario.from_dict(data, str(scenario))
            with Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as bar:
                task = bar.add_task("trials", total=trials)
                result = simulate_power(sc, trials, chunk_size, out,
                                        lambda done, total: bar.update(task, completed=done), engine)
        except ScenarioError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps({"endpoint": result.endpoint, "alpha": result.alpha, "trials": trials,
                                   "parameter_set": sc.model.parameter_set,
                                   "arms": result.to_frame().to_dict(orient="records")}, indent=2))
        else:
            Console(width=160).print(result.summary())
