"""SBML values that are not finite (INF, NaN) are named errors at import, not silent solver failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from oasim.errors import OasimError
from oasim.interop import sbml

BASE = Path(__file__).resolve().parent / "data" / "hostile_base.xml"


def test_the_base_model_decays_as_exp_minus_kt():
    sol = sbml.load(BASE).simulate(np.array([0.0, 0.5, 1.0]))
    assert sol.ok.all()
    np.testing.assert_allclose(sol["A"][0], np.exp(-np.array([0.0, 0.5, 1.0])), rtol=1e-5)


@pytest.mark.parametrize("attribute,value", [("initialConcentration", "INF"), ("initialConcentration", "-INF"),
                                             ("initialConcentration", "NaN"), ("value", "INF")])
def test_non_finite_values_are_named(tmp_path, attribute, value):
    path = tmp_path / "model.xml"
    path.write_text(BASE.read_text().replace(f'{attribute}="1"', f'{attribute}="{value}"', 1))
    with pytest.raises(OasimError, match="'A'|'k'"):
        sbml.load(path)
