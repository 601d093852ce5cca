"""Similar households' picks (recommender.neighbours): hand-worked cases and a slow reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from recommender.neighbours import DENSE_CELLS, Neighbours

PRODUCTS = pd.DataFrame(
    {"type": ["MUSTARD", "MUSTARD", "BREAD", "MILK", "EGGS"]},
    index=pd.Index([1, 2, 10, 11, 12], name="product"),
)


def lines(baskets: dict[int, list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(h, p) for h, items in baskets.items() for p in items], columns=["household", "product"]
    )


def query(household: int, products=(1, 2)) -> pd.DataFrame:
    return pd.DataFrame({"household": household, "type": "MUSTARD", "product": list(products)})


HISTORY = {
    7: [10, 11],  # asks for mustard for the first time
    20: [10, 11, 1],  # shops like 7 (two shared products): mustard 1
    21: [10, 2],  # a little like 7: mustard 2
    22: [12, 2],  # nothing in common with 7
}


def test_the_most_similar_buyer_decides_with_one_neighbour():
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=1)
    assert nb.share(query(7)).tolist() == [1.0, 0.0]


def test_shares_are_similarity_weighted_and_unlike_households_do_not_count():
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=3)
    like_20 = 2 / (math.sqrt(2) * math.sqrt(3))
    like_21 = 1 / (math.sqrt(2) * math.sqrt(2))  # 22 shares nothing: weight 0
    share = nb.share(query(7))
    assert share == pytest.approx([like_20 / (like_20 + like_21), like_21 / (like_20 + like_21)])


def test_a_household_is_never_its_own_neighbour():
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=1)
    # 20 bought mustard 1 itself; its nearest other buyer is 21 (one product shared: bread).
    assert nb.share(query(20)).tolist() == [0.0, 1.0]


def test_unknown_households_and_types_nobody_bought_get_no_share():
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=3)
    assert np.isnan(nb.share(query(999))).all()
    eggs = pd.DataFrame({"household": [7], "type": ["FLOUR"], "product": [12]})
    assert np.isnan(nb.share(eggs)).all()


def test_a_live_households_own_products_stand_in_for_its_stored_row():
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=1)
    own = {555: pd.Index([10, 11])}  # new since training, shops like 7
    assert nb.share(query(555), own).tolist() == nb.share(query(7)).tolist()
    # and a stored household's row is replaced, not added to
    assert nb.share(query(7), {7: pd.Index([12])}).tolist() == [0.0, 1.0]


def test_saves_and_loads_without_pickle(tmp_path):
    nb = Neighbours.from_purchases(lines(HISTORY), PRODUCTS, k=3)
    nb.save(tmp_path)
    loaded = Neighbours.load(tmp_path)
    assert loaded.k == 3
    assert np.allclose(loaded.share(query(7)), nb.share(query(7)))


def slow_share(baskets: dict[int, set[int]], types: dict[int, str], h, typ, product, k):
    """Straight from the definition: cosine, top k among the type's other buyers."""
    mine = baskets.get(h, set())
    if not mine:
        return math.nan
    sims = []
    for other, items in baskets.items():
        if other == h or not any(types[p] == typ for p in items):
            continue
        sim = len(mine & items) / (math.sqrt(len(mine)) * math.sqrt(len(items)))
        sims.append((sim, other))
    if not sims:
        return math.nan
    sims.sort(reverse=True)
    top = [(s, o) for s, o in sims[:k] if s > 0]
    total = sum(s for s, _ in top)
    if total <= 0:
        return math.nan
    return sum(s for s, o in top if product in baskets[o]) / total


def test_matches_a_slow_reference_on_random_baskets():
    rng = np.random.default_rng(3)
    products = pd.DataFrame(
        {"type": [f"T{i % 5}" for i in range(40)]}, index=pd.Index(range(100, 140), name="product")
    )
    types = products["type"].to_dict()
    baskets = {
        h: set(rng.choice(products.index, size=rng.integers(1, 12), replace=False).tolist())
        for h in range(60)
    }
    frame = pd.DataFrame(
        [(h, t, p) for h in range(0, 60, 3) for p, t in types.items() if t in ("T1", "T3")],
        columns=["household", "type", "product"],
    )
    checked = 0
    for k, dense_cells in itertools.product((1, 4, 100), (DENSE_CELLS, 0)):
        # dense_cells 0: similarities per type against its buyers, as in a large shop
        got = Neighbours.from_purchases(
            lines({h: sorted(b) for h, b in baskets.items()}), products, k
        )
        got.dense_cells = dense_cells
        want = [slow_share(baskets, types, h, t, p, k) for h, t, p in frame.itertuples(index=False)]
        shares = got.share(frame)
        assert np.allclose(shares, want, equal_nan=True) or _only_ties_differ(
            baskets, types, frame, shares, want, k
        )
        checked += int(np.isfinite(shares).sum())
    assert checked > 100  # most rows have a share to compare


def _only_ties_differ(baskets, types, frame, got, want, k) -> bool:
    """Where the k-th and (k+1)-th similarities are equal either neighbour is right."""
    for (h, t, _), g, w in zip(frame.itertuples(index=False), got, want, strict=True):
        if np.isclose(g, w, equal_nan=True):
            continue
        mine = baskets[h]
        sims = sorted(
            (
                len(mine & items) / math.sqrt(len(mine) * len(items))
                for o, items in baskets.items()
                if o != h and any(types[p] == t for p in items)
            ),
            reverse=True,
        )
        if len(sims) <= k or not math.isclose(sims[k - 1], sims[k]):
            return False
    return True
