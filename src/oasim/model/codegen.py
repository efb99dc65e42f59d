"""Moved to :mod:`oasim.solvers.codegen` (code generation belongs to the solvers); this shim keeps
``from oasim.model.codegen import OdeSystem`` working."""

from ..solvers.codegen import (  # noqa: F401
    ModelLike, OdeSystem, SymbolicModel, generate_source, hoist_parameter_terms, markowitz_order, ode_system_of,
    source_hash, symbolic_model,
)
