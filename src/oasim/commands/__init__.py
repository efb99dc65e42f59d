"""CLI command groups.

Each module in this package defines ``register(app: typer.Typer) -> None`` and adds its own
commands to the root ``oasim`` app. ``oasim.cli`` registers the modules listed in
``COMMAND_MODULES`` that are importable, so areas can be developed independently.
"""
