"""The personal offer engine (``recommender.offers``) on small seeded synthetic data.

The generator has real structure: households come in groups that share a set of favourite
products, so a learned ranker has something to find and random offers have almost nothing.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from recommender import offers
from recommender.hybrid import HybridModel

START = pd.Timestamp("2024-01-01")
AT = START + pd.Timedelta(weeks=26)


def synthetic(seed: int = 3, groups: int = 4, per_group: int = 10, weeks: int = 32):
    """(purchases, products, households): each group buys from its own 12 favourites."""
    rng = np.random.default_rng(seed)
    n_products = 60
    products = pd.DataFrame(
        {
            "type": [f"type{i % 6}" for i in range(n_products)],
            "category": [f"cat{i % 3}" for i in range(n_products)],
            "department": "grocery",
            "manufacturer": [f"m{i % 7}" for i in range(n_products)],
            "private_label": [i % 5 == 0 for i in range(n_products)],
            "size": "1 each",
            "price": 1.0 + (np.arange(n_products) % 9) * 0.5,
        },
        index=pd.Index(np.arange(100, 100 + n_products), name="product"),
    )
    tastes = [rng.choice(products.index, 12, replace=False) for _ in range(groups)]
    rows, basket = [], 0
    households = {}
    for g in range(groups):
        for m in range(per_group):
            h = 1 + g * per_group + m
            households[h] = {"household_comp": f"group{g}", "age": "35-44"}
            for week in range(weeks):
                if rng.random() > 0.8:
                    continue
                ts = START + pd.Timedelta(weeks=week, hours=int(rng.integers(8, 20)))
                bought = [p for p in tastes[g] if rng.random() < 0.3]
                if rng.random() < 0.3:
                    bought.append(int(rng.choice(products.index)))
                for p in dict.fromkeys(bought):
                    rows.append((h, int(p), basket, ts, 1, 2.0, 0.0))
                basket += 1
    purchases = pd.DataFrame(
        rows, columns=["household", "product", "basket", "ts", "quantity", "paid", "discount"]
    )
    demo = pd.DataFrame.from_dict(households, orient="index").rename_axis("household")
    return purchases, products, demo


@pytest.fixture(scope="module")
def world():
    return synthetic()


@pytest.fixture(scope="module")
def model(world):
    purchases, products, households = world
    # Two windows ending at AT: nothing the offers are judged on reaches the model.
    first = AT - 2 * offers.HORIZON
    fitted = offers.train_offer_model(purchases, products, households, first, windows=2)
    assert fitted is not None
    return fitted


def _hit_rate(picks: pd.DataFrame, purchases: pd.DataFrame) -> float:
    truth = offers.bought_after(purchases, AT)
    taken = picks.merge(truth, on=["household", "product"])
    shoppers = truth["household"].unique()
    return taken["household"].nunique() / len(shoppers)


def test_offers_leave_out_recent_purchases_and_label_kinds(world, model):
    purchases, products, households = world
    picks = offers.pick_offers(model, purchases, products, households, AT, n=5, discovery=1)
    assert list(picks.columns) == offers.COLUMNS
    before = purchases[purchases["ts"] < AT]
    recent = before[before["ts"] >= AT - offers.RECENT]
    recent_pairs = set(zip(recent["household"], recent["product"], strict=True))
    ever_pairs = set(zip(before["household"], before["product"], strict=True))
    for row in picks.itertuples():
        assert (row.household, row.product) not in recent_pairs
        bought = (row.household, row.product) in ever_pairs
        assert row.kind == ("winback" if bought else "discovery")
        if bought:
            assert row.reason == offers.REASONS["winback"]
        else:
            assert row.reason in (offers.REASONS["similar"], offers.REASONS["segment"])
    per_household = picks.groupby("household").size()
    assert per_household.max() <= 5
    assert (per_household == 5).mean() > 0.9
    assert (picks.groupby("household")["kind"].apply(lambda k: (k == "discovery").sum()) >= 1).all()
    assert not picks.duplicated(["household", "product"]).any()


def test_discovery_list_holds_never_bought_products_only(world, model):
    purchases, products, households = world
    picks = offers.discovery_list(model, purchases, products, households, AT, n=4)
    assert (picks["kind"] == "discovery").all()
    assert picks.groupby("household").size().max() <= 4


def test_learned_offers_beat_random_offers(world, model):
    purchases, products, households = world
    picks = offers.pick_offers(model, purchases, products, households, AT, n=5, discovery=0)
    before = purchases[purchases["ts"] < AT]
    recent = before[before["ts"] >= AT - offers.RECENT]
    rng = np.random.default_rng(0)
    rows = []
    for h in households.index:
        allowed = np.setdiff1d(products.index, recent.loc[recent["household"] == h, "product"])
        rows += [(h, p) for p in rng.choice(allowed, 5, replace=False)]
    random = pd.DataFrame(rows, columns=["household", "product"])
    ours, chance = _hit_rate(picks, purchases), _hit_rate(random, purchases)
    assert ours > chance + 0.2
    assert ours > 0.6


def test_rules_serve_without_a_model(world):
    purchases, products, households = world
    picks = offers.pick_offers(None, purchases, products, households, AT, n=3, discovery=1)
    assert picks.groupby("household").size().max() <= 3
    assert set(picks["kind"]) <= {"winback", "discovery"}
    assert picks["score"].between(0, 1).all()


def test_model_round_trips_without_pickle(world, model, tmp_path):
    """Saved in skops' format and loaded against Dash's list of trusted types, the two
    rankers score every candidate exactly as before."""
    purchases, products, households = world
    path = tmp_path / "offers.skops"
    model.save(path)
    assert zipfile.is_zipfile(path)  # skops' zip of JSON and arrays, not a pickle stream
    loaded = offers.OfferModel.load(path)
    assert loaded.discovery is not None
    frame = offers.offer_frame(purchases, products, households, AT)
    assert np.array_equal(loaded.score(frame), model.score(frame))
    assert np.array_equal(loaded.discovery_score(frame), model.discovery_score(frame))


def _tiny_hybrid(products: pd.DataFrame) -> HybridModel:
    rng = np.random.default_rng(1)
    items = products.index.to_numpy()
    return HybridModel(
        user_ids=np.array([1], dtype=np.int64),
        item_ids=items,
        user_vectors=rng.normal(size=(1, 4)).astype(np.float32),
        user_biases=np.zeros(1, dtype=np.float32),
        item_vectors=rng.normal(size=(len(items), 4)).astype(np.float32),
        item_biases=np.zeros(len(items), dtype=np.float32),
        feature_vectors=rng.normal(size=(1, 4)).astype(np.float32),
        feature_biases=np.zeros(1, dtype=np.float32),
        feature_index={"demo:unknown": 0},
    )


def test_tiny_shop_does_not_crash():
    products = pd.DataFrame(
        {
            "type": ["ketchup", "ketchup", "coffee"],
            "category": ["sauces", "sauces", "drinks"],
            "department": "grocery",
            "manufacturer": ["a", "b", "c"],
            "private_label": [False, True, False],
            "size": ["500 ml", "500 ml", "250 g"],
            "price": [2.5, 1.9, 4.0],
        },
        index=pd.Index([11, 12, 13], name="product"),
    )
    purchases = pd.DataFrame(
        {
            "household": [1, 1, 2],
            "product": [11, 13, 12],
            "basket": [0, 0, 1],
            "ts": [
                AT - pd.Timedelta(weeks=20),
                AT - pd.Timedelta(weeks=20),
                AT - pd.Timedelta(days=3),
            ],
            "quantity": [1, 1, 1],
            "paid": [2.5, 4.0, 1.9],
            "discount": [0.0, 0.0, 0.0],
        }
    )
    households = pd.DataFrame({"household_comp": ["Single", None]}, index=pd.Index([1, 2]))
    early = AT - 2 * offers.HORIZON
    assert offers.train_offer_model(purchases, products, households, early) is None
    for hybrid in (None, _tiny_hybrid(products)):
        picks = offers.pick_offers(
            None, purchases, products, households, AT, n=5, hybrid=hybrid, only=[1, 2, 99]
        )
        assert list(picks.columns) == offers.COLUMNS
        assert set(picks.loc[picks["household"] == 1, "product"]) <= {11, 12, 13}
        assert 12 not in set(picks.loc[picks["household"] == 2, "product"])
    empty = offers.pick_offers(None, purchases.iloc[:0], products, households, AT)
    assert list(empty.columns) == offers.COLUMNS


def test_the_promotion_calendar_of_the_offer_weeks_is_a_feature(world):
    """Displays and mailers planned for the offer period (the week holding the offer date and
    the next three) count; earlier and later weeks do not; no calendar means zeros."""
    purchases, products, households = world
    a, b, c, d = offers.signals(purchases, products, households, AT).cols[:4]
    monday = AT - pd.Timedelta(days=AT.weekday())
    calendar = pd.DataFrame(
        {
            "product": [a, a, b, c, d],
            "week": [
                monday,  # the week of the offer date
                monday + pd.Timedelta(weeks=2),
                monday + pd.Timedelta(weeks=3),
                monday - pd.Timedelta(weeks=1),  # over before the offers start
                monday + pd.Timedelta(weeks=4),  # after the offers expire
            ],
            "display": [True, True, False, True, True],
            "mailer": [False, True, True, True, True],
        }
    )
    sig = offers.signals(purchases, products, households, AT, promotions=calendar)
    got = sig.items[["promo_display", "promo_mailer"]]
    assert got.loc[a].tolist() == [2.0, 1.0]
    assert got.loc[b].tolist() == [0.0, 1.0]
    assert got.loc[c].tolist() == got.loc[d].tolist() == [0.0, 0.0]
    assert got.drop(index=[a, b]).eq(0).all().all()
    frame = offers.offer_frame(purchases, products, households, AT, promotions=calendar)
    assert set(frame["promo_display"]) <= {0.0, 2.0} and frame["promo_display"].max() == 2.0
    plain = offers.offer_frame(purchases, products, households, AT)
    assert (plain[["promo_display", "promo_mailer"]] == 0).all().all()


def test_rows_without_the_calendar_are_the_rows_built_without_one(world):
    """The evaluation's engine without the calendar reuses the calendar run's rows with the two
    calendar columns zeroed; that holds only while nothing else in the rows reads the calendar."""
    purchases, products, households = world
    first = AT - 2 * offers.HORIZON
    weeks = pd.date_range(first - pd.Timedelta(days=first.weekday()), AT, freq="7D")
    sold = offers.signals(purchases, products, households, AT).cols
    calendar = pd.DataFrame(
        {
            "product": np.resize(sold[:6], len(weeks) * 3),
            "week": np.repeat(weeks, 3),
            "display": True,
            "mailer": np.resize([True, False], len(weeks) * 3),
        }
    )
    args = (purchases, products, households, first, None, 2)
    with_calendar = offers.training_frames(*args, promotions=calendar)
    assert with_calendar["promo_display"].max() > 0
    pd.testing.assert_frame_equal(
        offers.without_calendar(with_calendar), offers.training_frames(*args)
    )
