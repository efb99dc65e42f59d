"""The mechanistic knee-joint model: states, rate laws (one module per biology), assembly."""

from .knee import KneeModel as KneeModel
from .states import State as State
