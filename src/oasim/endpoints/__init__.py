"""Observation models: WOMAC, VAS, KOOS, MRI, SF IL-1β and adverse events from model states."""

from .adverse_events import simulate_adverse_events as simulate_adverse_events
from .clinical import BaselineSymptoms as BaselineSymptoms
from .clinical import observe_clinical as observe_clinical
from .clinical import sample_baseline_symptoms as sample_baseline_symptoms
from .imaging import observe_imaging_and_biomarkers as observe_imaging_and_biomarkers
from .parameters import load_observation_parameters as load_observation_parameters
