"""Repurchase timing and the demand forecast on small, seeded, hand-checkable data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from recommender import forecast as fc
from recommender.timing import (
    FEATURES,
    TimingModel,
    TimingSettings,
    key_rates,
    next_purchases,
    rule_predict,
    timing_features,
)

START = pd.Timestamp("2017-01-01")
FAST = TimingSettings(offsets=(14, 28, 42, 56), horizon=40, iterations=30, min_leaf=20)


def lines(rows: list[tuple]) -> pd.DataFrame:
    """Purchases from (household, product, day offset from START[, quantity[, store]])."""
    frame = pd.DataFrame(
        [(*r[:3], r[3] if len(r) > 3 else 1, r[4] if len(r) > 4 else 1) for r in rows],
        columns=["household", "product", "day", "quantity", "store"],
    )
    frame["ts"] = START + pd.to_timedelta(frame.pop("day"), unit="D") + pd.Timedelta(hours=10)
    frame["basket"] = frame.groupby(["household", "ts"]).ngroup()
    return frame.assign(paid=1.0, discount=0.0)


def catalog(types: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"type": list(types.values()), "category": "all"},
        index=pd.Index(list(types), name="product"),
    )


def synthetic(households: int = 100, types: int = 6, days: int = 300, seed: int = 0):
    """Every (household, type) buys on a real cycle: gamma gaps (shape 8) around its own
    interval, between 4 and 40 days; two products per type."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(households):
        for t in range(types):
            interval = rng.uniform(4, 40)
            day = rng.uniform(0, interval)
            while day < days:
                rows.append((h, 10 * t + int(rng.integers(2)), int(day), int(rng.integers(1, 3))))
                day += rng.gamma(8.0, interval / 8.0)
    products = catalog({10 * t + k: f"type{t}" for t in range(types) for k in range(2)})
    return lines(rows), products


def test_features_on_a_hand_example():
    products = catalog({1: "milk", 2: "milk", 3: "eggs"})
    purchases = lines(
        [(7, 1, 0), (7, 2, 0), (7, 1, 7), (7, 2, 14), (7, 3, 3), (7, 3, 9), (7, 1, 30)]
    )
    at = START + pd.Timedelta(days=19)  # the purchase on day 30 is after it
    f = timing_features(purchases, products, at)
    assert list(f["key"]) == ["milk"]  # eggs: two purchase days only
    row = f.iloc[0]
    assert row["n_days"] == 3 and row["mean_interval"] == 7 and row["median_interval"] == 7
    assert row["days_since"] == 5 and row["last"] == START + pd.Timedelta(days=14)
    assert row["first"] == START and row["trips_since"] == 0 and row["rate"] == 3 / 19
    assert set(FEATURES) <= set(f.columns)
    both = timing_features(purchases, products, at, min_days=2).set_index("key")
    assert both.loc["eggs", "days_since"] == 10 and both.loc["eggs", "trips_since"] == 1
    after = next_purchases(purchases, products, at, at + pd.Timedelta(days=60))
    assert after.set_index("key").loc["milk", "next_days"] == 11


def test_regular_household_is_due_when_its_cycle_is_up():
    products = catalog({1: "milk"})
    purchases = lines([(1, 1, d) for d in range(0, 71, 14)])  # every 14 days, last on day 70
    model = TimingModel(FAST).fit(purchases, products, START + pd.Timedelta(days=90))
    assert not model.models  # one household: too little to fit, the rule serves

    def p(day: int) -> pd.Series:
        f = timing_features(purchases, products, START + pd.Timedelta(days=day))
        return model.predict(f).iloc[0]

    due, fresh = p(82), p(71)
    assert due["source"] == "rule" and due["p14"] > 0.8 and due["p7"] > 0.6
    assert fresh["p7"] < 0.2 and fresh["p14"] > 0.5
    assert due["next"] == START + pd.Timedelta(days=84) and due["low"] <= due["days"]


def test_model_learns_real_cycles_and_round_trips(tmp_path):
    purchases, products = synthetic()
    cutoff = START + pd.Timedelta(days=240)
    model = TimingModel(FAST).fit(purchases, products, cutoff)
    assert {"p7", "p14", "n7", "days", "low", "high"} <= set(model.models)
    f = timing_features(purchases[purchases["ts"] < cutoff], products, cutoff)
    f = f.merge(next_purchases(purchases, products, cutoff, START + pd.Timedelta(days=300)))
    pred = model.predict(f)
    y = f["next_days"] < 14
    assert roc_auc_score(y, pred["p14"]) > 0.7
    assert roc_auc_score(y, pred["p14"]) > roc_auc_score(y, rule_predict(f)["p14"]) - 0.02
    bought = f["next_days"].notna()
    assert np.abs(pred["days"] - f["next_days"])[bought].mean() < 8

    model.save(tmp_path)
    again = TimingModel.load(tmp_path).predict(f)
    pd.testing.assert_frame_equal(pred, again)


