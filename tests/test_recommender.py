"""The recommender on tiny synthetic data whose right answers are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import RetailData, first_baskets
from recommender.history import build_history, item_popularity
from recommender.hybrid import (
    HybridModel,
    HybridSettings,
    HybridTrainer,
    household_features,
    train_hybrid,
)
from recommender.live import LiveModels
from recommender.pairs import candidates, features, pair_queries
from recommender.ranker import Ranker, RankerSettings, fit_ranker, label, top_k
from recommender.sales import RecentSales
from recommender.training import MANIFEST, TrainSettings, train_models

START = pd.Timestamp("2024-01-01")
DAYS = 240
GROUP_X = {"household_comp": "2 Adults Kids", "income": "50-74K"}
GROUP_Y = {"household_comp": "1 Adult No Kids", "income": "15-24K"}

# product id -> (type, manufacturer, private label, price)
PRODUCTS = {
    1: ("KETCHUP", "heinz", False, 3.0),  # "brand A"
    2: ("KETCHUP", "hunts", False, 2.5),  # group X's favourite
    3: ("KETCHUP", "store", True, 1.5),  # group Y's favourite
    4: ("MILK", "dairy", False, 2.0),
    5: ("MILK", "store", True, 1.6),
    6: ("MUSTARD", "frenchs", False, 2.2),  # group X's, bought only from day 160
    7: ("MUSTARD", "store", True, 1.2),  # group Y's
}


def synthetic(seed: int = 7) -> RetailData:
    """40 households in two demographic groups with opposite tastes, plus household 1, which
    always buys ketchup 1. Everyone shops weekly; mustard appears only late in the year, so
    households meet it as a type they never bought (cold pairs)."""
    rng = np.random.default_rng(seed)
    rows, basket = [], 0
    demo = {}
    for hid in range(1, 42):
        group = "x" if hid % 2 else "y"
        demo[hid] = GROUP_X if group == "x" else GROUP_Y
        for day in range(int(rng.integers(0, 7)), DAYS, 7):
            basket += 1
            ts = START + pd.Timedelta(days=day, hours=int(rng.integers(8, 20)))
            favourite_ketchup = 1 if hid == 1 else (2 if group == "x" else 3)
            picks = [favourite_ketchup if rng.random() < 0.9 else int(rng.choice([1, 2, 3]))]
            picks.append(4 if group == "x" else 5)
            if day >= 160 + (hid % 5) * 7 and rng.random() < 0.7:
                picks.append(6 if group == "x" else 7)
            for product in picks:
                price = PRODUCTS[product][3]
                rows.append((hid, product, basket, ts, 1, price, 0.0))
    purchases = pd.DataFrame(
        rows, columns=["household", "product", "basket", "ts", "quantity", "paid", "discount"]
    )
    products = pd.DataFrame(
        {
            "type": [v[0] for v in PRODUCTS.values()],
            "category": [v[0] for v in PRODUCTS.values()],
            "department": "GROCERY",
            "manufacturer": [v[1] for v in PRODUCTS.values()],
            "private_label": [v[2] for v in PRODUCTS.values()],
            "size": "",
            "price": [v[3] for v in PRODUCTS.values()],
        },
        index=pd.Index(list(PRODUCTS), name="product"),
    )
    households = pd.DataFrame.from_dict(demo, orient="index")
    households.index.name = "household"
    return RetailData(purchases, products, households)


FAST = TrainSettings(
    hybrid=HybridSettings(components=8, epochs=30, threads=1, learning_rate=0.05),
    brand_ranker=RankerSettings(library="lightgbm", iterations=40, min_leaf=3, threads=1),
    cold_ranker=RankerSettings(objective="lambdarank", iterations=40, min_leaf=3),
    progress=False,
)


@pytest.fixture(scope="module")
def data() -> RetailData:
    return synthetic()


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    directory = tmp_path_factory.mktemp("models")
    summary = train_models(data, directory, settings=FAST)
    return directory, summary


def test_hybrid_gives_a_new_household_its_groups_favourite(data):
    model = train_hybrid(
        data.purchases, data.products, data.households, FAST.hybrid, progress=False
    )
    for group, ketchup, other in ((GROUP_X, 2, 3), (GROUP_Y, 3, 2)):
        scores = model.scores(None, [ketchup, other], household_features(group))
        assert scores[0] > scores[1], (group, scores)


def test_hybrid_saves_and_loads_without_pickle(data, tmp_path):
    model = train_hybrid(
        data.purchases, data.products, data.households, FAST.hybrid, progress=False
    )
    model.save(tmp_path)
    loaded = HybridModel.load(tmp_path)
    ids = list(PRODUCTS)
    assert np.allclose(model.scores(3, ids), loaded.scores(3, ids))
    feats = household_features(GROUP_X)
    assert np.allclose(model.scores(None, ids, feats), loaded.scores(None, ids, feats))
    assert loaded.scores(3, [999])[0] == -np.inf  # a product the model never saw


def test_a_refreshed_model_continues_the_first_and_leaves_its_export_alone(data):
    """`dash train` fits LightFM before the rankers' window and continues it on all history."""
    p = data.purchases
    cut = START + pd.Timedelta(days=120)
    late = p[(p["household"] == 41) & (p["ts"] >= cut)]  # 41 shops only after the cut here
    lines = pd.concat([p[(p["ts"] < cut) & (p["household"] != 41)], late])
    trainer = HybridTrainer(
        data.products, data.households, lines["household"].unique(), FAST.hybrid
    )
    early = trainer.fit(lines[lines["ts"] < cut], progress=False)
    kept = early.feature_vectors.copy()
    live = trainer.refresh(lines, progress=False)
    assert np.array_equal(early.feature_vectors, kept)  # the export is a copy
    assert not np.allclose(live.item_vectors, early.item_vectors)
    # what household 41 bought after the cut now scores above what it never bought
    bought = sorted(set(late["product"]))
    never = sorted(set(PRODUCTS) - set(bought))
    assert live.scores(41, bought).mean() > live.scores(41, never).mean()


