"""``oasim qc LOT_FOLDER``: characterise a product lot and write its release report."""

from __future__ import annotations

from pathlib import Path

import typer

from oasim.errors import OasimError

HELP = (
    "Judge a hUC-MSC / exosome lot for release and write its report.\n\n"
    "Checks ISCT identity (flow cytometry), trilineage differentiation, NTA size, purity "
    "(particles per ug protein), Western blot markers and the MISEV checklist; writes "
    "report.html, figures/, tables/ (Parquet) and release.json.\n\n"
    "LOT_FOLDER holds lot.toml (lot id, potency, flow panel: marker -> FCS file, channel, "
    "control), flow/*.fcs (stained tubes and isotype/FMO controls; optional gates.xml), "
    "trilineage.csv, nta.csv, bca.csv and western.csv. See examples/lot_demo/ and the "
    "oasim.qc.lot docstring.\n\n"
    "Exit code 0: lot passes release; 1: lot fails (report still written); 2: input error."
)


def qc(
    lot_folder: Path = typer.Argument(
        ..., help="Lot folder: lot.toml, flow/, trilineage.csv, nta.csv, bca.csv, western.csv."
    ),
    out: Path = typer.Option(
        None, "--out", help="Output folder (default: results/qc/LOT_ID); written atomically."
    ),
    force: bool = typer.Option(False, "--force", help="replace an earlier non-empty oasim output folder"),
) -> None:
    """Run the lot QC and write the release report (see ``HELP``)."""
    from oasim.io import check_output_dir
    from oasim.qc.release import run_qc, write_release

    try:
        if out is not None:
            check_output_dir(out, force)
        result = run_qc(lot_folder)
        out_dir = out if out is not None else Path("results") / "qc" / result.lot.lot_id
        report = write_release(result, out_dir, force)
    except OasimError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(result.summary())
    typer.echo(f"report: {report}")
    raise typer.Exit(0 if result.passed else 1)


def register(app: typer.Typer) -> None:
    """Add the ``qc`` command to the root app."""
    app.command("qc", help=HELP)(qc)
