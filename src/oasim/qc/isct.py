"""ISCT minimal criteria for MSC identity by flow cytometry (Dominici et al. 2006).

≥ 95 % of cells positive for CD73, CD90 and CD105; ≤ 2 % positive for CD34, CD45, CD14 or
CD11b, CD79α or CD19, and HLA-DR. A required marker that was not measured fails the lot.
Plastic adherence and trilineage differentiation, the other two ISCT criteria, are judged
elsewhere (:mod:`oasim.qc.trilineage`) or declared in ``lot.toml``.

References
----------
Dominici2006 (see :mod:`oasim.qc.criteria`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from oasim.qc.criteria import (
    ISCT_NEGATIVE_MAX_PERCENT,
    ISCT_NEGATIVE_REQUIREMENTS,
    ISCT_POSITIVE_MARKERS,
    ISCT_POSITIVE_MIN_PERCENT,
)
from oasim.qc.flow import MarkerMeasurement


@dataclass(frozen=True)
class MarkerCall:
    """One marker judged against its ISCT limit.

    ``percent_positive`` is ``nan`` when the marker was not measured.
    """

    marker: str
    panel: str  # "positive" | "negative"
    percent_positive: float
    limit_percent: float
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class IdentityResult:
    """ISCT identity verdict of an MSC lot.

    Attributes
    ----------
    calls : tuple of MarkerCall
        Positive panel first, then the negative panel, in ISCT order.
    measurements : tuple of MarkerMeasurement
        The gated data behind the calls (for plots).
    """

    calls: tuple[MarkerCall, ...]
    measurements: tuple[MarkerMeasurement, ...] = ()

    @property
    def passed(self) -> bool:
        """True when every ISCT marker requirement is met."""
        return all(call.passed for call in self.calls)

    def to_frame(self) -> pd.DataFrame:
        """One row per marker: panel, % positive, limit, pass."""
        return pd.DataFrame([call.__dict__ for call in self.calls])

    def summary(self) -> str:
        """Plain-text table of the calls and the overall verdict."""
        lines = [f"{'marker':<8} {'panel':<9} {'% pos':>7} {'limit':>8}  result"]
        for c in self.calls:
            sign = ">=" if c.panel == "positive" else "<="
            lines.append(
                f"{c.marker:<8} {c.panel:<9} {c.percent_positive:7.2f} {sign}{c.limit_percent:6.1f}"
                f"  {'PASS' if c.passed else 'FAIL'} {c.note}".rstrip()
            )
        lines.append(f"ISCT identity (Dominici 2006): {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)


def evaluate_identity(measurements: Sequence[MarkerMeasurement]) -> IdentityResult:
    """Judge gated markers against the ISCT minimal criteria.

    Parameters
    ----------
    measurements : sequence of MarkerMeasurement
        Output of :func:`oasim.qc.flow.measure_markers`; markers outside the ISCT panel are
        ignored.

    Returns
    -------
    IdentityResult

    Examples
    --------
    >>> r = evaluate_identity_from_percents({"CD73": 99, "CD90": 99, "CD105": 93,
    ...     "CD34": 1, "CD45": 1, "CD14": 1, "CD19": 1, "HLA-DR": 1})
    >>> r.passed, [c.marker for c in r.calls if not c.passed]
    (False, ['CD105'])
    """
    percents = {m.spec.marker: m.percent_positive for m in measurements}
    return _evaluate(percents, tuple(measurements))


def evaluate_identity_from_percents(percents: dict[str, float]) -> IdentityResult:
    """:func:`evaluate_identity` for markers given directly as {marker: % positive}."""
    return _evaluate(dict(percents), ())


def _evaluate(percents: dict[str, float], measurements: tuple) -> IdentityResult:
    pos_min = ISCT_POSITIVE_MIN_PERCENT.value
    neg_max = ISCT_NEGATIVE_MAX_PERCENT.value
    calls = []
    for marker in ISCT_POSITIVE_MARKERS:
        if marker in percents:
            pct = float(percents[marker])
            calls.append(MarkerCall(marker, "positive", pct, pos_min, pct >= pos_min))
        else:
            calls.append(MarkerCall(marker, "positive", float("nan"), pos_min, False, "not measured"))
    for alternatives in ISCT_NEGATIVE_REQUIREMENTS:
        measured = [m for m in alternatives if m in percents]
        if not measured:
            name = " or ".join(alternatives)
            calls.append(MarkerCall(name, "negative", float("nan"), neg_max, False, "not measured"))
        for marker in measured:
            pct = float(percents[marker])
            calls.append(MarkerCall(marker, "negative", pct, neg_max, pct <= neg_max))
    return IdentityResult(calls=tuple(calls), measurements=measurements)
