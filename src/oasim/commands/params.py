"""``oasim params``: inspect parameter sets."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from ..errors import OasimError
from ..parameters import ParameterSet, available_sets


def register(app: typer.Typer) -> None:
    params_app = typer.Typer(help="Parameter sets: every value with unit and source.", no_args_is_help=True)

    @params_app.command("show")
    def show(name: str = typer.Argument("human", help=f"set name ({', '.join(available_sets())}) or path to a .toml")):
        """Print every parameter of a set with value, unit, variability and source."""
        try:
            ps = ParameterSet.load(name)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        table = Table(title=f"parameter set '{ps.name}' ({len(ps)} parameters) — {ps.description}")
        for col in ("name", "value", "unit", "cv", "kind", "source"):
            table.add_column(col, overflow="fold")
        for p in ps:
            table.add_row(p.name, f"{p.value:.6g}", p.unit, "" if p.cv is None else f"{p.cv:g}",
                          p.source_kind, p.source)
        Console(width=200).print(table)
        counts = ps.table()["kind"].value_counts().to_dict()
        typer.echo("sources: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    @params_app.command("list")
    def list_sets():
        """List the built-in parameter sets."""
        for name in available_sets():
            typer.echo(name)

    app.add_typer(params_app, name="params")
