"""The ``oasim`` command line.

Command groups live in :mod:`oasim.commands`; each module there exposes ``register(app)``.
Modules are imported only when their command runs: ``oasim --help`` lists the commands from
:data:`COMMANDS` (name → module and one-line help) without importing the model, solver or
statistics. A module in :mod:`oasim.commands` that is missing from :data:`COMMANDS` still
works; it is imported when the command list is needed.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer
from typer.core import TyperCommand, TyperGroup

COMMANDS: dict[str, tuple[str, str]] = {
    "analyse": ("analyse", "Analyse real trial data in ADaM: ANCOVA vs control, trend test, MMRM, descriptive "
                           "tables, Table 1, AE overview."),
    "calibrate": ("calibrate", "Fit the parameters of the priors file to published arm statistics (GP emulators of "
                               "the arm-table replay + emcee); write posterior draws, diagnostics, predictive checks "
                               "and a report."),
    "dashboard": ("dashboard", "Start the local web dashboard and print its address (stop with Ctrl-C)."),
    "design": ("design", "Power, type I error (a null-dose variant runs automatically), CI coverage, P(choosing the "
                         "right dose), expected n and AEs for every design point of the --vary grid."),
    "escalate": ("escalate", "Dose-escalation designs (3+3, BOIN, CRM): operating characteristics and decisions."),
    "export": ("export", "Write a results folder's tables as SAS XPT v5, CDISC Dataset-JSON v1.1 or CSV, with "
                         "define-style metadata."),
    "explain": ("explain", "Simulate each subject treated and untreated; rank the drivers of the individual "
                           "effect by partial rank correlation (covariates, varying parameters, baseline state)."),
    "export-sbml": ("sbml", "Export the knee model (states, rate laws, parameter values with units and sources, "
                            "initial state, dose events) as SBML L3V2, validated with libSBML."),
    "params": ("params", "Parameter sets: every value with unit and source."),
    "power": ("power", "Simulate the whole trial TRIALS times and report power per active arm (ANCOVA of the "
                       "primary endpoint at the primary visit vs pooled placebo) and P(escalation stopped early)."),
    "qc": ("qc", "Judge a hUC-MSC / exosome lot for release and write its report."),
    "run": ("run", "Run a scenario (trial or preclinical experiment) and write datasets, summary and report."),
    "simulate": ("simulate", "Simulate a population and print per-visit mean and SD of the key outputs."),
    "translate": ("translate", "Translate by SF volume, by cartilage surface area and by exposure matching (same "
                               "time-averaged tissue-bound exosome effect); print all three with their assumptions."),
    "validate-against": ("validate_against", "Simulate every study of TABLE as that trial R times: 95% predictive "
                                             "interval of each published statistic, inside or not, interval score, "
                                             "coverage and width vs the published CI."),
    "validate": ("run", "Check a scenario file; list every error with field, value and what is allowed (exit 2)."),
}
"""Command name → (module in :mod:`oasim.commands`, the help line ``oasim --help`` shows)."""


def load_module_commands(module: str) -> dict:
    """Import ``oasim.commands.<module>`` and return the click commands its ``register`` adds."""
    sub = typer.Typer()
    importlib.import_module(f"oasim.commands.{module}").register(sub)
    return dict(typer.main.get_group(sub).commands)


class _Listed(TyperCommand):
    """Stands in for a command in the help listing until the command is run."""


class LazyGroup(TyperGroup):
    """The root group: commands are imported from their module on first use."""

    def _unlisted_modules(self) -> list[str]:
        import oasim.commands

        known = {module for module, _ in COMMANDS.values()}
        return sorted(m.name for m in pkgutil.iter_modules(oasim.commands.__path__) if m.name not in known)

    def _load(self, module: str) -> None:
        for name, command in load_module_commands(module).items():
            self.commands.setdefault(name, command)

    def list_commands(self, ctx) -> list[str]:
        for module in self._unlisted_modules():
            self._load(module)
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx, cmd_name: str):
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in COMMANDS:
            return _Listed(name=cmd_name, callback=None, help=COMMANDS[cmd_name][1])
        for module in self._unlisted_modules():
            self._load(module)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Listed):
            self._load(COMMANDS[name][0])
            command = self.commands[name]
        return name, command, rest


app = typer.Typer(
    name="oasim",
    help="In-silico IA hUC-MSC / MSC-exosome therapy for knee OA: model, trials, analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: the rich formatter costs more start-up than all the rest
    cls=LazyGroup,
)


def _show_version(value: bool) -> None:
    if value:
        from oasim import __version__

        typer.echo(f"oasim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the oasim version and exit."),
) -> None:
    """In-silico IA hUC-MSC / MSC-exosome therapy for knee OA: model, trials, analysis."""


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
