"""``oasim simulate``: a quick population simulation without a scenario file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..errors import FieldError, OasimError
from . import finite
from ..parameters import ParameterSet
from ..population import Population
from ..protocol import Dose
from ..readouts import key_outputs


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        parameter_set: str = typer.Option("human", "--parameter-set", help="set name or .toml path"),
        subjects: int = typer.Option(1000, "--subjects", min=1, max=1_000_000, help="number of subjects"),
        years: float = typer.Option(2.0, "--years", min=0.01, max=50.0, callback=finite, help="follow-up [years]"),
        kl: Optional[int] = typer.Option(None, "--kl", help="fix the KL grade (0 = healthy, 2-4)"),
        dose: List[str] = typer.Option([], "--dose", help="product:amount:unit@day, repeatable, e.g. exosome:3e11:particles@0"),
        visits_per_year: int = typer.Option(4, "--visits-per-year", min=1, max=365),
        seed: int = typer.Option(1, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
        out: Optional[Path] = typer.Option(None, "--out", help="stream per-subject outputs to DIR/part_*.parquet "
                                           "in chunks (bounded memory; a rerun with the same settings and oasim code "
                                           "resumes) and write DIR/summary.json"),
        chunk_subjects: int = typer.Option(20_000, "--chunk-subjects", min=1, help="subjects per chunk with --out"),
        solver_name: str = typer.Option("numba", "--solver",
                                        help="numba (Rodas4), rosenbrock (Rodas3), rodas5p-x4 (Rodas5P, 4 subjects "
                                             "per SIMD step; first use compiles ~1-2 min), bdf (variable-order "
                                             "BDF) or scipy"),
        rtol: float = typer.Option(1e-6, "--rtol", min=1e-12, max=1e-2, help="relative tolerance (atol = rtol/100 "
                                   "in units of each state's scale)"),
        on_solver_failure: str = typer.Option(
            "raise", "--on-solver-failure",
            help="raise: a subject the solver fails on is an error (exit 2); drop: exclude and count it"),
    ):
        """Simulate a population and print per-visit mean and SD of the key outputs."""
        from ..simulation import simulate
        from ..solvers import SOLVERS

        try:
            ps = ParameterSet.load(parameter_set)
            doses = tuple(Dose.parse(d) for d in dose)
            if solver_name not in SOLVERS:
                raise FieldError("solver", solver_name, f"one of {sorted(SOLVERS)}")
            solver = SOLVERS[solver_name](rtol=rtol, atol=rtol / 100)
            t_days = np.linspace(0.0, years * 365.25, int(round(years * visits_per_year)) + 1)
            if out is not None:
                summary = _stream(ps, subjects, t_days, doses, out, seed, kl, chunk_subjects, solver,
                                  on_solver_failure)
            else:
                pop = Population.sample(ps, subjects, np.random.default_rng(seed), kl_grade=kl)
                result = simulate(pop, t_days, [doses] * subjects, solver=solver, on_solver_failure=on_solver_failure)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if out is None:
            sol = result.solution
            outputs = key_outputs(sol, pop.parameters)
            ok = sol.ok
            summary = {
                "n_failed": int((~ok).sum()),
                "outputs": {name: {"mean": np.mean(v[ok], axis=0).tolist(),
                                   "sd": np.std(v[ok], axis=0, ddof=1).tolist() if ok.sum() > 1 else [0.0] * len(t_days)}
                            for name, v in outputs.items()},
            }
        summary = {"parameter_set": ps.name, "n_subjects": subjects, "seed": seed,
                   "doses": [d.__dict__ for d in doses], "t_days": t_days.tolist(), **summary}
        outputs = summary["outputs"]
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


def _stream(ps, subjects, t_days, doses, out, seed, kl, chunk_subjects, solver, on_solver_failure) -> dict:
    """--out: chunks of subjects streamed to Parquet with a progress bar; returns the summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from ..streaming import stream_population

    with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("subjects", total=subjects)
        result = stream_population(ps, subjects, t_days, doses, out, seed, kl, chunk_subjects, solver,
                                   lambda done, total: bar.update(task, completed=done), on_solver_failure)
    return {"n_failed": result.n_failed, "out": str(out), "chunk_subjects": chunk_subjects,
            "outputs": {n: {"mean": result.mean[n], "sd": result.sd[n]} for n in result.mean}}
