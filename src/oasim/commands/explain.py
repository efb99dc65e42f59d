"""``oasim explain``: why efficacy varies — the drivers of the individual treatment effect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import OasimError
from ..sobol_defaults import MSC_EFFECT_N_BASE  # not ..sobol: --help must not import numpy and pandas
from . import finite


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def explain(
        dose: Optional[List[str]] = typer.Option(None, "--dose", help="product:amount:unit@day, repeatable (prcc)"),
        method: str = typer.Option("prcc", "--method", help="prcc (drivers across a population at one dose) or "
                                   "sobol (variance of the MSC effect on WOMAC pain explained by calibrated "
                                   "parameters and covariates, SALib)"),
        n_base: int = typer.Option(MSC_EFFECT_N_BASE, "--n-base",
                                   help="sobol: base sample size (power of 2); n_base x (d + 2) knees "
                                        "(the report gives each index's bootstrap interval)"),
        out: Optional[Path] = typer.Option(None, "--out", help="sobol: folder for sobol.csv and report.html"),
        force: bool = typer.Option(False, "--force"),
        parameter_set: str = typer.Option("human", "--parameter-set"),
        subjects: int = typer.Option(1000, "--subjects", min=20, max=200_000),
        readout: str = typer.Option("pain_drive_rel", "--readout",
                                    help="pain_drive_rel, il1b_pg_per_ml, m1_m2_ratio or cartilage_thickness_mm"),
        day: float = typer.Option(91.0, "--day", min=0.0, max=3652.5, callback=finite,
                                  help="day of the comparison (at most 10 years)"),
        kl: Optional[int] = typer.Option(None, "--kl"),
        seed: int = typer.Option(1, "--seed"),
        as_json: bool = typer.Option(False, "--json"),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                              help="simulate on a local Dask cluster with N worker processes"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="simulate on a Dask cluster: tcp://HOST:PORT"),
    ):
        """Simulate each subject treated and untreated; rank the drivers of the individual effect by
        partial rank correlation (covariates, varying parameters, baseline state)."""
        from ..distributed import Engine
        from ..parameters import ParameterSet
        from ..protocol import Dose
        from ..sensitivity import treatment_effect_drivers

        try:
            engine = Engine.from_options(workers=workers, scheduler=scheduler)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if method == "sobol":
            _sobol(parameter_set, n_base, seed, out, force, as_json, engine)
            return
        try:
            if method != "prcc":
                raise OasimError(f"--method = {method!r}: allowed 'prcc' or 'sobol'")
            if not dose:
                raise OasimError("--dose: at least one dose is required with --method prcc")
            result = treatment_effect_drivers(ParameterSet.load(parameter_set), [Dose.parse(d) for d in dose],
                                              subjects, readout, day, seed, kl, engine=engine)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps({"readout": readout, "day": day, "drivers": result.drivers.to_dict(orient="records")},
                                  indent=2))
        else:
            typer.echo(result.summary())


def _sobol(parameter_set: str, n_base: int, seed: int, out: Path | None, force: bool, as_json: bool,
           engine=None) -> None:
    from rich.console import Console

    from ..sobol import msc_effect_sobol

    try:
        if out is not None:
            from ..io import check_output_dir

            check_output_dir(out, force)
        with Console(stderr=True).status(f"Sobol' analysis: {n_base} base samples, each knee simulated twice"):
            result = msc_effect_sobol(n_base, seed, parameter_set, engine=engine)
        if out is not None:
            from ..report.sobol import write_sobol_report

            write_sobol_report(result, out, force, {"parameter_set": parameter_set, "seed": seed, "n_base": n_base})
    except OasimError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({"method": "sobol", "n_base": n_base, "evaluations": result.n_evaluations,
                               "indices": result.long_table().to_dict(orient="records")}, indent=2))
        return
    for name, table in result.tables.items():
        typer.echo(f"{name}: Sobol' indices (S1 first order, ST total order, 95 % bootstrap CI), by ST")
        typer.echo(table.sort_values("ST", ascending=False).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
