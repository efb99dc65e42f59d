"""The generated model pages say what the code does: the rendered rate laws, with the shared
signals substituted back, are the knee model's right-hand side; every parameter table row has a
unit and a source (a key of references.bib, or derived/calibrated/assumed with a reason)."""

from __future__ import annotations

import re

import numpy as np
import sympy

from oasim.model import KneeModel
from oasim.parameters import bibliography_keys


def test_rendered_equations_are_the_models_right_hand_side(pages):
    eq = pages.symbolic_equations()
    model = KneeModel()
    assert set(eq["parameter_names"]) == set(model.parameter_names)
    signals = {eq["signal_symbols"][name]: expr for name, expr in eq["signals"].items()}
    rendered = {state: sympy.sympify(rate).xreplace(signals) for _, rates in eq["modules"] for state, rate in rates.items()}
    assert list(rendered) == list(model.state_names)
    states = [eq["state_symbols"][n] for n in model.state_names]
    params = [sympy.Symbol(n, positive=True) for n in model.parameter_names]
    rng = np.random.default_rng(19)
    y = rng.uniform(0.2, 2.0, (len(states), 5))
    # shares (fractions, weights) small enough that every "rest" share 1 - sum stays positive
    share = np.array([n.endswith(("_fraction", "_weight", "_share")) for n in model.parameter_names])[:, None]
    p = np.where(share, rng.uniform(0.02, 0.1, (len(params), 5)), rng.uniform(0.2, 2.0, (len(params), 5)))
    reference = model.derivatives(y, dict(zip(model.parameter_names, p)))
    for name, expr in rendered.items():
        f = sympy.lambdify([states, params], expr, "numpy")
        np.testing.assert_allclose(np.broadcast_to(f(y, p), (5,)), reference[name], rtol=1e-12, atol=1e-12,
                                   equal_nan=False, err_msg=name)


def test_equations_page_has_one_equation_per_state_and_signal(pages):
    text = pages.equations_page()
    n_signals = len(pages.symbolic_equations()["signals"])
    assert text.count('<math display="block">') == len(KneeModel().states) + n_signals


def test_every_parameter_row_has_a_unit_and_a_source(pages):
    keys = bibliography_keys()
    n_rows = 0
    for path in pages.PARAMETER_FILES:
        page = pages.parameter_page(path)
        rows = [line for line in page.splitlines() if line.startswith("| `")]
        assert len(rows) == len(pages.parameter_rows(path)) > 0, path.name
        for line in rows:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            name, value, unit, cv, kind, source = cells
            assert unit, f"{path.name}: {name} has no unit"
            assert kind in ("read", "derived", "calibrated", "assumed"), (name, kind)
            if kind == "read":
                key = re.fullmatch(r"\[(\w+)\]\(\.\./references\.md#\w+\)", source)
                assert key and key.group(1) in keys, f"{path.name}: {name} cites {source!r}"
            else:
                assert source.startswith(f"{kind}:") and len(source) > len(kind) + 4, (name, source)
            n_rows += 1
    assert n_rows > 300


def test_every_cited_key_has_an_anchor_on_the_references_page(pages):
    text = pages.references_page()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    assert {k.lower() for k in bibliography_keys()} <= anchors
