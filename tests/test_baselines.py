"""Baselines on tiny purchase histories whose right answers can be read off by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.als import als
from recommender.baselines import (
    personal_frequency,
    popularity,
    recency_frequency,
    tifu_knn,
    tifu_top,
    tifu_vectors,
)

START = pd.Timestamp("2017-01-01")


def purchases(baskets: list[tuple[int, int, list[int]]]) -> pd.DataFrame:
    """Lines from (household, day, products) baskets; each tuple is one shopping trip."""
    rows = [
        (household, product, code, START + pd.Timedelta(days=day))
        for code, (household, day, products) in enumerate(baskets)
        for product in products
    ]
    frame = pd.DataFrame(rows, columns=["household", "product", "basket", "ts"])
    frame["quantity"] = 1
    frame["paid"] = 1.0
    frame["discount"] = 0.0
    return frame


def assert_full(recs: dict[int, list[int]], households: list[int], k: int) -> None:
    assert list(recs) == households
    for items in recs.values():
        assert len(items) == k and len(set(items)) == k
        assert all(isinstance(item, int) for item in items)


@pytest.fixture()
def shop() -> pd.DataFrame:
    """Household 1 always buys 1 and 2 and once bought 3; household 2 buys 5 and 6 a lot;
    product 6 is in the most baskets overall, then 5, then 1 and 2."""
    return purchases(
        [(1, day, [1, 2]) for day in range(0, 40, 7)]
        + [(1, 3, [3])]
        + [(2, day, [5, 6]) for day in range(0, 60, 5)]
        + [(3, day, [6, 7]) for day in range(0, 20, 5)]
    )


def test_popularity_ranks_by_basket_count(shop):
    recs = popularity(shop, [1, 2, 99], k=3)
    assert_full(recs, [1, 2, 99], 3)
    assert recs[1] == [6, 5, 1] == recs[99]


def test_popularity_counts_baskets_not_lines():
    # product 9 has ten lines in one basket; product 8 is in two baskets
    train = purchases([(1, 0, [9] * 10 + [8]), (2, 1, [8])])
    assert popularity(train, [1], k=2)[1] == [8, 9]


def test_personal_frequency_puts_the_habit_first_and_pads_with_popularity(shop):
    recs = personal_frequency(shop, [1, 99], k=5)
    assert_full(recs, [1, 99], 5)
    assert recs[1][:2] in ([1, 2], [2, 1])
    assert recs[1][2] == 3
    assert recs[1][3:] == [6, 5]
    assert recs[99] == popularity(shop, [99], k=5)[99]


def test_recency_prefers_what_was_bought_lately():
    # the household bought 1 three times long ago and 2 twice recently
    train = purchases([(1, d, [1]) for d in (0, 1, 2)] + [(1, d, [2]) for d in (200, 201)])
    assert personal_frequency(train, [1], k=2)[1] == [1, 2]
    assert recency_frequency(train, [1], k=2, half_life_days=30.0)[1] == [2, 1]
    later = train["ts"].max() + pd.Timedelta(days=5)
    assert recency_frequency(train, [1], k=2, half_life_days=30.0, now=later)[1] == [2, 1]


def test_tifu_vectors_follow_the_reference_grouping():
    # 3 baskets, 2 groups: the older group holds 1 basket, the newer one 2 (as in the authors' code)
    train = purchases([(1, 0, [1]), (1, 1, [2]), (1, 2, [2, 3])])
    users, vectors, items = tifu_vectors(train, group_size=2, within_decay=0.5, group_decay=0.25)
    assert users.tolist() == [1] and items.tolist() == [1, 2, 3]
    row = vectors.toarray()[0]
    # basket weights: within 0.5**(baskets after), / group length, x group decay, / 2 groups
    expected = {
        1: 0.5**2 / 1 * 0.25 / 2,
        2: (0.5 / 2 + 1.0 / 2) / 2,
        3: 1.0 / 2 / 2,
    }
    assert row == pytest.approx([expected[1], expected[2], expected[3]])


def test_tifu_with_fewer_baskets_than_groups_makes_each_basket_a_group():
    train = purchases([(1, 0, [1]), (1, 1, [2])])
    _, vectors, _ = tifu_vectors(train, group_size=4, within_decay=0.5, group_decay=0.5)
    # basket i is group i; groups decay from the 4th slot as in the reference code
    assert vectors.toarray()[0] == pytest.approx([0.5 * 0.5**3 / 2, 1.0 * 0.5**2 / 2])


def test_tifu_alone_is_the_decayed_frequency_ranking():
    train = purchases(
        [(1, d, [1]) for d in range(6)] + [(1, 10 + d, [2]) for d in range(3)] + [(2, 0, [9])]
    )
    params = dict(group_size=3, within_decay=0.9, group_decay=0.7)
    _, vectors, items = tifu_vectors(train, **params)
    own = dict(zip(items.tolist(), vectors.toarray()[0], strict=True))
    expected = sorted([1, 2], key=lambda p: -own[p])
    recs = tifu_knn(train, [1], k=3, alpha=1.0, **params)
    assert recs[1][:2] == expected and recs[1][2] == 9


def test_tifu_neighbours_bring_in_their_items():
    train = purchases(
        [(1, d, [1, 2]) for d in range(5)]
        + [(2, d, [1, 2, 3]) for d in range(5)]
        + [(3, d, [8]) for d in range(5)]
    )
    alone = tifu_knn(train, [1], k=2, alpha=1.0)
    mixed = tifu_knn(train, [1], k=3, alpha=0.5, neighbours=1)
    assert sorted(alone[1]) == [1, 2]
    # the nearest other household is 2 (same staples), so its extra item 3 comes next, not 8
    assert sorted(mixed[1][:2]) == [1, 2] and mixed[1][2] == 3


def test_tifu_top_rows_follow_the_households_asked(shop):
    top = tifu_top(shop, [2, 99, 1], 50, neighbours=1, alpha=0.5)
    again = tifu_top(shop, [1, 2], 50, neighbours=1, alpha=0.5)
    assert list(dict.fromkeys(top["household"])) == [2, 1]  # no history, no candidates
    for household in (1, 2):
        one = top[top["household"] == household].reset_index(drop=True)
        assert one.equals(again[again["household"] == household].reset_index(drop=True))
        assert one["tifu_rank"].tolist() == list(range(1, len(one) + 1))
        assert one["tifu"].is_monotonic_decreasing


def test_tifu_top_with_alpha_one_are_the_vectors(shop):
    users, vectors, items = tifu_vectors(shop)
    top = tifu_top(shop, users.tolist(), 1_000, alpha=1.0)
    dense = vectors.toarray()
    assert len(top) == (dense > 0).sum()
    rows = pd.Index(users).get_indexer(top["household"])
    cols = pd.Index(items).get_indexer(top["product"])
    assert top["tifu"].to_numpy() == pytest.approx(dense[rows, cols], rel=1e-6)
    first = top.groupby("household").head(2)
    assert first.groupby("household")["product"].apply(set).tolist() == [
        set(items[np.argsort(-row)[:2]]) for row in dense
    ]


def test_als_recommends_the_co_bought_item():
    # two blocks: households 0-9 buy 1,2,3; households 10-19 buy 7,8,9; household 20 has only
    # bought 1 and 2, so the item it is missing from its block is 3
    baskets = [(h, d, [1, 2, 3]) for h in range(10) for d in range(3)]
    baskets += [(h, d, [7, 8, 9]) for h in range(10, 20) for d in range(3)]
    baskets += [(20, d, [1, 2]) for d in range(3)]
    recs = als(purchases(baskets), [20, 0, 15, 99], k=4, factors=4, iterations=10)
    assert_full(recs, [20, 0, 15, 99], 4)
    assert set(recs[20][:3]) == {1, 2, 3}
    assert set(recs[15][:3]) == {7, 8, 9}


@pytest.mark.parametrize(
    "method", [popularity, personal_frequency, recency_frequency, tifu_knn, als]
)
def test_every_household_gets_k_distinct_items(method):
    rng = np.random.default_rng(3)
    baskets = [
        (int(h), int(d), rng.choice(40, size=rng.integers(1, 6), replace=False).tolist())
        for h in range(12)
        for d in sorted(rng.choice(100, size=rng.integers(1, 8), replace=False))
    ]
    households = [*range(12), 500]
    recs = method(purchases(baskets), households, 10)
    assert_full(recs, households, 10)
