"""Offer candidates and their features: the signals ``recommender.offers`` ranks.

``signals`` reads the history before a time point once (the household's own products, recent
popularity, item co-purchase, similar households, popularity in its demographic segment,
LightFM scores); ``candidates`` draws, per household, products it did not buy in the last 8
weeks from those sources; ``offer_features`` describes each (household, product) candidate for
the offer rankers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.hybrid import HybridModel, features_of
from recommender.ranker import RankerSettings

RECENT = pd.Timedelta(weeks=8)  # bought in this window: not offered
HORIZON = pd.Timedelta(weeks=4)  # an offer counts as taken if bought within this window
POPULAR = pd.Timedelta(weeks=4)  # "popular lately" and "offerable" look back this far
NEVER = 9_999.0
DAY = pd.Timedelta(days=1)  # a window may end up to a day after the last purchase recorded
REASONS = {
    "winback": "you used to buy this",
    "similar": "households that buy what you buy also like this",
    "segment": "popular with households like yours",
}
COLUMNS = ["household", "product", "kind", "score", "reason"]
#: Item-side and household-side features shared by both models.
SHARED = [
    "pop_4w", "pop_1w", "pop_prev", "trend", "buyers_4w", "buyers_all", "repeat_rate",
    "product_age", "return_rate", "new_buyers", "new_rate", "price", "rel_price",
    "private_label", "deal_rate", "type_share_4w", "hh_baskets", "hh_baskets_4w", "hh_distinct",
    "hh_last_age", "hh_new_share", "hh_new_4w", "hh_return_rate", "type_baskets", "type_recent",
    "type_distinct", "type_share", "cat_baskets", "cat_recent", "item_cf", "item_cf_z", "neigh",
    "neigh_wide", "neigh_new", "segment_pop", "lfm", "lfm_z", "promo_display", "promo_mailer",
]  # fmt: skip
OWN = ["own_baskets", "own_last_age", "own_first_age", "own_interval", "overdue", "own_share",
       "own_deal_share", "is_winback"]  # fmt: skip
RANKED = ["neigh", "neigh_wide", "neigh_new", "item_cf", "segment_pop", "lfm", "pop_4w",
          "new_rate", "return_rate", "type_baskets"]  # fmt: skip
FEATURES = OWN + SHARED + [f"{c}_r" for c in RANKED]
DISCOVERY_FEATURES = SHARED + [f"{c}_r" for c in RANKED]
OFFER_RANKER = RankerSettings(iterations=150, learning_rate=0.05, min_leaf=30)


@dataclass
class CandidateSettings:
    winback: int = 150  # lapsed products per household, most baskets first
    popular: int = 30  # per source, never-bought products unless said otherwise
    similar: int = 40
    neighbours: int = 40
    segment: int = 20
    hybrid: int = 40
    neighbour_count: int = 50
    wide_neighbour_count: int = 200
    min_sold: int = 20
    chunk: int = 256


@dataclass
class Signals:
    """What the history says at ``at``: tables for features, matrices for the score sources."""

    at: pd.Timestamp
    rows: pd.Index  # households (matrix rows)
    cols: pd.Index  # offerable products (matrix columns)
    own: pd.DataFrame  # per (household, product) bought before ``at``
    items: pd.DataFrame  # per offerable product
    people: pd.DataFrame  # per household
    types: pd.DataFrame  # per (household, type)
    cats: pd.DataFrame  # per (household, category)
    ever: sp.csr_matrix  # rows x cols: bought before
    recent: sp.csr_matrix  # rows x cols: bought within RECENT
    co_user: np.ndarray  # rows x rows: household items x item-normalised buyers (item CF)
    co_items: sp.csr_matrix  # cols x rows: item-normalised buyers of offerable products
    neighbours: sp.csr_matrix  # rows x rows: weights of each household's similar households
    wide: sp.csr_matrix  # the same with more neighbours
    bought_4w: sp.csr_matrix  # rows x cols: bought within POPULAR
    adopted: sp.csr_matrix  # rows x cols: first bought within POPULAR
    segment: np.ndarray  # per row: index into segment_pop
    segment_pop: np.ndarray  # segments x cols: share of the segment's households buying lately
    lfm: tuple | None = None  # (user vectors, user biases, item vectors, item biases)


def _matrix(frame: pd.DataFrame, rows: pd.Index, cols: pd.Index, values=None) -> sp.csr_matrix:
    r = rows.get_indexer(frame["household"])
    c = cols.get_indexer(frame["product"])
    ok = (r >= 0) & (c >= 0)
    v = np.ones(ok.sum()) if values is None else np.asarray(values, dtype=np.float64)[ok]
    return sp.csr_matrix((v, (r[ok], c[ok])), shape=(len(rows), len(cols)))


def _nearest(sim: np.ndarray, m: int) -> sp.csr_matrix:
    """Row-normalised weights of each row's ``m`` most similar other rows."""
    m = min(m, len(sim) - 1)
    if m < 1:
        return sp.csr_matrix(sim.shape)
    near = np.argpartition(-sim, m - 1, axis=1)[:, :m]
    w = np.take_along_axis(sim, near, axis=1)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)
    r = np.repeat(np.arange(len(sim)), m)
    return sp.csr_matrix((w.ravel(), (r, near.ravel())), shape=sim.shape)