def test_interactions_match_lightfms_own_builder(data):
    """The array-built matrices equal ``Dataset.build_interactions``'s, entry for entry."""
    p = data.purchases
    trainer = HybridTrainer(data.products, data.households, p["household"].unique(), FAST.hybrid)
    ours, our_weights = trainer.interactions(p)
    counts = p.groupby(["household", "product"])["basket"].nunique().reset_index()
    theirs, their_weights = trainer.dataset.build_interactions(
        (int(h), int(q), 1.0 + np.log(c)) for h, q, c in counts.itertuples(index=False)
    )
    assert ours.shape == theirs.shape
    assert (ours.tocsr() != theirs.tocsr()).nnz == 0
    assert np.allclose(our_weights.toarray(), their_weights.toarray())
    with pytest.raises(ValueError, match="not given to the trainer"):
        trainer.interactions(p.assign(product=p["product"].where(p.index > 0, 999_999)))


def test_training_is_reproducible(data):
    a = train_hybrid(data.purchases, data.products, data.households, FAST.hybrid, progress=False)
    b = train_hybrid(data.purchases, data.products, data.households, FAST.hybrid, progress=False)
    assert np.allclose(a.item_vectors, b.item_vectors)


def test_a_history_kept_to_some_households_has_their_rows_of_the_full_one(data):
    now = START + pd.Timedelta(days=150)
    full = build_history(data.purchases, data.products, now)
    some = pd.Index([1, 4, 9])
    part = build_history(data.purchases, data.products, now, only=some)
    pd.testing.assert_frame_equal(part.popularity, full.popularity)
    pd.testing.assert_frame_equal(part.lines, full.lines)
    for table in ("own", "own_type", "manufacturer", "category_manufacturer"):
        mine = getattr(full, table)
        mine = mine[mine["household"].isin(some)].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(part, table).reset_index(drop=True), mine)
    pd.testing.assert_frame_equal(
        part.households, full.households[full.households.index.isin(some)]
    )


def test_item_popularity_is_the_historys_item_table(data):
    """`dash train` saves the item side alone; the live shop reads it in place of the full
    history's table, so the two must agree to the last column."""
    now = START + pd.Timedelta(days=150)
    full = build_history(data.purchases, data.products, now).popularity
    pd.testing.assert_frame_equal(item_popularity(data.purchases, data.products, now), full)
    assert full["all"].sum() > 0 and full["first_picks"].sum() > 0


