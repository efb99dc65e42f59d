"""``oasim explain``: why efficacy varies — the drivers of the individual treatment effect."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from ..errors import OasimError
from . import finite


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def explain(
        dose: List[str] = typer.Option(..., "--dose", help="product:amount:unit@day, repeatable"),
        parameter_set: str = typer.Option("human", "--parameter-set"),
        subjects: int = typer.Option(1000, "--subjects", min=20, max=200_000),
        readout: str = typer.Option("pain_drive_rel", "--readout",
                                    help="pain_drive_rel, il1b_pg_per_ml, m1_m2_ratio or cartilage_thickness_mm"),
        day: float = typer.Option(91.0, "--day", min=0.0, max=3652.5, callback=finite,
                                  help="day of the comparison (at most 10 years)"),
        kl: Optional[int] = typer.Option(None, "--kl"),
        seed: int = typer.Option(1, "--seed"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Simulate each subject treated and untreated; rank the drivers of the individual effect by
        partial rank correlation (covariates, varying parameters, baseline state)."""
        from ..parameters import ParameterSet
        from ..protocol import Dose
        from ..sensitivity import treatment_effect_drivers

        try:
            result = treatment_effect_drivers(ParameterSet.load(parameter_set), [Dose.parse(d) for d in dose],
                                              subjects, readout, day, seed, kl)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps({"readout": readout, "day": day, "drivers": result.drivers.to_dict(orient="records")},
                                  indent=2))
        else:
            typer.echo(result.summary())
