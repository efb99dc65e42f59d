"""BOIN against the published boundaries and decision tables.

Oracle: Liu & Yuan (2015) and R package BOIN ``get.boundary`` (published tables, copied below).
"""

import numpy as np
import pytest

from oasim.errors import FieldError
from oasim.trial.escalation import Boin, Outcomes, StopAtN, TrialState, boin_boundaries

# R package BOIN get.boundary tables (Liu & Yuan 2015), n = 1..30 ("NA" -> -1)
TABLES = {
    0.25: (
        "0 0 0 0 0 1 1 1 1 1 2 2 2 2 2 3 3 3 3 3 4 4 4 4 4 5 5 5 5 5",
        "1 1 1 2 2 2 3 3 3 3 4 4 4 5 5 5 6 6 6 6 7 7 7 8 8 8 9 9 9 9",
        "-1 -1 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 10 11 11 11 12 12",
    ),
    0.30: (
        "0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 4 4 4 4 4 5 5 5 5 6 6 6 6 7",
        "1 1 2 2 2 3 3 3 4 4 4 5 5 6 6 6 7 7 7 8 8 8 9 9 9 10 10 11 11 11",
        "-1 -1 3 3 4 4 5 5 5 6 6 7 7 8 8 8 9 9 9 10 10 11 11 11 12 12 12 13 13 14",
    ),
}


@pytest.mark.parametrize(
    "target, lambda_e, lambda_d",
    [(0.3, 0.236, 0.358), (0.25, 0.197, 0.298), (0.2, 0.157, 0.238)],
)
def test_boundaries_match_liu_yuan_2015(target, lambda_e, lambda_d):
    # the paper prints three decimals (0.3585 appears as 0.358), hence the tolerance
    table = boin_boundaries(target)
    assert table.lambda_e == pytest.approx(lambda_e, abs=1e-3)
    assert table.lambda_d == pytest.approx(lambda_d, abs=1e-3)


def test_boundaries_match_r_package_to_seven_digits():
    assert boin_boundaries(0.25).lambda_e == pytest.approx(0.1968009, abs=1e-7)
    assert boin_boundaries(0.25).lambda_d == pytest.approx(0.2983922, abs=1e-7)
    assert boin_boundaries(0.30).lambda_e == pytest.approx(0.2364907, abs=1e-7)
    assert boin_boundaries(0.30).lambda_d == pytest.approx(0.3585195, abs=1e-7)


@pytest.mark.parametrize("target", sorted(TABLES))
def test_decision_table_matches_published(target):
    escalate, deescalate, eliminate = (np.array(row.split(), dtype=int) for row in TABLES[target])
    table = boin_boundaries(target)
    np.testing.assert_array_equal(table.escalate_at_most[1:31], escalate)
    np.testing.assert_array_equal(table.deescalate_at_least[1:31], deescalate)
    np.testing.assert_array_equal(table.eliminate_at_least[1:31], eliminate)


