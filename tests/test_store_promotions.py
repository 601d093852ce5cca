"""Promotion calendars: each store's lookups against a plain scan of the rows, and the
shop's own offers reaching the rankers as this week's mailer or price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.history import build_history
from recommender.pairs import features
from recommender.store_promotions import StorePromotions, main_stores
from tests.test_recommender import DAYS, START, synthetic

MONDAY = pd.Timestamp("2024-03-04")
WEEK = pd.Timedelta(days=7)


def _calendar(rows):
    return pd.DataFrame(rows, columns=["product", "store", "week", "display", "mailer"])


def test_lookup_reads_the_households_store_in_the_week_of_the_time():
    rows = _calendar(
        [
            (1, 10, MONDAY, True, False),
            (1, 20, MONDAY, False, True),
            (2, 10, MONDAY + WEEK, False, True),
            (2, 10, MONDAY + WEEK, True, False),  # the same product, store and week again
            (18_316_298, 20, MONDAY + WEEK, True, True),  # Complete Journey's largest id
        ]
    )
    cal = StorePromotions.from_frame(rows)
    products = [1, 1, 1, 2, 2, 18_316_298, 1, 1, 1]
    stores = [10, 20, 30, 10, 10, 20, np.nan, 10, 10]
    times = [
        MONDAY + pd.Timedelta(hours=30),
        MONDAY,
        MONDAY,  # store 30 has no calendar
        MONDAY + WEEK + pd.Timedelta(days=6),
        MONDAY,  # product 2 is promoted the next week only
        MONDAY + WEEK,
        MONDAY,  # unknown store
        MONDAY - pd.Timedelta(days=1),  # before the calendar
        MONDAY + 2 * WEEK,  # after it
    ]
    display, mailer = cal.lookup(products, stores, pd.to_datetime(times))
    empty = StorePromotions.from_frame(rows.iloc[:0]).lookup([1], [10], pd.to_datetime([MONDAY]))
    assert np.isnan(empty).all()
    nan = np.nan
    assert display == pytest.approx([1, 0, nan, 1, 0, 1, nan, nan, nan], nan_ok=True)
    assert mailer == pytest.approx([0, 1, nan, 1, 0, 1, nan, nan, nan], nan_ok=True)


def test_lookup_matches_a_scan_of_random_calendars():
    rng = np.random.default_rng(7)
    weeks = [MONDAY + i * WEEK for i in range(6)]
    rows = _calendar(
        [
            (int(rng.integers(1, 30)), int(rng.integers(1, 6)), weeks[rng.integers(0, 6)],
             bool(rng.random() < 0.5), bool(rng.random() < 0.5))
            for _ in range(300)
        ]
    )  # fmt: skip
    cal = StorePromotions.from_frame(rows)
    for _ in range(300):
        product, store = int(rng.integers(1, 30)), int(rng.integers(1, 6))
        when = weeks[0] + pd.Timedelta(hours=int(rng.integers(0, 24 * 7 * 6)))
        week = weeks[0] + ((when - weeks[0]) // WEEK) * WEEK
        match = rows[
            (rows["product"] == product) & (rows["store"] == store) & (rows["week"] == week)
        ]
        display, mailer = cal.lookup([product], [store], pd.to_datetime([when]))
        assert display[0] == float(match["display"].any())
        assert mailer[0] == float(match["mailer"].any())


def test_main_store_is_the_one_with_most_trips():
    lines = pd.DataFrame(
        {
            "household": [1, 1, 1, 1, 2, 2],
            "basket": [1, 1, 2, 3, 4, 5],  # basket 1 has two lines: still one trip
            "store": [7, 7, 8, 8, 5, 4],
        }
    )
    assert main_stores(lines).to_dict() == {1: 8.0, 2: 4.0}  # a tie goes to the lower id
    assert main_stores(lines.drop(columns="store")).empty


def test_complete_journeys_week_numbers_become_the_weeks_first_day():
    from recommender.data import _cj_store_promotions, _cj_week_starts

    tx = pd.DataFrame(
        {
            "week": [1, 1, 2],
            "transaction_timestamp": ["2017-01-01 10:00", "2017-01-05 09:00", "2017-01-08 08:00"],
        }
    )
    raw = pd.DataFrame(
        {
            "product_id": [5, 5, 6],
            "store_id": [300, 300, 301],
            "display_location": ["0", "A", "0"],
            "mailer_location": ["D", "0", "0"],
            "week": [1, 2, 9],  # week 9 has no transactions: dropped, and store 301 with it
        }
    )
    cal = _cj_store_promotions(raw, _cj_week_starts(tx))
    times = pd.to_datetime(["2017-01-03", "2017-01-09", "2017-01-03"])
    display, mailer = cal.lookup([5, 5, 6], [300, 300, 301], times)
    assert display == pytest.approx([0.0, 1.0, np.nan], nan_ok=True)
    assert mailer == pytest.approx([1.0, 0.0, np.nan], nan_ok=True)
    assert _cj_store_promotions(raw.drop(columns="store_id"), _cj_week_starts(tx)) is None
    assert _cj_store_promotions(raw[raw["week"] == 9], _cj_week_starts(tx)) is None


@pytest.fixture(scope="module")
def data():
    return synthetic()


def test_current_offers_reach_the_rankers_as_this_weeks_promotion(data):
    from recommender.live import _offer_frames

    now = START + pd.Timedelta(days=DAYS)
    hist = build_history(data.purchases, data.products, now)
    promotions, prices = _offer_frames({2: 0.2}, {2}, now)
    query = pd.DataFrame(
        {"qid": [0, 0], "household": 1, "type": "KETCHUP", "qtime": now, "product": [1, 2]}
    )
    f = features(hist, query, None, data.households, promotions, prices).set_index("product")
    assert f.loc[2, "mailer"] == 1.0 and f.loc[2, "week_discount"] == pytest.approx(0.2)
    # one shop, one calendar: it is the household's own store's
    assert f.loc[2, "store_mailer"] == 1.0 and f.loc[1, "store_mailer"] == 0.0
    assert f.loc[1, "mailer"] == 0.0 and np.isnan(f.loc[1, "week_discount"])


def test_a_personal_offer_is_this_weeks_price_not_the_stores_mailer(data):
    """Only offers to everyone are the store's promotion, as in training
    (``shop.recommend_data.promotions_frame``); a household's own is its price."""
    from recommender.live import _offer_frames

    now = START + pd.Timedelta(days=DAYS)
    hist = build_history(data.purchases, data.products, now)
    promotions, prices = _offer_frames({2: 0.3}, set(), now)
    query = pd.DataFrame(
        {"qid": [0, 0], "household": 1, "type": "KETCHUP", "qtime": now, "product": [1, 2]}
    )
    f = features(hist, query, None, data.households, promotions, prices).set_index("product")
    assert f.loc[2, "mailer"] == 0.0 and f.loc[2, "week_discount"] == pytest.approx(0.3)


def test_a_week_the_calendar_skips_is_not_last_weeks_promotion(data):
    """A store promotes in some weeks only: a question two weeks after its last promotion
    must not read that week's mailer."""
    week = pd.Timestamp("2017-03-06")  # a Monday
    promotions = pd.DataFrame({"product": [2], "week": [week], "display": False, "mailer": True})
    hist = build_history(data.purchases, data.products, week + pd.Timedelta(days=20))
    rows = []
    for qid, days in enumerate((-1, 0, 6.9, 7, 20)):
        rows.append((qid, week + pd.Timedelta(days=days)))
    query = pd.DataFrame(rows, columns=["qid", "qtime"]).assign(
        household=1, type="KETCHUP", product=2
    )
    f = features(hist, query, None, data.households, promotions)
    assert f.sort_values("qid")["mailer"].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
