"""Unit conversions used across the package: the one copy of each rule.

>>> rate_from_half_life(1.0, "d")
0.6931471805599453
>>> rate_from_half_life(24.0, "h") == rate_from_half_life(1.0, "d")
True
"""

from __future__ import annotations

import math

LN2 = math.log(2.0)
HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.25  # Julian year [day]
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # mean Julian month, 30.4375 [day]


def rate_from_half_life(half_life, unit: str = "d"):
    """First-order rate constant [1/day] from a half-life given in ``unit`` ("h", "d" or "y").

    k = ln 2 / t½. Works elementwise on floats, NumPy arrays and sympy expressions.
    """
    if unit == "h":
        return LN2 * HOURS_PER_DAY / half_life
    if unit == "d":
        return LN2 / half_life
    if unit == "y":
        return LN2 / (half_life * DAYS_PER_YEAR)
    from .errors import FieldError

    raise FieldError("half_life unit", unit, "'h', 'd' or 'y'")
