"""``oasim escalate``: operating characteristics of dose-escalation designs, and BOIN tables.

``oasim escalate --design boin --target 0.3 --truth 0.05,0.1,0.2,0.3,0.5 --trials 10000``
simulates; ``oasim escalate boundaries --target 0.3`` prints the BOIN decision table;
``oasim escalate next --design boin --target 0.3 --num-doses 5 --outcomes "1NNN 2NTN"`` decides.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from oasim.errors import OasimError
from oasim.trial.escalation import boin_boundaries, design_from_spec, enumerate_trials, simulate_trials

escalate_app = typer.Typer(help="Dose-escalation designs (3+3, BOIN, CRM): operating characteristics and decisions.")


def _floats(text: str | None, field: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{field} = {text!r}: allowed comma-separated numbers") from None


def _fail(error: OasimError) -> None:
    Console(stderr=True).print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


def _oc_table(oc) -> Table:
    how = f"{oc.n_trials} trials, seed {oc.seed}" if oc.n_trials else "exact"
    table = Table(title=f"{oc.design} ({how}, {oc.elapsed_s:.2f} s)")
    for column in ("dose", "true P(DLT)", "% selected", "mean n", "mean DLT"):
        table.add_column(column, justify="right")
    frame = oc.to_frame()
    for row in frame.itertuples(index=False):
        table.add_row(str(row.dose), f"{row.true_prob_dlt:.3f}", f"{row.pct_selected:.1f}", f"{row.mean_n:.2f}", f"{row.mean_dlt:.2f}")
    table.add_row("none", "", f"{100 * oc.prob_no_dose:.1f}", "", "", style="dim")
    table.add_row("total", "", "", f"{oc.mean_total_n:.2f}", f"{oc.mean_total_dlt:.2f}", style="bold")
    return table


def _oc_footer(oc) -> str:
    return f"% early stop (no MTD) {100 * oc.prob_no_dose:.1f}; overall DLT rate {oc.overall_dlt_rate:.3f}"


@escalate_app.callback(invoke_without_command=True)
def simulate(
    ctx: typer.Context,
    design: str = typer.Option("boin", help="boin, crm or 3+3."),
    target: float = typer.Option(0.3, help="Target DLT probability."),
    truth: str = typer.Option(None, help="True DLT probability per dose, comma-separated."),
    cohort_size: int = typer.Option(3, help="Subjects per cohort."),
    max_n: int = typer.Option(30, help="Maximum subjects in the trial."),
    trials: int = typer.Option(10_000, help="Simulated trials."),
    seed: int = typer.Option(1, help="Seed of the random generator."),
    skeleton: str = typer.Option(None, help="CRM skeleton, comma-separated (default: Lee & Cheung)."),
    titration: str = typer.Option("none", help="none, accelerated or sentinel."),
    deescalate: bool = typer.Option(False, help="3+3: de-escalate to expand the MTD cohort to 6."),
    exact: bool = typer.Option(False, help="Enumerate every trial path instead of simulating."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Operating characteristics of a design under a true dose-toxicity scenario."""
    if ctx.invoked_subcommand is not None:
        return
    probabilities = _floats(truth, "truth")
    if not probabilities:
        raise typer.BadParameter("--truth is required, e.g. 0.05,0.1,0.2,0.3,0.5")
    spec = {"design": design, "num_doses": len(probabilities), "target": target, "cohort_size": cohort_size,
            "max_n": max_n, "titration": titration, "allow_deescalate": deescalate}  # fmt: skip
    if skeleton:
        spec["skeleton"] = _floats(skeleton, "skeleton")
    try:
        built = design_from_spec(spec, prefix="escalate")
        oc = enumerate_trials(built, probabilities) if exact else simulate_trials(built, probabilities, trials, seed)
    except OasimError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(oc.to_dict(), indent=2))
    else:
        console = Console()
        console.print(_oc_table(oc))
        console.print(_oc_footer(oc))


@escalate_app.command("boundaries")
def boundaries(
    target: float = typer.Option(0.3, help="Target DLT probability."),
    max_n: int = typer.Option(30, help="Tabulate n = 1..max-n subjects at a dose."),
    cohort_size: int = typer.Option(1, help="Show every cohort-size-th n only."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The BOIN decision table: escalate if DLT <=, de-escalate if >=, eliminate if >=."""
    try:
        table = boin_boundaries(target)
    except OasimError as error:
        _fail(error)
    frame = table.to_frame(max_n, cohort_size)
    if as_json:
        payload = {"target": table.target, "lambda_e": table.lambda_e, "lambda_d": table.lambda_d,
                   "table": json.loads(frame.astype(object).where(frame.notna(), None).to_json(orient="records"))}  # fmt: skip
        typer.echo(json.dumps(payload, indent=2))
        return
    out = Table(title=f"BOIN boundaries, target {target:g}: lambda_e {table.lambda_e:.4f}, lambda_d {table.lambda_d:.4f}")
    out.add_column("", justify="left")
    for n in frame["n"]:
        out.add_column(str(n), justify="right")
    labels = {"escalate_if_dlt_le": "Escalate if # DLT <=", "deescalate_if_dlt_ge": "De-escalate if # DLT >=",
              "eliminate_if_dlt_ge": "Eliminate if # DLT >="}  # fmt: skip
    out.add_row("Subjects treated", *[str(n) for n in frame["n"]])
    for column, label in labels.items():
        out.add_row(label, *["NA" if v is None or str(v) == "<NA>" else str(int(v)) for v in frame[column].astype(object)])
    Console(width=max(120, 8 * len(frame) + 30)).print(out)


@escalate_app.command("next")
def next_dose(
    outcomes: str = typer.Option(..., help='Outcomes so far, e.g. "1NNN 2NTN".'),
    design: str = typer.Option("boin", help="boin, crm or 3+3."),
    target: float = typer.Option(0.3, help="Target DLT probability."),
    num_doses: int = typer.Option(5, help="Number of dose levels."),
    cohort_size: int = typer.Option(3, help="Subjects per cohort."),
    max_n: int = typer.Option(30, help="Maximum subjects in the trial."),
) -> None:
    """The design's decision after the outcomes so far."""
    spec = {"design": design, "num_doses": num_doses, "target": target, "cohort_size": cohort_size, "max_n": max_n}
    try:
        typer.echo(design_from_spec(spec, prefix="escalate").fit(outcomes).summary())
    except OasimError as error:
        _fail(error)


def register(app: typer.Typer) -> None:
    """Add the ``escalate`` command group to the root app."""
    app.add_typer(escalate_app, name="escalate")
