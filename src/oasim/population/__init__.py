"""Virtual subjects: covariates and per-subject parameter values."""

from .population import Population as Population
from .population import sample_parameters as sample_parameters