def test_cohort_of_three_table_for_target_030():
    frame = boin_boundaries(0.3).to_frame(30, cohort_size=3)
    assert frame["escalate_if_dlt_le"].tolist() == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert frame["deescalate_if_dlt_ge"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert frame["eliminate_if_dlt_ge"].tolist() == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


@pytest.mark.parametrize(
    "history, action, next_dose",
    [
        ("1NNN", "escalate", 2),  # 0/3 <= 0
        ("1NNN 2NTN", "stay", 2),  # 1/3 between the boundaries
        ("1NNN 2NTT", "de-escalate", 1),  # 2/3 >= 2
        ("1NNN 2NNN 3NTN 3NNN", "escalate", 4),  # 1/6 <= 1
        ("1TTT", "stop", None),  # 3/3 eliminates dose 1: no MTD
        ("1NNN 2TTT 1NNN", "stay", 1),  # escalation blocked: dose 2 eliminated
    ],
)
def test_decisions_follow_the_table(history, action, next_dose):
    decision = Boin(num_doses=5, target=0.3).fit(history)
    assert (decision.action.value, decision.next_dose) == (action, next_dose)


def test_top_dose_stays_and_bottom_dose_does_not_stop_on_deescalation_signal():
    assert Boin(num_doses=2, target=0.3).fit("1NNN 2NNN").next_dose == 2
    assert Boin(num_doses=2, target=0.3).fit("1NTT").action.value == "stay"


def test_n_earlystop_stops_only_when_rule_says_stay():
    design = Boin(num_doses=3, target=0.3, n_earlystop=6)
    assert design.fit("1NNN 1NNT").action.value == "escalate"  # 1/6 escalates: keep going
    assert design.fit("1NNN 2NNT 2NTN").action.value == "stop"  # 2/6 at dose 2: stay -> stop


def test_isotonic_selection_pools_violators():
    design = Boin(num_doses=4, target=0.3)
    state = TrialState.from_outcomes(Outcomes.parse("1NNN 2NTN 2TNT 2NNN 3NNN 3TNN 3NTN 3NNN 3NNT"), 4, 0)
    # dose 2 has 3/9 and dose 3 3/15: a violation; expected value from the select.mtd recipe
    n, y = state.n[0].astype(float), state.dlt[0].astype(float)
    used = n > 0
    phat = (y[used] + 0.05) / (n[used] + 0.1)
    weight = 1 / ((y[used] + 0.05) * (n[used] - y[used] + 0.05) / ((n[used] + 0.1) ** 2 * (n[used] + 1.1)))
    fitted = _pava(phat, weight) + np.arange(1, used.sum() + 1) * 1e-10
    assert design.select(state)[0] == np.argmin(np.abs(fitted - 0.3))


def test_select_no_dose_when_lowest_eliminated():
    state = TrialState.from_outcomes(Outcomes.parse("1NTN 1TTT"), 3, 0)  # 4/6 >= 4 eliminates
    assert Boin(num_doses=3, target=0.3).select(state)[0] == -1


def test_published_select_mtd_example_gives_dose_3():
    # BOIN manual, select.mtd(target=0.3, npts=c(3,3,15,9,0), ntox=c(0,0,4,4,0)): order-consistent
    # estimates 0.016, 0.016, 0.268, 0.445 -> dose 3 is closest to 0.3
    n = np.array([[3, 3, 15, 9, 0]])
    y = np.array([[0, 0, 4, 4, 0]])
    state = TrialState(n, y, np.array([3]), np.array([3]), np.array([1]))
    assert Boin(num_doses=5, target=0.3).select(state)[0] == 2


def _pava(values, weights):
    """Plain pool-adjacent-violators, written independently of the package."""
    blocks = [[v, w, 1] for v, w in zip(values, weights)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0]:
            v1, w1, c1 = blocks[i]
            v2, w2, c2 = blocks.pop(i + 1)
            blocks[i] = [(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2]
            i = max(i - 1, 0)
        else:
            i += 1
    return np.concatenate([[v] * c for v, _, c in blocks])


def test_isotonic_rows_equals_pava_on_random_rows():
    from oasim.trial.escalation.isotonic import isotonic_rows

    rng = np.random.default_rng(3)
    values = rng.random((200, 6))
    weights = rng.random((200, 6)) + 0.1
    mask = np.ones_like(values, dtype=bool)
    mask[:50, 4:] = False  # admissible prefixes, as after elimination
    fitted = isotonic_rows(values, weights, mask)
    for row in range(200):
        keep = mask[row]
        np.testing.assert_allclose(fitted[row, keep], _pava(values[row, keep], weights[row, keep]), rtol=1e-12)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 0.8, 1.5])
def test_invalid_target_raises_field_error(target):
    with pytest.raises(FieldError) as info:
        Boin(num_doses=5, target=target)
    assert info.value.field in ("target", "p_tox")


def test_stop_at_n_truncates_last_cohort():
    design = StopAtN(Boin(num_doses=5, target=0.3), n=7)
    decision = design.fit("1NNN 2NNN")
    assert (decision.next_dose, decision.cohort_size) == (3, 1)
