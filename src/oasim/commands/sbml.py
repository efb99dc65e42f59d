"""``oasim export-sbml``: write the knee model as SBML Level 3 Version 2."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import OasimError


def register(app: typer.Typer) -> None:
    @app.command("export-sbml")
    def export_sbml_cmd(
        out: Path = typer.Option(..., "--out", help="output .xml file (written atomically)"),
        force: bool = typer.Option(False, "--force", help="replace an existing --out file"),
        parameter_set: str = typer.Option("human", "--parameter-set", help="set name or .toml path"),
        dose: List[str] = typer.Option([], "--dose", help="product:amount:unit@day, repeatable; becomes an SBML event"),
        kl: Optional[int] = typer.Option(None, "--kl", help="typical subject of this KL grade (2-4): its damage "
                                         "drive and baseline matrix; default: the healthy joint"),
    ):
        """Export the knee model (states, rate laws, parameter values with units and sources,
        initial state, dose events) as SBML L3V2, validated with libSBML."""
        import numpy as np

        from ..interop.sbml import export_sbml
        from ..io import check_output_file
        from ..model import KneeModel
        from ..parameters import ParameterSet
        from ..protocol import Dose

        try:
            check_output_file(out, force)
            ps = ParameterSet.load(parameter_set)
            doses = tuple(Dose.parse(d) for d in dose)
            model = KneeModel()
            subject = initial = None
            if kl is not None:
                from ..population import Population
                from ..simulation import baseline_state

                if kl not in (2, 3, 4):
                    raise OasimError(f"--kl = {kl}: allowed 2, 3 or 4 (omit for the healthy joint)")
                pop = Population.sample(ps, 1, np.random.default_rng(0), kl_grade=kl, variability=False)
                pop.parameters["bmi_kg_per_m2"] = pop.parameters["bmi_reference_kg_per_m2"].copy()
                subject = {k: float(v[0]) for k, v in pop.parameters.items()}
                initial = dict(zip(model.state_names, baseline_state(model, pop)[0]))
            path = export_sbml(out, ps, model=model, subject=subject, initial_state=initial, doses=doses,
                               force=force)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        typer.echo(f"wrote {path} ({len(model.states)} species, {len(model.parameter_names)} parameters, "
                   f"{len({d.t_days for d in doses})} dose events); libSBML consistency check: 0 errors")
