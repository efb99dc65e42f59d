"""The ``oasim`` command line.

Command groups live in :mod:`oasim.commands`; each module there exposes ``register(app)``.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import oasim.commands

app = typer.Typer(
    name="oasim",
    help="In-silico IA hUC-MSC / MSC-exosome therapy for knee OA: model, trials, analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(oasim.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"oasim.commands.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
