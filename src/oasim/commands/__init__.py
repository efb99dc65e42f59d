"""CLI command groups.

Each module in this package defines ``register(app: typer.Typer) -> None`` and adds its own
commands to the root ``oasim`` app. ``oasim.cli`` registers the modules listed in
``COMMAND_MODULES`` that are importable, so areas can be developed independently.
"""


def finite(value):
    """Typer callback: refuse NaN and ±inf for a float option (click's ranges let NaN through)."""
    import math

    import typer

    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value!r} is not a finite number")
    return value
