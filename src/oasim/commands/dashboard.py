"""``oasim dashboard``: the local web dashboard (explorer, trial designer, escalation, QC)."""

from __future__ import annotations

import ipaddress

import typer

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        host: str = typer.Option("127.0.0.1", "--host", help="address to bind; anything but 127.0.0.1 exposes the "
                                                              "dashboard (and the machine's CPU) to that network"),
        port: int = typer.Option(8050, "--port", help="TCP port (1024-65535)"),
        workers: int = typer.Option(4, "--max-sessions", help="browser sessions with a model worker at once (1-16)"),
    ):
        """Start the local web dashboard and print its address (stop with Ctrl-C)."""
        if not 1024 <= port <= 65535:
            typer.echo(f"error: port = {port}: allowed 1024-65535", err=True)
            raise typer.Exit(2)
        if not 1 <= workers <= 16:
            typer.echo(f"error: max-sessions = {workers}: allowed 1-16", err=True)
            raise typer.Exit(2)
        if host not in LOCAL_HOSTS:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                typer.echo(f"error: host = {host!r}: allowed an IP address or localhost", err=True)
                raise typer.Exit(2) from None
            typer.echo(f"warning: binding {host}: anyone who can reach it can run simulations", err=True)
        try:
            from ..dashboard import serve
        except ImportError as exc:
            typer.echo(f"error: the dashboard needs its extra: pip install 'oasim[dashboard]' ({exc})", err=True)
            raise typer.Exit(2) from None
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"oasim dashboard on http://{shown}:{port}/  (Ctrl-C stops it)", err=True)
        serve(host, port, workers)