def test_forecast_adds_up_cycles_and_irregular_purchases():
    products = catalog({1: "milk", 2: "eggs", 3: "bread"})
    history = [(1, 1, d, 2, 10) for d in (0, 10, 20, 30)]  # regular, outside the base window
    history += [(2, 2, d, 1, 20) for d in (5, 15, 25)]
    history += [(1, 3, 55, 3, 10)]  # a first purchase of bread 5 days before the start
    purchases = lines(history)
    start = START + pd.Timedelta(days=60)
    stores = fc.main_store(purchases)
    assert stores.to_dict() == {1: 10, 2: 20}
    predictions = pd.DataFrame({"household": [1, 2], "key": ["milk", "eggs"], "n7": [1.0, 0.5]})
    out = fc.forecast_units(purchases, products, stores, predictions, start)
    assert len(out["day"].unique()) == 7 and out["day"].min() == start
    totals = out.groupby(["store", "type"])["units"].sum()
    assert totals[(10, "milk")] == pytest.approx(2.0)  # 1 purchase day x 2 units
    assert totals[(20, "eggs")] == pytest.approx(0.5)
    assert totals[(10, "bread")] == pytest.approx(3 / 28 * 7)
    assert out["units"].sum() == pytest.approx(2.5 + 0.75)
    median = fc.forecast_units(purchases, products, stores, predictions, start, point="median")
    assert median["units"].sum() == 0  # no cell is more likely bought than not


def test_wape_and_baselines():
    day = pd.Timestamp("2017-03-01")
    f = pd.DataFrame({"day": day, "store": 1, "type": ["a", "b"], "units": [2.0, 1.0]})
    a = pd.DataFrame({"day": day, "store": 1, "type": ["a", "c"], "units": [3.0, 1.0]})
    assert fc.wape(f, a) == (pytest.approx(0.75), 3)
    history = pd.DataFrame(
        {
            "day": [day - pd.Timedelta(days=7), day - pd.Timedelta(days=14), day],
            "store": 1,
            "type": "a",
            "units": [4.0, 8.0, 100.0],  # the last row is not history and is ignored
        }
    )
    last = fc.same_weekday_last_week(history, day, days=1)
    assert last["units"].tolist() == [4.0]
    assert fc.moving_average(history, day, days=1)["units"].tolist() == [3.0]
    assert fc.moving_average(history, day, days=1, weekday=False)["units"].tolist() == [12 / 28]


def test_tiny_and_empty_data_do_not_crash():
    products = catalog({1: "milk"})
    purchases = lines([(1, 1, 0), (1, 1, 5), (2, 1, 3), (2, 1, 8), (2, 1, 12)])
    at = START + pd.Timedelta(days=20)
    model = TimingModel(FAST).fit(purchases, products, at)
    pred = model.predict(timing_features(purchases, products, at))
    assert pred["household"].tolist() == [2] and pred["source"].tolist() == ["rule"]
    empty = timing_features(purchases.iloc[:0], products, at)
    assert empty.empty and rule_predict(empty).empty and model.predict(empty).empty


def test_key_rates_read_only_points_whose_labels_have_ended():
    frame = pd.DataFrame(
        {
            "key": ["milk"] * 4,
            "window": [14, 28, 42, 70],
            "next_days": [0.0, 3.0, np.nan, 20.0],
            "rule_p14": [0.5, 0.5, 0.5, 0.5],
        }
    )
    rates = key_rates(frame, 14, 56)  # for the point 14 days back: points 28..70
    assert rates.loc["milk"].tolist() == [3.0, 1.0, 1.5]
    assert FAST.points == (14, 28, 42, 56, 70, 84, 98, 112)  # offsets + 56 days older


def test_the_trees_are_the_same_with_one_thread_or_every_core():
    """`dash train` and the evaluation fit with every core, the side-by-side evaluation with
    one: the same trees either way (on a 1-core machine this checks only the one)."""
    purchases, products = synthetic()
    cutoff = START + pd.Timedelta(days=240)
    fitted = [
        TimingModel(replace(FAST, threads=threads)).fit(purchases, products, cutoff)
        for threads in (1, None)
    ]
    one, every = (m.models for m in fitted)
    assert set(one) == set(every) and len(one) >= 6
    for name, model in one.items():
        a, b = (m[0] if isinstance(m, tuple) else m for m in (model, every[name]))
        assert len(a._predictors) == len(b._predictors) > 0, name
        for trees_a, trees_b in zip(a._predictors, b._predictors, strict=True):
            for x, y in zip(trees_a, trees_b, strict=True):
                assert np.array_equal(x.nodes, y.nodes), name
