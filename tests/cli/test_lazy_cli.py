"""The root CLI: commands listed without importing them, loaded on use; --version."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

from typer.testing import CliRunner

import oasim
import oasim.commands
from oasim.cli import COMMANDS, app, load_module_commands

PROBE = """
import sys
sys.argv = ["oasim", *sys.argv[1:], "--help"]
import oasim.cli
try:
    oasim.cli.main()
except SystemExit:
    pass
loaded = [m for m in sys.modules if m.startswith("oasim.commands.") or m in ("numpy", "pandas", "scipy")]
print("LOADED", sorted(loaded))
"""


def test_every_command_module_is_listed_with_its_real_help():
    modules = sorted(m.name for m in pkgutil.iter_modules(oasim.commands.__path__))
    unlisted = set(modules) - {module for module, _ in COMMANDS.values()}
    assert not unlisted, f"add the commands of {sorted(unlisted)} to oasim.cli.COMMANDS"
    registered = {}
    for module in modules:
        for name, command in load_module_commands(module).items():
            registered[name] = (module, command.get_short_help_str(limit=1000))
    assert registered == COMMANDS


def test_help_lists_every_command_without_importing_them():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    for name in COMMANDS:
        assert f"  {name} " in out
    assert out.strip().splitlines()[-1] == "LOADED []"


def test_explain_help_imports_no_numpy_or_pandas():
    """`oasim explain --help` shows the Sobol' n_base default without importing oasim.sobol (numpy, pandas)."""
    from oasim.sobol import MSC_EFFECT_N_BASE

    out = subprocess.run([sys.executable, "-c", PROBE, "explain"], capture_output=True, text=True, check=True).stdout
    assert "--n-base" in out and f"default: {MSC_EFFECT_N_BASE}" in out
    assert out.strip().splitlines()[-1] == "LOADED ['oasim.commands.explain']"


def test_commands_load_on_use_and_version_prints():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"oasim {oasim.__version__}"
    result = CliRunner().invoke(app, ["escalate", "boundaries", "--target", "0.3"])
    assert result.exit_code == 0 and "lambda_e 0.2365" in result.output
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output
