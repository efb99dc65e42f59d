"""Figures and HTML reports."""

from .html import write_trial_report as write_trial_report
