"""The demo generator: deterministic, and its data shows the behaviour it documents."""

from collections import Counter, defaultdict
from datetime import date

import numpy as np
import pytest

from shop.demo.generator import BABY_CATEGORIES, CatalogProduct, Params, generate


@pytest.fixture(scope="module")
def catalog():
    import yaml

    from shop.catalog import DEMO_CATALOG, to_cents

    data = yaml.safe_load(DEMO_CATALOG.read_text())
    products, cycles, pid = [], {}, 0
    for cat in data["categories"]:
        cycles[cat["id"]] = cat["repurchase_days"]
        for p in cat["products"]:
            pid += 1
            products.append(
                CatalogProduct(
                    pid, cat["id"], p["brand"], to_cents(p["price"]), bool(p.get("private_label"))
                )
            )
    return products, cycles


PARAMS = Params(seed=3, households=40, days=365, end=date(2026, 1, 31))


@pytest.fixture(scope="module")
def data(catalog):
    return generate(*catalog, PARAMS)


def test_same_seed_same_data(catalog, data):
    again = generate(*catalog, PARAMS)
    assert again.purchases == data.purchases
    assert [h.favourites for h in again.households] == [h.favourites for h in data.households]
    other = generate(*catalog, Params(seed=4, households=40, days=365, end=PARAMS.end))
    assert other.purchases != data.purchases


def test_history_spans_the_window_in_baskets(data):
    dates = [p.purchased_at.date() for p in data.purchases]
    assert min(dates) >= date(2025, 1, 31) and max(dates) < PARAMS.end
    per_basket = Counter(p.basket_id for p in data.purchases)
    assert np.mean(list(per_basket.values())) > 2  # purchases come in shopping trips
    assert {p.household_id for p in data.purchases} == set(range(1, 41))


def test_households_mostly_buy_their_favourite(catalog, data):
    product_cat = {p.id: p.category_id for p in catalog[0]}
    counts = Counter(
        (p.household_id, product_cat[p.product_id], p.product_id) for p in data.purchases
    )
    per_pair = Counter()
    for (hid, cat, _), n in counts.items():
        per_pair[(hid, cat)] += n
    favourite_share = [
        counts[(h.id, cat, fav)] / per_pair[(h.id, cat)]
        for h in data.households
        for cat, fav in h.favourites.items()
        if per_pair[(h.id, cat)] >= 5
    ]
    assert 0.5 < np.median(favourite_share) < 0.98  # loyal, with occasional switching


def test_purchase_cycles_follow_the_category(catalog, data):
    _, cycles = catalog
    gaps = defaultdict(list)
    by_pair = defaultdict(list)
    product_cat = {p.id: p.category_id for p in catalog[0]}
    for p in data.purchases:
        by_pair[(p.household_id, product_cat[p.product_id])].append(p.purchased_at)
    for (_, cat), times in by_pair.items():
        days = sorted({t.date() for t in times})
        gaps[cat] += [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    assert np.median(gaps["milk"]) < np.median(gaps["coffee"]) < np.median(gaps["batteries"])
    for cat in ("coffee", "toilet-paper", "ketchup"):
        assert 0.5 * cycles[cat] < np.median(gaps[cat]) < 1.6 * cycles[cat]


def test_baby_goods_only_for_households_with_a_baby(catalog, data):
    product_cat = {p.id: p.category_id for p in catalog[0]}
    babies = {h.id for h in data.households if BABY_CATEGORIES & set(h.favourites)}
    buyers = {
        p.household_id for p in data.purchases if product_cat[p.product_id] in BABY_CATEGORIES
    }
    assert buyers == babies
    assert all(data.households[i - 1].kids > 0 for i in babies)


def test_segments_share_tastes(data):
    # Within a segment, households agree on the favourite more often than across segments.
    same, cross = [], []
    hs = data.households
    for i, a in enumerate(hs):
        for b in hs[i + 1 :]:
            shared = set(a.favourites) & set(b.favourites)
            if not shared:
                continue
            agree = np.mean([a.favourites[c] == b.favourites[c] for c in shared])
            (same if a.segment == b.segment else cross).append(agree)
    assert np.mean(same) > np.mean(cross)


def test_members_and_preferences(data):
    assert all(h.members and h.members[0][1] == "adult" for h in data.households)
    assert any(member for h in data.households for member, _, _ in h.preferences)
