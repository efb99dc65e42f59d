"""Named parameter sets: values with units and sources, loaded from data files."""

from .parameter_set import Parameter as Parameter
from .parameter_set import ParameterSet as ParameterSet
from .parameter_set import Prior as Prior
from .parameter_set import available_sets as available_sets
from .parameter_set import bibliography_keys as bibliography_keys
from .parameter_set import validate_for_model as validate_for_model
