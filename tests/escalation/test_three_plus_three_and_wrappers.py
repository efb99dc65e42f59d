"""3+3 rules (Storer 1989; escalation's three_plus_three) and the wrapper behaviours."""

import numpy as np
import pytest

from oasim.trial.escalation import (
    AcceleratedTitration,
    Boin,
    Outcomes,
    SentinelDosing,
    StopAtN,
    ThreePlusThree,
    enumerate_trials,
)


@pytest.mark.parametrize(
    "history, deescalate, action, next_dose, recommended",
    [
        ("1NNN", False, "escalate", 2, 1),
        ("1NNT", False, "stay", 1, None),
        ("1NNT 1NNN", False, "escalate", 2, 1),
        ("1NNT 1NTN", False, "stop", None, None),
        ("1NTT", False, "stop", None, None),
        ("1NNN 2TTN", False, "stop", None, 1),
        ("1NNN 2TTN", True, "de-escalate", 1, 1),
        ("1NNN 2TTN 1NNN", True, "stop", None, 1),  # dose 1 now 0/6
        ("1NNN 2TTN 1NTT", True, "stop", None, None),  # dose 1 2/6: nothing acceptable
        ("1NNN 2NNN 3NNT 3NNN 4TNT 3NNN", True, "stop", None, 3),  # dose 3 already has 6
        ("1NNN 2NNN 3NNN", False, "stop", None, 3),  # top dose (of 3) cleared
    ],
)
def test_three_plus_three_rules(history, deescalate, action, next_dose, recommended):
    num_doses = 3 if history == "1NNN 2NNN 3NNN" else 4
    decision = ThreePlusThree(num_doses=num_doses, allow_deescalate=deescalate).fit(history)
    assert (decision.action.value, decision.next_dose, decision.recommended_dose) == (action, next_dose, recommended)


def test_deescalation_variant_declares_mtd_with_six_subjects():
    exact = enumerate_trials(StopAtN(ThreePlusThree(num_doses=4, allow_deescalate=True), n=60), [0.1, 0.25, 0.4, 0.6])
    plain = enumerate_trials(StopAtN(ThreePlusThree(num_doses=4), n=60), [0.1, 0.25, 0.4, 0.6])
    assert exact.mean_total_n > plain.mean_total_n
    assert exact.prob_no_dose >= plain.prob_no_dose - 1e-12  # the expanded cohort can only reveal more toxicity


def test_accelerated_titration_one_subject_per_dose_until_first_dlt():
    design = AcceleratedTitration(Boin(num_doses=4, target=0.3))
    assert design.fit("").cohort_size == 1
    assert (design.fit("1N").next_dose, design.fit("1N").cohort_size) == (2, 1)
    after_dlt = design.fit("1N 2N 3T")
    assert (after_dlt.action.value, after_dlt.next_dose, after_dlt.cohort_size) == ("stay", 3, 2)
    assert design.fit("1N 2N 3T 3NN").cohort_size == 3  # parent design in charge: 1/3 -> stay
    assert design.fit("1N 2N 3N 4N").next_dose == 4  # top reached without DLT: fill the cohort


def test_sentinel_then_rest_of_cohort():
    design = SentinelDosing(Boin(num_doses=4, target=0.3))
    steps = [design.fit(h) for h in ["", "1N", "1N 1NN", "1N 1NN 2T"]]
    assert [(d.next_dose, d.cohort_size) for d in steps] == [(1, 1), (1, 2), (2, 1), (1, 3)]


def test_sentinel_does_not_change_three_plus_three_outcomes():
    truth = [0.05, 0.15, 0.3, 0.5]
    plain = enumerate_trials(StopAtN(ThreePlusThree(num_doses=4), n=30), truth)
    sentinel = enumerate_trials(StopAtN(SentinelDosing(ThreePlusThree(num_doses=4)), n=30), truth)
    np.testing.assert_allclose(sentinel.prob_select, plain.prob_select, atol=1e-12)


def test_outcomes_round_trip_and_immutability():
    outcomes = Outcomes.parse("1NNN  2ntn")
    assert str(outcomes) == "1NNN 2NTN"
    longer = outcomes.then(2, [False, True])
    assert str(outcomes) == "1NNN 2NTN" and str(longer) == "1NNN 2NTN 2NT"
    n, dlt = longer.counts(3)
    assert n.tolist() == [3, 5, 0] and dlt.tolist() == [0, 2, 0]