@pytest.mark.parametrize(
    ("objective", "library"),
    [("binary", "sklearn"), ("binary", "lightgbm"), ("lambdarank", "lightgbm")],
)
def test_brand_ranker_learns_loyalty(data, objective, library, tmp_path):
    """A household that always buys brand A gets A, though its group prefers another; saved
    and loaded again (LightGBM's as its text model, no pickle) it scores the same."""
    cutoff = START + pd.Timedelta(days=150)
    hist = build_history(data.purchases, data.products, cutoff)
    window = data.purchases[data.purchases["ts"] >= cutoff]
    warm, _, truth = pair_queries(hist, window, data.products)
    frame = label(
        features(hist, candidates(hist, warm, None, data.households), None, data.households, None),
        truth,
        "qid",
    )
    settings = RankerSettings(objective=objective, library=library, iterations=30, min_leaf=2)
    ranker = fit_ranker(frame, ["own_share", "share_all", "is_last"], settings)
    ranked = top_k(frame, ranker.score(frame), "qid", 1)
    ketchup_q = warm[(warm["household"] == 1) & (warm["type"] == "KETCHUP")]["qid"].iloc[0]
    assert ranked[int(ketchup_q)] == [1]
    one = frame[frame["qid"] == ketchup_q]
    chances = ranker.chances(one)
    assert np.argmax(chances) == list(one["product"]).index(1)
    if objective == "lambdarank":  # a softmax over the query's candidates
        assert chances.sum() == pytest.approx(1.0)
    else:
        assert np.allclose(chances, ranker.score(one))
    written = ranker.save(tmp_path / "brand")
    assert written.suffix == (".skops" if library == "sklearn" else ".json")
    assert [p.name for p in tmp_path.iterdir()] == [written.name]
    loaded = Ranker.load(tmp_path / "brand")
    assert loaded.objective == objective and loaded.features == ranker.features
    assert np.array_equal(loaded.score(frame), ranker.score(frame))
    assert np.array_equal(loaded.chances(one), chances)


def test_train_models_writes_a_loadable_directory(trained):
    directory, summary = trained
    assert {"brand", "cold"} <= set(summary["rankers"])
    assert isinstance(summary["rankers"]["brand"], dict)
    for name in (
        "hybrid.npz",
        "hybrid.json",
        "items.parquet",
        "brand.json",
        "cold.json",
        "neighbours.npz",
        "offers.skops",
        "timing.skops",
        MANIFEST,
    ):
        assert (directory / name).exists(), name
    assert not list(directory.glob("*.joblib"))  # no pickle anywhere
    models = LiveModels.load(directory)
    assert models.brand is not None and models.hybrid.knows(1)
    assert models.offers is not None and models.timing is not None
    assert models.neighbours is not None and 1 in models.neighbours.households


def test_dash_train_gives_the_same_models_twice(trained, data, tmp_path):
    """One LightFM thread and seeded trees: training again on the same history reproduces
    every array and every ranker score, though the fits run in threads side by side."""
    train_models(data, tmp_path, settings=FAST)
    first, second = LiveModels.load(trained[0]), LiveModels.load(tmp_path)
    assert np.array_equal(first.hybrid.item_vectors, second.hybrid.item_vectors)
    assert np.array_equal(first.hybrid.user_vectors, second.hybrid.user_vectors)
    for seed, name in enumerate(("brand", "cold")):
        a, b = getattr(first, name), getattr(second, name)
        assert a.features == b.features
        probe = np.random.default_rng(seed).random((50, len(a.features)))
        probe = pd.DataFrame(probe, columns=a.features)
        assert np.array_equal(a.score(probe), b.score(probe))


def test_live_rank_keeps_a_loyal_household_on_its_brand(trained, data):
    models = LiveModels.load(trained[0])
    lines = data.purchases[data.purchases["household"] == 1]
    now = START + pd.Timedelta(days=DAYS)
    ranking = models.rank(1, GROUP_X, lines, data.products, "KETCHUP", [1, 2, 3], now)
    assert ranking is not None and ranking.kind == "brand"
    assert ranking.product_ids[0] == 1 and ranking.own_baskets[0] > 10


