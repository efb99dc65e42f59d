"""Saturating response functions shared by the biology modules.

All are plain arithmetic so that the same call works on floats, NumPy arrays (one value per
subject) and sympy symbols (for code generation and SBML export).
"""

from __future__ import annotations


def saturating(x, k_half):
    """Michaelis–Menten / Hill-1 occupancy ``x / (k_half + x)`` in [0, 1)."""
    return x / (k_half + x)


def relative_response(x, x_healthy, k_half):
    """Hill-1 response to ``x`` normalised to 1 at the healthy level ``x_healthy``.

    ``(x / (k_half + x)) / (x_healthy / (k_half + x_healthy))``: 1 at health, below 1 when the
    signal falls below its healthy level, saturating at ``1 + k_half / x_healthy``.
    Normalising every drive to health makes the healthy joint a steady state by construction
    (each production term equals its clearance at the healthy reference values).
    """
    return saturating(x, k_half) / saturating(x_healthy, k_half)
