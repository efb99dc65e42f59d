"""SBML interoperability: export the knee model, import SBML models for the population solver.

Export (:func:`knee_document`, :func:`export_sbml`)
    The knee model as SBML Level 3 Version 2: every state a species (amount = the state's value
    in its own unit, ``hasOnlySubstanceUnits``) with a rate rule; the shared signals as
    assignment rules; every model parameter with its value, unit and source (notes); the
    initial state; dose events as SBML events (``time >= dose_k_time_d`` adds
    ``dose_k_<state>`` to the state). Time is in days. The equations are taken from
    ``KneeModel()`` at run time (the same sympy expressions the solver code is generated from).

Import (:func:`load`)
    An SBML model (L2/L3: compartments, species, parameters, reactions with kinetic laws,
    function definitions, assignment / rate rules, initial assignments, events with
    ``time >= expression of parameters`` triggers) becomes an :class:`SbmlModel` that the numba
    population solver runs directly (per-subject parameter matrix, model events in the kernel).
    Anything else raises :class:`UnsupportedSbmlError` naming the construct; nothing is skipped
    silently. Times and values are in the file's own units.

Reference simulation with libRoadRunner: :class:`RoadRunnerReference` (one loaded model,
reset between subjects).
"""

from __future__ import annotations

from ._common import SbmlError as SbmlError
from ._common import UnsupportedSbmlError as UnsupportedSbmlError
from ._common import parse_unit as parse_unit
from .export import knee_document as knee_document
from .export import dose_parameters as dose_parameters
from .export import validation_errors as validation_errors
from .export import document_to_string as document_to_string
from .export import export_sbml as export_sbml
from .importer import SbmlModel as SbmlModel
from .importer import load as load
from .importer import PUBLIC_MODELS as PUBLIC_MODELS
from .roadrunner import RoadRunnerReference as RoadRunnerReference
from ._common import SBML_LEVEL as SBML_LEVEL
from ._common import SBML_VERSION as SBML_VERSION
