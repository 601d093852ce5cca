"""The product resolver on tiny data with known answers."""

from datetime import datetime, timedelta

from recommender.resolver import (
    REASON_BESTSELLER,
    REASON_PREFERENCE,
    REASON_SEGMENT,
    REASON_USUAL,
    Candidate,
    Preference,
    Signals,
    filter_candidates,
    history_scores,
    resolve,
)

NOW = datetime(2026, 6, 1)
A = Candidate(1, "Heinz", "20 oz", 20.0, 249)
A_BIG = Candidate(2, "Heinz", "32 oz", 32.0, 379)
B = Candidate(3, "Hunt's", "24 oz", 24.0, 199)
C = Candidate(4, "Great Value", "32 oz", 32.0, 148)
ALL = [A, A_BIG, B, C]


def days_ago(*days):
    return [NOW - timedelta(days=d) for d in days]


def test_household_that_always_buys_a_gets_a():
    r = resolve(ALL, Signals(history={1: days_ago(5, 40, 80, 120)}), NOW)
    assert r.product_id == 1 and r.reason == REASON_USUAL and r.confidence > 0.8
    assert not r.ambiguous


def test_recent_switch_wins_over_old_habit():
    history = {1: days_ago(300, 320, 340), 3: days_ago(3, 20)}
    assert resolve(ALL, Signals(history=history), NOW).product_id == 3


def test_switcher_is_ambiguous():
    history = {1: days_ago(5, 40), 3: days_ago(6, 41)}
    assert resolve(ALL, Signals(history=history), NOW).ambiguous


def test_explicit_preference_beats_history_and_member_beats_household():
    signals = Signals(
        history={1: days_ago(1, 2, 3)},
        preferences=[Preference(brand="Hunt's"), Preference(product_id=4, member="Tom")],
    )
    household = resolve(ALL, signals, NOW)
    assert household.product_id == 3 and household.reason == REASON_PREFERENCE
    tom = resolve(ALL, signals, NOW, member="Tom")
    assert tom.product_id == 4 and tom.reason == "Tom's preference"
    anna = resolve(ALL, signals, NOW, member="Anna")
    assert anna.product_id == 3


def test_brand_preference_picks_the_usual_size_of_that_brand():
    signals = Signals(history={2: days_ago(10, 30)}, preferences=[Preference(brand="Heinz")])
    assert resolve(ALL, signals, NOW).product_id == 2


def test_new_household_like_group_x_gets_group_x_favourite():
    signals = Signals(segment_popularity={4: 30, 1: 5}, popularity={1: 100, 4: 35})
    r = resolve(ALL, signals, NOW)
    assert r.product_id == 4 and r.reason == REASON_SEGMENT


def test_anonymous_gets_the_bestseller():
    r = resolve(ALL, Signals(popularity={3: 50, 1: 10}), NOW)
    assert r.product_id == 3 and r.reason == REASON_BESTSELLER and r.alternatives[0] == 1


def test_filters_for_brand_and_size():
    assert filter_candidates(ALL, brand="hunts") == [B]
    assert filter_candidates(ALL, brand="Heinz", size="the big one") == [A_BIG]
    assert filter_candidates(ALL, brand="Heinz", size="small") == [A]
    assert filter_candidates(ALL, size="32 oz") == [A_BIG, C]
    assert filter_candidates(ALL, brand="Nobody") == ALL  # an unknown brand filters nothing


def test_no_candidates():
    assert resolve([], Signals(), NOW).product_id is None


def test_history_scores_against_slow_reference():
    import math

    history = {1: days_ago(0, 120, 240)}
    expected = sum(math.pow(0.5, d / 120) for d in (0, 120, 240))
    assert abs(history_scores(history, NOW)[1] - expected) < 1e-9
