"""Doses: units, conversion and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.errors import FieldError
from oasim.protocol import Dose, dose_events


def test_parse_round_trip():
    d = Dose.parse("exosome:3e11:particles@28")
    assert d == Dose("exosome", 3e11, "particles", 28.0)
    assert Dose.parse("msc:5e7:cells").t_days == 0.0


@pytest.mark.parametrize("text, field", [
    ("exosome:3e11:cells@0", "dose.unit"),
    ("msc:1e7:particles@0", "dose.unit"),
    ("virus:1:particles@0", "dose.product"),
    ("exosome:-1:particles@0", "dose.amount"),
    ("exosome:1e11:particles@-3", "dose.t_days"),
    ("exosome-1e11", "dose"),
])
def test_bad_doses_name_the_field(text, field):
    with pytest.raises(FieldError) as err:
        Dose.parse(text)
    assert err.value.field == field


def test_events_split_msc_doses_and_convert_ug(model):
    idx = model.state_index
    t, i, a = dose_events([[Dose("msc", 1e7, "cells", 5.0), Dose("exosome", 2.0, "ug", 1.0)], []],
                          idx, np.array([1e9, 1e9]), np.array([0.98, 0.98]), np.array([0.02, 0.02]))
    assert t.shape == (2, 3) and np.isinf(t[1]).all()
    assert list(t[0]) == [1.0, 5.0, 5.0]
    assert a[0, 0] == 2e9 and i[0, 0] == idx["exosome_free_particles"]
    assert {(i[0, 1], a[0, 1]), (i[0, 2], a[0, 2])} == {(idx["msc_fast_cells"], 0.98e7),
                                                         (idx["msc_persistent_cells"], 0.02e7)}
