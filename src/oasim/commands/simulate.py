"""``oasim simulate``: a quick population simulation without a scenario file."""

from __future__ import annotations

import json
from typing import List, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..errors import OasimError
from ..parameters import ParameterSet
from ..population import Population
from ..protocol import Dose
from ..readouts import key_outputs


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        parameter_set: str = typer.Option("human", "--parameter-set", help="set name or .toml path"),
        subjects: int = typer.Option(1000, "--subjects", min=1, max=1_000_000, help="number of subjects"),
        years: float = typer.Option(2.0, "--years", min=0.01, max=50.0, help="follow-up [years]"),
        kl: Optional[int] = typer.Option(None, "--kl", help="fix the KL grade (0 = healthy, 2-4)"),
        dose: List[str] = typer.Option([], "--dose", help="product:amount:unit@day, repeatable, e.g. exosome:3e11:particles@0"),
        visits_per_year: int = typer.Option(4, "--visits-per-year", min=1, max=365),
        seed: int = typer.Option(1, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
        on_solver_failure: str = typer.Option(
            "raise", "--on-solver-failure",
            help="raise: a subject the solver fails on is an error (exit 2); drop: exclude and count it"),
    ):
        """Simulate a population and print per-visit mean and SD of the key outputs."""
        from ..simulation import simulate

        try:
            ps = ParameterSet.load(parameter_set)
            doses = tuple(Dose.parse(d) for d in dose)
            pop = Population.sample(ps, subjects, np.random.default_rng(seed), kl_grade=kl)
            t_days = np.linspace(0.0, years * 365.25, int(round(years * visits_per_year)) + 1)
            result = simulate(pop, t_days, [doses] * subjects, on_solver_failure=on_solver_failure)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        sol = result.solution
        outputs = key_outputs(sol, pop.parameters)
        ok = sol.ok
        summary = {
            "parameter_set": ps.name, "n_subjects": subjects, "n_failed": int((~ok).sum()),
            "seed": seed, "doses": [d.__dict__ for d in doses], "t_days": t_days.tolist(),
            "outputs": {name: {"mean": np.mean(v[ok], axis=0).tolist(), "sd": np.std(v[ok], axis=0, ddof=1).tolist()
                               if ok.sum() > 1 else [0.0] * len(t_days)}
                        for name, v in outputs.items()},
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        table = Table(title=f"{subjects} subjects, {parameter_set}, doses: {', '.join(dose) or 'none'}")
        table.add_column("day", justify="right")
        for name in outputs:
            table.add_column(name.replace("_", " "), justify="right")
        for k, t in enumerate(t_days):
            table.add_row(f"{t:.0f}", *(f"{summary['outputs'][n]['mean'][k]:.3g} ± {summary['outputs'][n]['sd'][k]:.2g}"
                                       for n in outputs))
        Console(width=220).print(table)
        if summary["n_failed"]:
            typer.echo(f"warning: {summary['n_failed']} subjects failed to integrate and are excluded", err=True)
