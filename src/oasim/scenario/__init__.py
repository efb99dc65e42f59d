"""Scenario files: one loader for every ``kind`` (trial, preclinical experiments, ...).

* :mod:`oasim.scenario.loader` — :func:`load` reads a TOML file (or takes a dict) and
  validates it as the model of its ``kind``; :func:`run` runs it with the kind's runner into a
  folder written atomically; :data:`KINDS` / :func:`register_kind` is the registry.
* :mod:`oasim.scenario.trial` — the trial scenario (:class:`Scenario`) and its parts.
* :mod:`oasim.scenario.experiments` — the in-vitro, mouse and explant scenarios.
"""

from ..units import DAYS_PER_MONTH as DAYS_PER_MONTH
from .loader import KINDS as KINDS, Kind as Kind, StrictModel as StrictModel
from .loader import field_errors as field_errors, load as load, read_toml as read_toml
from .loader import register_kind as register_kind, run as run, validate as validate
from .trial import ENDPOINTS as ENDPOINTS, MAX_FOLLOW_UP_MONTHS as MAX_FOLLOW_UP_MONTHS
from .trial import AnalysisSpec as AnalysisSpec, ArmSpec as ArmSpec, CohortSpec as CohortSpec
from .trial import DesignSpec as DesignSpec, DropoutSpec as DropoutSpec, InclusionSpec as InclusionSpec
from .trial import ModelSpec as ModelSpec, OutputSpec as OutputSpec, PopulationSpec as PopulationSpec
from .trial import ProductSpec as ProductSpec, SafetyReviewSpec as SafetyReviewSpec, Scenario as Scenario
from .trial import ScheduleSpec as ScheduleSpec, VisitsSpec as VisitsSpec
from .trial import lot_particles_per_ug as lot_particles_per_ug