def signals(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    hybrid: HybridModel | None = None,
    extra: Iterable[int] = (),
    settings: CandidateSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> Signals:
    """Everything computed once per offer date; ``extra`` adds households with no history;
    ``promotions`` is the store's calendar (``RetailData.promotions``), if it has one."""
    s = settings or CandidateSettings()
    at = pd.Timestamp(at)
    lines = purchases[(purchases["ts"] < at) & purchases["product"].isin(products.index)]
    age = (at - lines["ts"]).dt.total_seconds().to_numpy() / 86_400.0
    lines = lines[["household", "product", "basket", "discount"]].assign(
        age=age, deal=(lines["discount"] > 0).to_numpy(dtype=float)
    )
    lines = lines.join(products[["type", "category"]], on="product")
    bb = lines.drop_duplicates(["household", "product", "basket"])
    own = bb.groupby(["household", "product"]).agg(
        own_baskets=("basket", "size"), own_last_age=("age", "min"), own_first_age=("age", "max")
    )
    own["own_deal_share"] = lines.groupby(["household", "product"])["deal"].mean()
    own = own.reset_index()
    rows = pd.Index(np.union1d(bb["household"].unique(), np.asarray(list(extra), dtype=np.int64)))
    sold = bb.loc[bb["age"] <= POPULAR.days, "product"].unique()
    cols = pd.Index(np.sort(sold)) if len(sold) >= s.min_sold else products.index.sort_values()

    recent_bb, bb4 = bb[bb["age"] <= RECENT.days], bb[bb["age"] <= POPULAR.days]
    items = pd.DataFrame(index=cols)
    items["pop_4w"] = bb4.groupby("product").size().reindex(cols, fill_value=0)
    items["pop_1w"] = bb[bb["age"] <= 7].groupby("product").size().reindex(cols, fill_value=0)
    prev = recent_bb[recent_bb["age"] > POPULAR.days]
    items["pop_prev"] = prev.groupby("product").size().reindex(cols, fill_value=0)
    items["trend"] = (items["pop_4w"] + 1) / (items["pop_prev"] + 1)
    items["buyers_4w"] = bb4.groupby("product")["household"].nunique().reindex(cols).fillna(0)
    per_product = own.groupby("product")
    items["buyers_all"] = per_product.size().reindex(cols, fill_value=0)
    items["repeat_rate"] = (own["own_baskets"] >= 2).groupby(own["product"]).mean().reindex(cols)
    items["product_age"] = per_product["own_first_age"].max().reindex(cols).fillna(0.0)
    p = products.reindex(cols)
    items["price"] = p["price"].astype(float)
    items["rel_price"] = p["price"] / p.groupby("type")["price"].transform("median")
    items["private_label"] = p["private_label"].astype(float)
    items["deal_rate"] = lines[lines["age"] <= POPULAR.days].groupby("product")["deal"].mean()
    type_pop = items["pop_4w"].groupby(p["type"]).transform("sum").replace(0, np.nan)
    items["type_share_4w"] = items["pop_4w"] / type_pop
    items[["type", "category"]] = p[["type", "category"]]
    items["promo_display"], items["promo_mailer"] = planned_promotions(promotions, cols, at)
    # The labels' own question asked one horizon back: which (household, product) pairs lapsed
    # (or never bought) at ``at - 4 weeks`` were bought in the 4 weeks since.
    window = POPULAR.days
    pair = pd.MultiIndex.from_frame(own[["household", "product"]])
    prev = bb[bb["age"] > window].groupby(["household", "product"])["age"].min()
    before = own.assign(prev=prev.reindex(pair).to_numpy())
    came = before["own_last_age"] <= window
    lapsed_then = before["prev"] > window + RECENT.days
    first = came & before["prev"].isna()
    items["return_rate"] = (came & lapsed_then).groupby(before["product"]).sum().reindex(cols) / (
        lapsed_then.groupby(before["product"]).sum().reindex(cols).replace(0, np.nan)
    )
    items["new_buyers"] = first.groupby(before["product"]).sum().reindex(cols).fillna(0)
    n_active = max(bb4["household"].nunique(), 1)
    had = before["prev"].notna().groupby(before["product"]).sum().reindex(cols).fillna(0)
    items["new_rate"] = items["new_buyers"] / np.maximum(n_active - had, 1)

    people = pd.DataFrame(index=rows)
    people["hh_baskets"] = bb.groupby("household")["basket"].nunique()
    people["hh_baskets_4w"] = bb4.groupby("household")["basket"].nunique()
    people["hh_distinct"] = own.groupby("household").size()
    people["hh_last_age"] = bb.groupby("household")["age"].min()
    new = own[own["own_first_age"] <= RECENT.days].groupby("household").size()
    people["hh_new_share"] = new / recent_bb.groupby("household")["product"].nunique()
    people["hh_new_4w"] = first.groupby(before["household"]).sum()
    people["hh_return_rate"] = (came & lapsed_then).groupby(before["household"]).sum() / (
        lapsed_then.groupby(before["household"]).sum().replace(0, np.nan)
    )
    people = people.fillna({"hh_last_age": NEVER, "hh_return_rate": -1.0}).fillna(0.0)

    def per(key: str, prefix: str) -> pd.DataFrame:
        out = bb.groupby(["household", key]).agg(
            **{
                f"{prefix}_baskets": ("basket", "nunique"),
                f"{prefix}_distinct": ("product", "nunique"),
            }
        )
        out[f"{prefix}_recent"] = recent_bb.groupby(["household", key])["basket"].nunique()
        return out.fillna(0.0).reset_index()

    types, cats = per("type", "type"), per("category", "cat").drop(columns="cat_distinct")
    types["type_share"] = types["type_baskets"] / types["household"].map(people["hh_baskets"])

    # Item CF: score(h, j) = sum over h's products i of cosine(i, j), computed as
    # (x_h . Xn^T) . Xn[:, j] through the households, never as a products x products matrix.
    everything = pd.Index(np.union1d(own["product"].unique(), cols))
    x = _matrix(own, rows, everything)
    xn = x.multiply(1.0 / np.sqrt(np.maximum(np.asarray(x.sum(axis=0)).ravel(), 1.0))).tocsr()
    co_user = (x @ xn.T).toarray().astype(np.float32)
    co_items = xn[:, everything.get_indexer(cols)].T.tocsr()

    # Similar households: cosine over log basket counts, the nearest ``neighbour_count``.
    v = _matrix(own, rows, everything, np.log1p(own["own_baskets"]))
    norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=1)).ravel())
    v = sp.diags(1.0 / np.maximum(norms, 1e-9)) @ v
    sim = (v @ v.T).toarray()
    np.fill_diagonal(sim, 0.0)
    neighbours = _nearest(sim, s.neighbour_count)
    wide = _nearest(sim, s.wide_neighbour_count)
    bought_4w = _matrix(bb4.drop_duplicates(["household", "product"]), rows, cols)
    adopted = _matrix(own[own["own_first_age"] <= window], rows, cols)

    demo = households.reindex(rows)
    comp = demo.get("household_comp", pd.Series(index=rows, dtype=object))
    seg_codes, _ = pd.factorize(comp.fillna("?").astype(str))
    shape = (max(seg_codes.max(initial=-1) + 1, 1), len(rows))
    onehot = sp.csr_matrix((np.ones(len(rows)), (seg_codes, np.arange(len(rows)))), shape=shape)
    active = (people["hh_baskets_4w"] > 0).to_numpy(dtype=float)
    seg_n = np.maximum(onehot @ active, 1.0)
    segment_pop = np.asarray((onehot @ bought_4w).todense()) / seg_n[:, None]

    lfm = None
    if hybrid is not None:
        uv = [hybrid.user_vector(int(h), features_of(households, int(h))) for h in rows]
        ic = hybrid.item_columns(cols)
        iv = np.where((ic >= 0)[:, None], hybrid.item_vectors[np.maximum(ic, 0)], 0.0)
        ib = np.where(ic >= 0, hybrid.item_biases[np.maximum(ic, 0)], np.nan)
        lfm = (np.stack([u for u, _ in uv]), np.array([b for _, b in uv]), iv, ib)
    ever = _matrix(own, rows, cols)
    recent = _matrix(own[own["own_last_age"] <= RECENT.days], rows, cols)
    return Signals(
        at, rows, cols, own, items, people, types, cats, ever, recent, co_user, co_items,
        neighbours, wide, bought_4w, adopted, seg_codes, segment_pop, lfm,
    )  # fmt: skip


