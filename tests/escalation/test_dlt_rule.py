"""The trial's safety review and the escalation designs flag the same DLTs: one rule,
:func:`oasim.trial.escalation.dlt_from_adverse_events`, used by ``conduct``'s safety review."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from oasim.scenario import Scenario
from oasim.trial.conduct import _safety_review

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hucmsc_exosome_trial.toml"


def _by_hand(ae: pd.DataFrame, min_grade: int, window_days: float) -> set:
    """The DLT definition written out: a related AE of grade >= min_grade, 0..window days after a dose."""
    delay = ae["onset_day"] - ae["dose_day"]
    hit = ae["related"] & (ae["grade"] >= min_grade) & (delay >= 0) & (delay <= window_days)
    return set(ae.loc[hit, "subject_id"])


def test_the_safety_review_counts_the_canonical_dlts_per_cohort():
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    n_cohorts = len(data["design"]["cohorts"])
    rng = np.random.default_rng(17)
    n_subjects, n_ae = 16 * n_cohorts, 400
    subjects = pd.DataFrame({"subject_id": np.arange(n_subjects), "cohort": np.repeat(np.arange(1, n_cohorts + 1), 16),
                             "active": np.tile([True] * 12 + [False] * 4, n_cohorts)})
    ae = pd.DataFrame({"subject_id": rng.integers(0, n_subjects, n_ae), "grade": rng.integers(1, 6, n_ae),
                       "related": rng.random(n_ae) < 0.5, "dose_day": rng.choice([0.0, 28.0], n_ae)})
    ae["onset_day"] = ae["dose_day"] + rng.choice([-1.0, 0.0, 13.5, 28.0, 28.5, 40.0], n_ae)
    for min_grade, window_days in ((3, 28.0), (2, 14.0), (4, 40.0)):
        data["design"]["safety_review"] = {"max_dlt_per_cohort": n_subjects, "dlt_min_grade": min_grade,
                                           "dlt_window_days": window_days}
        enrolled, decisions = _safety_review(Scenario.from_dict(data), subjects, ae)
        assert enrolled == list(range(1, n_cohorts + 1))
        dlt = _by_hand(ae, min_grade, window_days)
        expected = [len(dlt & set(subjects.loc[subjects["cohort"] == k, "subject_id"])) for k in enrolled]
        assert [d["n_dlt"] for d in decisions] == expected
        assert 0 < sum(expected) < n_subjects


def test_event_rule_on_adae_columns_with_missing_days_and_nullable_grades():
    """The report's DLT listing applies the same per-event rule to ADaM's nullable columns."""
    import pandas as pd

    from oasim.analysis.safety import dlt_events

    events = pd.DataFrame({
        "subject_id": ["a", "b", "c", "d", "e"],
        "grade": pd.array([3, 3, 2, pd.NA, 4], dtype="Int64"),
        "related": [True, True, True, True, False],
        "onset_day": pd.array([5, pd.NA, 5, 5, 5], dtype="Int64"),
        "dose_day": pd.array([0, 0, 0, 0, 0], dtype="Int64"),
    })
    assert dlt_events(events, min_grade=3, window_days=28).tolist() == [True, False, False, False, False]
    assert dlt_events(events, min_grade=3, window_days=28, related_only=False).tolist() == [
        True, False, False, False, True]
    assert dlt_events(events, min_grade=3, window_days=4).tolist() == [False] * 5
