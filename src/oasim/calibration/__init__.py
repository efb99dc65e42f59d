"""Calibration of parameter sets to published data."""
