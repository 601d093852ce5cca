"""Recent sales: counts before the moment asked about, against a brute-force count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.sales import FEATURES, RecentSales

NOW = pd.Timestamp("2024-03-01 12:00")
PRODUCTS = pd.DataFrame(
    {"type": ["KETCHUP", "KETCHUP", "MILK"]}, index=pd.Index([1, 2, 3], name="product")
)


def _lines(rows):
    return pd.DataFrame(rows, columns=["product", "basket", "ts"])


def test_shares_count_baskets_before_the_moment_only():
    day = pd.Timedelta(days=1)
    lines = _lines(
        [
            (1, 10, NOW - 1 * day),
            (1, 10, NOW - 1 * day),  # two jars in one basket: one basket
            (1, 11, NOW - 2 * day),
            (1, 12, NOW - 3 * day),
            (2, 13, NOW - 4 * day),
            (2, 14, NOW - 10 * day),  # in the 28-day window only
            (1, 15, NOW),  # the query's own moment: not before it
            (3, 16, NOW - 1 * day),  # another type
        ]
    )
    sales = RecentSales.from_purchases(lines, PRODUCTS)
    query = pd.DataFrame({"product": [1, 2, 3], "type": ["KETCHUP", "KETCHUP", "MILK"]})
    got = sales.features(query.assign(qtime=NOW))
    assert list(got) == FEATURES
    assert got["sold7_share"] == pytest.approx([0.75, 0.25, 1.0])
    assert got["sold28_share"] == pytest.approx([0.6, 0.4, 1.0])
    assert got["sold7_baskets"] == pytest.approx(np.log1p([3, 1, 1]))


def test_a_type_that_sold_nothing_has_no_share():
    sales = RecentSales.from_purchases(_lines([(1, 1, NOW - pd.Timedelta(days=40))]), PRODUCTS)
    query = pd.DataFrame({"product": [1, 3], "type": ["KETCHUP", "SOUP"], "qtime": NOW})
    got = sales.features(query)
    assert np.isnan(got["sold7_share"]).all() and (got["sold28_baskets"] == 0).all()


def test_matches_a_brute_force_count_at_many_moments():
    rng = np.random.default_rng(3)
    n = 2_000
    lines = _lines(
        zip(
            rng.integers(1, 4, n),
            rng.integers(0, 600, n),
            NOW - pd.to_timedelta(rng.integers(0, 60 * 86_400, n), unit="s"),
            strict=True,
        )
    )
    sales = RecentSales.from_purchases(lines, PRODUCTS)
    query = pd.DataFrame(
        {
            "product": rng.integers(1, 4, 50),
            "qtime": NOW - pd.to_timedelta(rng.integers(0, 30 * 86_400, 50), unit="s"),
        }
    )
    query["type"] = PRODUCTS["type"].reindex(query["product"]).to_numpy()
    got = sales.features(query)
    dedup = lines.drop_duplicates(["product", "basket"]).join(PRODUCTS, on="product")
    for i, row in query.iterrows():
        window = dedup[
            (dedup["ts"] < row["qtime"]) & (dedup["ts"] >= row["qtime"] - pd.Timedelta(days=28))
        ]
        own = (window["product"] == row["product"]).sum()
        total = (window["type"] == row["type"]).sum()
        assert got["sold28_baskets"][i] == pytest.approx(np.log1p(own))
        assert got["sold28_share"][i] == pytest.approx(own / total)
