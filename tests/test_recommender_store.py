"""The learned recommender inside the shop: trained from the store, serving the resolve API,
reloaded without a restart, and never overriding what a household said it wants."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from recommender.eval_tables import IN_SAMPLE, LATELY, ON_ANSWERS
from recommender.live import LiveModels
from recommender.offers_eval import NO_CALENDAR
from recommender.resolver import REASON_SEGMENT
from shop.models import Household, Preference, Product
from shop.recommend_data import store_data, train_from_store


@pytest.fixture
def trained_store(sqlite_demo_store):
    with sqlite_demo_store.session() as s:
        summary = train_from_store(s, sqlite_demo_store.settings.models_dir, progress=False)
    assert isinstance(summary["rankers"]["brand"], dict)
    return sqlite_demo_store


@pytest.fixture
def learned_client(trained_store, token):
    from shop.api import create_app

    app = create_app(store=trained_store)
    app.config.update(TESTING=True)
    return app, app.test_client(), {"Authorization": f"Bearer {token}"}


def _ketchup_usual(store, household_id: int) -> int:
    data = store_data_session(store)
    lines = data.purchases[data.purchases["household"] == household_id]
    ketchup = data.products.index[data.products["type"] == "ketchup"]
    counts = lines[lines["product"].isin(ketchup)].groupby("product")["basket"].nunique()
    return int(counts.idxmax())


def store_data_session(store):
    with store.session() as s:
        return store_data(s)


def test_resolve_api_serves_the_learned_ranker_with_a_reason(learned_client, trained_store):
    app, client, auth = learned_client
    body = client.get(
        "/api/products/resolve", query_string={"q": "catch up", "household": 1}, headers=auth
    ).get_json()
    assert body["category"]["id"] == "ketchup"
    assert body["reason"] in {"your usual", "you bought it before", "picked for you"}
    models = LiveModels.load(trained_store.settings.models_dir)
    data = store_data_session(trained_store)
    ketchups = data.products.index[data.products["type"] == "ketchup"].tolist()
    import pandas as pd

    ranking = models.rank(
        1,
        {},
        data.purchases[data.purchases["household"] == 1],
        data.products,
        "ketchup",
        ketchups,
        pd.Timestamp.now(),
    )
    assert body["product"]["id"] == ranking.product_ids[0]
    if body["reason"] == "your usual":
        assert body["product"]["id"] == _ketchup_usual(trained_store, 1)


def test_an_explicit_preference_beats_the_model(learned_client, trained_store):
    app, client, auth = learned_client
    with trained_store.session() as s:
        ketchups = s.query(Product).filter(Product.category_id == "ketchup").all()
        usual = _ketchup_usual(trained_store, 1)
        other = next(p for p in ketchups if p.id != usual)
        s.add(Preference(household_id=1, category_id="ketchup", product_id=other.id))
    body = client.get(
        "/api/products/resolve", query_string={"q": "ketchup", "household": 1}, headers=auth
    ).get_json()
    assert body["product"]["id"] == other.id and body["reason"] == "you set this preference"


def test_a_new_household_like_group_x_gets_group_xs_favourite(trained_store):
    """Two new households, known only by their composition, each get the favourite of the
    households of their own composition, in a category where the two groups differ."""
    from shop.resolve import ProductResolver

    data = store_data_session(trained_store)
    lines = data.purchases.join(data.products["type"], on="product")
    lines = lines.join(data.households["household_comp"].rename("segment"), on="household")
    counts = lines.groupby(["type", "segment", "product"]).size().rename("n").reset_index()
    found = None
    for kind, by_type in counts.groupby("type"):
        favourites = {}
        for segment, g in by_type.groupby("segment"):
            top = g.sort_values("n", ascending=False)["n"].to_numpy()
            if len(top) > 1 and top[0] >= 1.5 * top[1]:  # a clear favourite, no tie-break
                favourites[segment] = int(g.loc[g["n"].idxmax(), "product"])
        distinct = {f: seg for seg, f in favourites.items()}
        if len(distinct) >= 2:
            found = kind, list(distinct.items())[:2]
            break
    assert found, "the demo store's groups should differ somewhere"
    kind, picks = found
    with trained_store.session() as s:
        for i, (_, segment) in enumerate(picks):
            s.add(Household(id=910 + i, name=f"new {i}", segment=segment))
    resolver = ProductResolver(trained_store.settings.models_dir)
    with trained_store.session() as s:
        name = s.get(Product, picks[0][0]).category.name
        for i, (favourite, _) in enumerate(picks):
            choice = resolver.resolve_text(s, name, household_id=910 + i)
            assert choice.category.id == kind
            assert choice.product.id == favourite and choice.reason == REASON_SEGMENT


def test_the_stores_offers_to_everyone_are_its_promotion_calendar(sqlite_demo_store):
    """What `dash train` learns the mailer from: each week an offer to everyone ran, by its
    Monday; personal offers stay out (they are the household's price, not the shelf's)."""
    from datetime import datetime

    import pandas as pd

    from shop.models import Offer
    from shop.recommend_data import promotions_frame

    with sqlite_demo_store.session() as s:
        s.query(Offer).delete()
        assert promotions_frame(s) is None
        s.add(
            Offer(
                product_id=1,
                discount_pct=20,
                price_cents=100,
                starts_at=datetime(2026, 3, 4, 9),  # a Wednesday
                expires_at=datetime(2026, 3, 17),  # the Tuesday two weeks on
            )
        )
        s.add(
            Offer(
                household_id=1,
                product_id=2,
                discount_pct=30,
                price_cents=100,
                starts_at=datetime(2026, 3, 4),
                expires_at=datetime(2026, 3, 9),
            )
        )
    with sqlite_demo_store.session() as s:
        frame = promotions_frame(s)
        data = store_data(s)
    weeks = [pd.Timestamp(d) for d in ("2026-03-02", "2026-03-09", "2026-03-16")]
    assert frame["product"].tolist() == [1, 1, 1] and frame["week"].tolist() == weeks
    assert frame["mailer"].all() and not frame["display"].any()
    assert data.promotions.equals(frame)


def test_a_new_household_with_only_demographics_gets_a_personal_pick(trained_store):
    from shop.resolve import ProductResolver

    with trained_store.session() as s:
        segment = s.get(Household, 1).segment
        s.add(Household(id=900, name="new", segment=segment, household_size=4, kids=2))
    resolver = ProductResolver(trained_store.settings.models_dir)
    with trained_store.session() as s:
        choice = resolver.resolve_text(s, "coffee", household_id=900)
        assert choice.product is not None and choice.category.id == "coffee"
        assert choice.reason == REASON_SEGMENT


def test_retraining_reaches_a_running_app_without_restart(learned_client, trained_store):
    app, client, auth = learned_client
    resolver = app.extensions["dash.resolver"]
    client.get("/api/products/resolve", query_string={"q": "milk", "household": 1}, headers=auth)
    with trained_store.session() as s:
        first = resolver.learned(s).models
    manifest = trained_store.settings.models_dir / "manifest.json"
    before = json.loads(manifest.read_text())["trained_at"]
    with trained_store.session() as s:
        train_from_store(s, trained_store.settings.models_dir, progress=False)
    assert not list(manifest.parent.glob(".*.part"))  # swapped in whole
    with trained_store.session() as s:
        assert resolver.learned(s).models is first  # the new ones load in a thread meanwhile
    resolver.settle()
    with trained_store.session() as s:
        second = resolver.learned(s).models
    assert second is not first and second.manifest["trained_at"] != before


@pytest.mark.slow
def test_evaluate_command_on_complete_journey(tmp_path):
    """The evaluation command end to end on a slice of the real data, through `dash
    evaluate` (the same command as ``python -m recommender.evaluate``)."""
    out = tmp_path / "eval.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "shop.cli",
            "evaluate",
            "--households",
            "150",
            "--epochs",
            "2",
            "--json",
            str(out),
            "--plots",
            str(tmp_path / "plots"),
            "--quiet",
            "--holdout-folds",
            "2",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    report = json.loads(out.read_text())
    pair_methods = ["hybrid ranker (ours)", "most popular in type", LATELY, "LightFM alone"]
    for table, methods in (
        ("brand_resolution", [*pair_methods, "household most frequent", "household most recent"]),
        ("cold_pairs", pair_methods),
    ):
        assert report[table]["pairs"] > 0 and 0 < report[table]["candidate_coverage"] <= 1
        for method in methods:
            assert 0 <= report[table][method]["top1"] <= report[table][method]["top3"] <= 1
    # how far the cold-pair features go when fitted on the test window's own answers
    assert 0 <= report["cold_pairs"][ON_ANSWERS]["top1"] <= report["cold_pairs"][IN_SAMPLE]["top3"]
    for method in (
        "hybrid ranker (ours)",
        "popularity",
        "personal frequency",
        "recency-decayed frequency",
        "TIFU-KNN",
        "implicit ALS",
        "LightFM alone",
    ):
        row = report["next_basket"][method]
        assert 0 < row["recall"] <= 1 and 0 < row["ndcg"] <= 1
        assert 0 <= row["recall_repeat"] <= 1 and 0 <= row["recall_new"] <= 1
    assert report["cold_start_households"]["popularity"]["households"] > 0
    # the second fold adds its own held-out households to the first's
    first = report["cold_start_households"]["popularity"]["households"]
    both = report["cold_start_households_all_folds"]["popularity"]["households"]
    assert both > first
    assert report["intervals"]["cold_start_households_all_folds"]["units"] == both
    for reference in (
        "(reference) the other households' baskets, in hindsight",
        "(reference) the same, own composition only",
    ):
        assert report["cold_start_households_all_folds"][reference]["households"] == both
    # the same households, followed through the test window as they shop
    for suffix, count in (("", first), ("_all_folds", both)):
        shopping = report[f"new_households_as_they_shop{suffix}"]
        assert shopping["households"] == count
        assert shopping["baskets"] > shopping["baskets_after_first"] > 0
        interval = report["intervals"][f"new_households_as_they_shop{suffix}"]
        assert interval["units"] == count and interval["against"] == "popularity"
        assert interval["ours"] == shopping[interval["method"]]["recall"]
        for method in ("popularity", "personal frequency", "TIFU-KNN", interval["method"]):
            assert 0 < shopping[method]["recall"] <= 1
    for table, against in (
        ("brand_resolution", "household most frequent"),
        ("cold_pairs", "most popular in type"),
        ("cold_pairs_lately", LATELY),
        ("next_basket", "TIFU-KNN"),
        ("cold_start_households", "popularity"),
    ):
        interval = report["intervals"][table]
        assert interval["against"] == against
        low, high = interval["difference_95"]
        assert low <= interval["difference"] <= high
        metric = interval["metric"]
        rows = report[table.removesuffix("_lately")]
        assert interval["theirs"] == rows[against][metric]
        assert interval["ours"] == rows[interval["method"]][metric]
    # the other sections of the same run, the offers with their even row
    assert report["repurchase_timing"]["methods"]["timing model (ours)"]["auc_14"] > 0.5
    offer_rows = report["offers"]["methods"]
    for method in ("popularity", "offer engine (ours, free)", NO_CALENDAR):
        assert 0 < offer_rows[method]["hit_rate"] <= 1
    assert {p.name for p in (tmp_path / "plots").iterdir()} >= {
        "brand_resolution.png",
        "cold_pairs.png",
        "next_basket.png",
        "cold_start_households.png",
        "cold_start_households_all_folds.png",
        "new_households_as_they_shop_by_week.png",
    }


def test_holdout_folds_are_disjoint_and_the_first_is_the_issues_20_percent():
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from recommender.basket_eval import holdout_folds

    # as in Complete Journey, a third of the households have demographics (823 here)
    ids = np.arange(1, 2470)
    age = pd.Series(np.where(ids % 3 == 0, "45-54", None), index=ids, dtype=object)
    data = SimpleNamespace(households=pd.DataFrame({"age": age}))
    demo = set(data.households.dropna(how="all").index)
    (single,) = holdout_folds(data, 0.2, 42, 1)
    folds = holdout_folds(data, 0.2, 42, 5)
    assert len(single) == round(0.2 * len(demo)) and list(folds[0]) == list(single)
    seen = [set(f) for f in folds]
    assert sum(map(len, seen)) == len(set().union(*seen)) == len(demo)
    assert set().union(*seen) == demo
    assert max(map(len, seen)) - min(map(len, seen)) <= 1


def test_recent_sales_are_every_households_lines_of_the_category_before_now(sqlite_demo_store):
    """What the resolver hands the rankers as "sold lately": the category's lines of the last
    28 days before the moment, all households, none from that moment on."""
    from datetime import timedelta

    from shop.recommend_data import purchases_frame
    from shop.resolve import _recent_sales

    with sqlite_demo_store.session() as s:
        everything = purchases_frame(s)
        products = store_data(s).products
        ketchup = [int(p) for p in products.index[products["type"] == "ketchup"]]
        now = everything["ts"].quantile(0.9).to_pydatetime()
        recent = _recent_sales(s, ketchup, now)
    since = now - timedelta(days=28)
    expected = everything[
        everything["product"].isin(ketchup) & (everything["ts"] >= since) & (everything["ts"] < now)
    ]
    assert len(recent) == len(expected) > 0 and recent["household"].nunique() > 1
    assert set(recent["product"]) <= set(ketchup)