def _top(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the ``k`` best finite entries of each row."""
    k = min(k, block.shape[1])
    if k <= 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    top = np.argpartition(-block, k - 1, axis=1)[:, :k]
    r = np.repeat(np.arange(block.shape[0]), k)
    ok = np.isfinite(block[r, top.ravel()])
    return r[ok], top.ravel()[ok]


def candidates(
    sig: Signals, households: Iterable[int] | None = None, settings: CandidateSettings | None = None
) -> pd.DataFrame:
    """Candidate (household, product) pairs with the matrix-based scores of each source."""
    s = settings or CandidateSettings()
    wanted = sig.rows if households is None else sig.rows.intersection(pd.Index(households))
    idx = sig.rows.get_indexer(wanted)
    lapsed = sig.own[sig.own["product"].isin(sig.cols) & (sig.own["own_last_age"] > RECENT.days)]
    lapsed = lapsed[lapsed["household"].isin(wanted)].sort_values(
        ["household", "own_baskets", "own_last_age"], ascending=[True, False, True]
    )
    lapsed = lapsed.groupby("household").head(s.winback)
    lapsed_rows = sig.rows.get_indexer(lapsed["household"])
    lapsed_cols = sig.cols.get_indexer(lapsed["product"])
    pop = sig.items["pop_4w"].to_numpy(dtype=np.float64)
    frames = []
    for start in range(0, len(idx), s.chunk):
        r = idx[start : start + s.chunk]
        ever = sig.ever[r].toarray() > 0
        recent = sig.recent[r].toarray() > 0
        blocks = {
            "item_cf": (sig.co_items @ sig.co_user[r].T).T,
            "neigh": (sig.neighbours[r] @ sig.bought_4w).toarray(),
            "neigh_wide": (sig.wide[r] @ sig.bought_4w).toarray(),
            "neigh_new": (sig.neighbours[r] @ sig.adopted).toarray(),
            "segment_pop": sig.segment_pop[sig.segment[r]],
            "pop_4w": np.broadcast_to(pop, ever.shape),
        }
        if sig.lfm is not None:
            uv, ub, iv, ib = sig.lfm
            blocks["lfm"] = uv[r] @ iv.T + ub[r, None] + ib[None, :]
        picks = [_top(np.where(recent, -np.inf, blocks["pop_4w"]), s.popular)]
        picks.append(_top(np.where(ever, -np.inf, blocks["pop_4w"]), s.popular))
        for key, k in (("item_cf", s.similar), ("neigh", s.neighbours),
                       ("segment_pop", s.segment), ("lfm", s.hybrid)):  # fmt: skip
            if key in blocks:
                b = blocks[key]
                keep = ~ever & np.isfinite(b) & ((b > 0) if key != "lfm" else True)
                picks.append(_top(np.where(keep, b, -np.inf), k))
        mine = np.isin(lapsed_rows, r)
        pos = pd.Series(np.arange(len(r)), index=r)
        picks.append((pos.reindex(lapsed_rows[mine]).to_numpy(), lapsed_cols[mine]))
        pr = np.concatenate([a for a, _ in picks]).astype(int)
        pc = np.concatenate([b for _, b in picks]).astype(int)
        pairs = np.unique(np.stack([pr, pc], axis=1), axis=0)
        pr, pc = pairs[:, 0], pairs[:, 1]
        frame = pd.DataFrame({"household": sig.rows[r[pr]], "product": sig.cols[pc]})
        for key, block in blocks.items():
            if key != "pop_4w":
                frame[key] = block[pr, pc]
            if key in ("item_cf", "lfm"):  # the household's own scale
                mean, std = np.nanmean(block, axis=1), np.nanstd(block, axis=1)
                frame[f"{key}_z"] = (block[pr, pc] - mean[pr]) / np.maximum(std[pr], 1e-9)
        frame["is_winback"] = ever[pr, pc].astype(float)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["household", "product", "is_winback"])
    return pd.concat(frames, ignore_index=True)


def planned_promotions(
    promotions: pd.DataFrame | None, cols: pd.Index, at: pd.Timestamp
) -> tuple[pd.Series, pd.Series]:
    """Weeks of the offer period (the week holding ``at`` and the next ones up to ``HORIZON``)
    in which each product is on display / in the mailer. A store plans its displays and
    mailers weeks ahead, so its calendar is known when offers are chosen; Complete Journey's
    promotions table is that calendar (any store). Zero without one."""
    zero = pd.Series(0.0, index=cols)
    if promotions is None or promotions.empty:
        return zero, zero.copy()
    week = promotions["week"]
    now = promotions[(week > at - pd.Timedelta(days=7)) & (week < at + HORIZON)]
    weeks = now.groupby("product")[["display", "mailer"]].sum().astype(float)
    weeks = weeks.reindex(cols).fillna(0.0)
    return weeks["display"], weeks["mailer"]


def offer_features(sig: Signals, cands: pd.DataFrame) -> pd.DataFrame:
    """Candidates joined with the household's, the product's and the pair's statistics."""
    f = cands.merge(sig.own, on=["household", "product"], how="left")
    f = f.join(sig.items, on="product").join(sig.people, on="household")
    f = f.merge(sig.types, on=["household", "type"], how="left")
    f = f.merge(sig.cats, on=["household", "category"], how="left")
    f["own_last_age"] = f["own_last_age"].fillna(NEVER)
    f["own_first_age"] = f["own_first_age"].fillna(NEVER)
    f["own_baskets"] = f["own_baskets"].fillna(0.0)
    span = (f["own_first_age"] - f["own_last_age"]) / (f["own_baskets"] - 1).clip(lower=1)
    f["own_interval"] = span.clip(lower=1.0).where(f["own_baskets"] > 1, NEVER)
    f["overdue"] = (f["own_last_age"] / f["own_interval"]).where(f["own_baskets"] > 1, 0.0)
    f["own_share"] = f["own_baskets"] / f["hh_baskets"].replace(0, np.nan)
    for col in FEATURES:
        if col not in f:
            f[col] = np.nan
    fill = ["type_baskets", "type_recent", "type_distinct", "type_share", "cat_baskets",
            "cat_recent", "own_share", "hh_baskets", "hh_baskets_4w", "hh_distinct"]  # fmt: skip
    f[fill] = f[fill].fillna(0.0)
    # Only the order within a household matters: its ranks say what the raw scales cannot.
    g = f.groupby("household")
    for col in RANKED:
        f[f"{col}_r"] = g[col].rank(pct=True)
    return f
