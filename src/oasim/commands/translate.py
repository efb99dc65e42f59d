"""``oasim translate``: an effective mouse exosome dose as a human-equivalent dose, three ways."""

from __future__ import annotations

import json

import typer

from ..errors import OasimError


def register(app: typer.Typer) -> None:
    @app.command("translate")
    def translate_cmd(
        dose: float = typer.Option(..., "--dose", min=0.0, help="effective dose per source knee"),
        unit: str = typer.Option("particles", "--unit", help="particles or ug (µg protein)"),
        particles_per_ug: float = typer.Option(None, "--particles-per-ug", help="for --unit ug; default: the source set's value"),
        days: str = typer.Option("0", "--days", help="injection days, comma-separated, e.g. 7,14,21"),
        horizon_days: float = typer.Option(28.0, "--horizon-days", min=1.0, help="averaging window for exposure matching"),
        source: str = typer.Option("mouse_dmm", "--from", help="source parameter set"),
        target: str = typer.Option("human", "--to", help="target parameter set"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Translate by SF volume, by cartilage surface area and by exposure matching (same
        time-averaged tissue-bound exosome effect); print all three with their assumptions."""
        from ..experiments.systems import System
        from ..experiments.translation import translate
        from ..protocol import dose_in_model_units

        try:
            if unit not in ("particles", "ug"):
                raise OasimError(f"--unit = {unit!r}: allowed 'particles' or 'ug'")
            dose_days = tuple(float(x) for x in days.split(",") if x.strip())
            if unit == "ug":
                ppu = particles_per_ug or System.load(source).value("exosome_particles_per_ug")
                dose = dose_in_model_units(dose, unit, ppu)
            result = translate(dose, source, target, dose_days, horizon_days)
        except (OasimError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if as_json:
            typer.echo(json.dumps({"source": source, "target": target, "dose_particles": dose,
                                   "dose_days": list(dose_days), "horizon_days": horizon_days,
                                   "target_dose_particles": result.doses,
                                   "assumptions": result.assumptions()}, indent=2))
        else:
            typer.echo(result.summary())
