"""Preclinical experiments."""
