"""One copy of the half-life → rate rule: every model module converts through
:func:`oasim.units.rate_from_half_life` (no private ln 2 constants)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from oasim.units import rate_from_half_life

MODEL = Path(__file__).resolve().parents[2] / "src" / "oasim" / "model"


def test_no_model_module_carries_its_own_ln2():
    pattern = re.compile(r"0\.693|log\(2|LN2\s*=|ln2")
    found = {p.name: pattern.findall(p.read_text(encoding="utf-8")) for p in sorted(MODEL.glob("*.py"))}
    assert {name: hits for name, hits in found.items() if hits} == {}


@pytest.mark.parametrize(("half_life", "unit", "per_day"), [
    (12.0, "h", np.log(2) * 2.0), (3.0, "d", np.log(2) / 3.0), (2.0, "y", np.log(2) / (2.0 * 365.25))])
def test_rate_from_half_life_halves_the_amount_in_one_half_life(half_life, unit, per_day):
    k = rate_from_half_life(half_life, unit)
    assert k == pytest.approx(per_day, rel=1e-15)
    days = half_life * {"h": 1.0 / 24.0, "d": 1.0, "y": 365.25}[unit]
    assert np.exp(-k * days) == pytest.approx(0.5, rel=1e-14)
