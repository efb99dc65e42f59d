"""Optional dependency stacks (pip extras) and the error that names the extra to install.

``pip install 'oasim[qc]'`` (FlowKit, FlowIO: flow cytometry of product lots), ``oasim[sbml]``
(libSBML, libRoadRunner: SBML export/import and the reference solver), ``oasim[dask]``,
``oasim[dashboard]`` (Starlette, Uvicorn) or ``oasim[all]``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import OasimError

EXTRAS = {"flowkit": "qc", "flowio": "qc", "libsbml": "sbml", "roadrunner": "sbml", "dask": "dask",
          "starlette": "dashboard", "uvicorn": "dashboard"}
"""Import name → the extra that installs it."""


class MissingExtraError(OasimError):
    """An optional package is not installed; the message says which extra installs it."""

    def __init__(self, module: str, extra: str, purpose: str):
        self.module = module
        self.extra = extra
        super().__init__(f"{purpose} needs the optional package '{module}', which is not installed: "
                         f"pip install 'oasim[{extra}]' (or 'oasim[all]')")


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional ``module`` or raise :class:`MissingExtraError` naming its extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, EXTRAS[module], purpose) from None
