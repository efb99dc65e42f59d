"""The one half-life → rate rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from oasim.errors import FieldError
from oasim.units import rate_from_half_life


def test_rate_halves_the_amount_in_one_half_life():
    for half_life, unit, days in ((6.0, "h", 0.25), (3.0, "d", 3.0), (2.5, "y", 2.5 * 365.25)):
        k = rate_from_half_life(half_life, unit)
        assert math.exp(-k * days) == pytest.approx(0.5, rel=1e-14)


def test_arrays_symbols_and_bad_units():
    np.testing.assert_allclose(rate_from_half_life(np.array([1.0, 2.0])), [math.log(2), math.log(2) / 2])
    t = sympy.Symbol("t_half_h", positive=True)
    assert sympy.simplify(rate_from_half_life(t, "h") * t - 24 * math.log(2)) == 0
    with pytest.raises(FieldError):
        rate_from_half_life(1.0, "min")