def test_live_rank_reads_the_shops_recent_sales(trained, data):
    """The shop passes every household's recent lines of the category: the rankers see each
    candidate's share of the type's sales, and a loyal household stays on its brand."""
    models = LiveModels.load(trained[0])
    now = START + pd.Timedelta(days=DAYS)
    p = data.purchases
    recent = p[p["ts"] >= now - pd.Timedelta(days=28)]
    lines = p[p["household"] == 1]
    ranking = models.rank(
        1, GROUP_X, lines, data.products, "KETCHUP", [1, 2, 3], now, recent=recent
    )
    assert ranking is not None and ranking.product_ids[0] == 1
    hist = build_history(lines, data.products, now, popularity=models.items)
    query = pd.DataFrame(
        {"qid": 0, "household": 1, "type": "KETCHUP", "qtime": now, "product": [1, 2, 3]}
    )
    sales = RecentSales.from_purchases(recent, data.products)
    f = features(hist, query, None, data.households, None, None, sales=sales)
    ketchup = recent[recent["product"].isin([1, 2, 3])]
    share = ketchup.drop_duplicates(["product", "basket"])["product"].value_counts(normalize=True)
    assert f.set_index("product")["sold28_share"].to_dict() == pytest.approx(share.to_dict())


def test_a_large_category_is_shortlisted_with_what_sold_lately(trained, data):
    models = LiveModels.load(trained[0])
    now = START + pd.Timedelta(days=DAYS)
    lines = data.purchases[data.purchases["household"] == 1]
    hist = build_history(lines, data.products, now, popularity=models.items)
    ids = [*range(1000, 1100), 1]
    recent = pd.DataFrame({"product": [1099] * 3, "basket": [1, 2, 3], "ts": now})
    shortlist = models._shortlist(hist, ids, recent)["product"].tolist()
    assert len(shortlist) == 60 and shortlist[:2] == [1, 1099]  # own first, then sold lately


def test_live_rank_leaves_households_without_history_to_the_rules(trained, data):
    models = LiveModels.load(trained[0])
    now = START + pd.Timedelta(days=DAYS)
    empty = data.purchases.iloc[0:0]
    assert models.rank(500, GROUP_X, empty, data.products, "MUSTARD", [6, 7], now) is None


def test_live_rank_for_a_type_never_bought_follows_label_habits(trained, data):
    """Household 2 (group Y, buys the store brand) meets mustard for the first time."""
    models = LiveModels.load(trained[0])
    now = START + pd.Timedelta(days=DAYS)
    early = data.purchases[(data.purchases["household"] == 2) & (data.purchases["product"] < 6)]
    ranking = models.rank(2, GROUP_Y, early, data.products, "MUSTARD", [6, 7], now)
    assert ranking is not None and ranking.kind == "cold"
    assert ranking.product_ids[0] == 7


def test_live_cold_pairs_read_what_similar_households_chose(trained, data):
    """A household new since training, with group Y's basket (store ketchup and milk): its
    nearest households bought store mustard, and the live features say so."""
    models = LiveModels.load(trained[0])
    now = START + pd.Timedelta(days=DAYS)
    lines = data.purchases.iloc[:2].assign(household=900, product=[3, 5], basket=10**6)
    query = pd.DataFrame(
        {"qid": 0, "household": 900, "type": "MUSTARD", "qtime": now, "product": [6, 7]}
    )
    hist = build_history(lines, data.products, now, popularity=models.items)
    f = features(
        hist,
        query,
        None,
        data.households,
        None,
        neighbours=models.neighbours,
        own_products={900: pd.Index([3, 5])},
    )
    assert f["similar_share"].tolist() == pytest.approx([0.0, 1.0], abs=0.11)
    assert "similar_share" in models.cold.features


def test_first_baskets_takes_each_households_first_trip(data):
    after = data.purchases[data.purchases["ts"] >= START + pd.Timedelta(days=100)]
    firsts = first_baskets(after)
    one = after[after["household"] == 1].sort_values("ts")
    assert firsts[1] == set(one[one["basket"] == one["basket"].iloc[0]]["product"])
