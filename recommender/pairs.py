"""Which product of a type will this household buy? Candidates and their features.

A query is a (household, product type, time) triple: "ketchup", said by household 42, today.
Candidates are the products worth ranking: everything the household bought in the type, the
type's recent bestsellers, LightFM's picks for the household in the type, and the best sellers
of the household's usual manufacturer (substitution within a brand: the 32 oz instead of the
20 oz). Each candidate gets features a shop would recognise: how often and how lately the
household bought it, how loyal the household is in the type, price against the household's
usual, label and brand habits, this week's display and mailer, its share of the type's sales in
the last 7 and 28 days (``recommender.sales``), LightFM's score, and what the most similar
households chose in the type (``recommender.neighbours``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.history import NEVER, History
from recommender.hybrid import HybridModel, features_of
from recommender.neighbours import Neighbours
from recommender.sales import FEATURES as SALES_FEATURES
from recommender.sales import RecentSales
from recommender.store_promotions import StorePromotions

POPULAR_CANDIDATES = 5
HYBRID_CANDIDATES = 5
BRAND_CANDIDATES = 3
PROMO_CANDIDATES = 3

FEATURES = [
    "own_baskets",
    "own_share",
    "own_rank",
    "own_age",
    "own_decayed",
    "is_last",
    "is_usual",
    "own_price_ratio",
    "mfr_share",
    "same_mfr_as_last",
    "same_size_as_usual",
    "price_vs_usual",
    "type_baskets",
    "type_distinct",
    "switch_rate",
    "type_age",
    "share_all",
    "share_recent",
    "rank_recent",
    "rel_price",
    "private_label",
    "hh_private_share",
    "label_match",
    "hh_deal_share",
    "discount_rate",
    "deal_match",
    "display",
    "mailer",
    "store_display",
    "store_mailer",
    "mfr_other",
    "mfr_category",
    "mfr_category_share",
    "own_deal_share",
    "in_last3",
    "repeat_rate",
    "buyers",
    "first_share",
    "household_share",
    "share_week",
    "product_age",
    "trend",
    "week_discount",
    "week_seen",
    "decayed_rel",
    "recent_rel",
    "price_rank",
    "candidates",
    "lfm_score",
    "lfm_gap",
    "hh_price_index",
    "similar_share",
    *SALES_FEATURES,
]


def pair_queries(history: History, window: pd.DataFrame, products: pd.DataFrame) -> tuple:
    """Split the first purchase of each (household, type) in ``window`` into warm and cold
    queries (type bought before or not) and return (warm, cold, truth) frames.

    ``truth`` lists, per query id, the products of the type in that first basket.
    """
    lines = window.join(products[["type"]], on="product")
    lines = lines[lines["household"].isin(history.households.index)]
    first = lines.sort_values(["ts", "basket"]).drop_duplicates(["household", "type"])
    first = first[["household", "type", "basket", "ts"]].rename(columns={"ts": "qtime"})
    first = first.reset_index(drop=True)
    first["qid"] = np.arange(len(first))
    truth = lines.merge(first[["household", "type", "basket", "qid"]])[["qid", "product"]]
    truth = truth.drop_duplicates()
    known = history.own_type.set_index(["household", "type"]).index
    is_warm = pd.MultiIndex.from_frame(first[["household", "type"]]).isin(known)
    cols = ["qid", "household", "type", "qtime"]
    return first.loc[is_warm, cols], first.loc[~is_warm, cols], truth


def hybrid_top(
    hybrid: HybridModel,
    queries: pd.DataFrame,
    allowed: pd.Index,
    type_of: pd.Series,
    households: pd.DataFrame,
    n: int,
) -> pd.DataFrame:
    """LightFM's top ``n`` products of the query's type, among ``allowed`` products."""
    allowed = allowed[hybrid.item_columns(allowed) >= 0]
    cols = hybrid.item_columns(allowed)
    by_type = pd.Series(np.arange(len(allowed))).groupby(type_of.reindex(allowed).to_numpy())
    positions = {t: idx.to_numpy() for t, idx in by_type}
    rows = []
    vectors, biases = hybrid.item_vectors[cols], hybrid.item_biases[cols]
    for household, group in queries.groupby("household"):
        feats = features_of(households, household)
        vec, bias = hybrid.user_vector(household, feats)
        scores = vectors @ vec + biases + bias
        for qid, typ in zip(group["qid"], group["type"], strict=True):
            pos = positions.get(typ)
            if pos is None:
                continue
            top = pos[np.argsort(-scores[pos])[:n]]
            rows.extend((qid, int(allowed[i])) for i in top)
    return pd.DataFrame(rows, columns=["qid", "product"])


def candidates(
    history: History,
    queries: pd.DataFrame,
    hybrid: HybridModel | None,
    households: pd.DataFrame,
    promotions: pd.DataFrame | None = None,
    *,
    popular: int = POPULAR_CANDIDATES,
    from_hybrid: int = HYBRID_CANDIDATES,
    sales: RecentSales | None = None,
) -> pd.DataFrame:
    pop = history.popularity
    active = pop[pop["recent"] > 0]
    parts = []
    own = history.own[["household", "type", "product"]].merge(queries, on=["household", "type"])
    parts.append(own[["qid", "product"]])
    top = active[active["rank_recent"] <= popular].reset_index()[["product", "type"]]
    parts.append(queries.merge(top, on="type")[["qid", "product"]])
    usual = history.own_type[["household", "type", "usual_manufacturer"]].merge(
        queries, on=["household", "type"]
    )
    same_brand = active.reset_index()[["product", "type", "manufacturer", "recent"]]
    same_brand = usual.merge(
        same_brand, left_on=["type", "usual_manufacturer"], right_on=["type", "manufacturer"]
    )
    same_brand = (
        same_brand.sort_values("recent", ascending=False).groupby("qid").head(BRAND_CANDIDATES)
    )
    parts.append(same_brand[["qid", "product"]])
    if promotions is not None and not promotions.empty:
        parts.append(_promoted(queries, active, promotions))
    if sales is not None:
        parts.append(sales.best_sellers(queries, popular))
    if hybrid is not None and from_hybrid:
        parts.append(
            hybrid_top(hybrid, queries, active.index, pop["type"], households, from_hybrid)
        )
    cands = pd.concat(parts, ignore_index=True).astype("int64").drop_duplicates()
    return cands.merge(queries, on="qid")


def _promoted(queries: pd.DataFrame, active: pd.DataFrame, promotions: pd.DataFrame):
    """The type's best sellers on display or in the mailer in the week of the query."""
    q = queries.assign(week=_week_of(queries["qtime"], promotions))
    promo = promotions[promotions["display"] | promotions["mailer"]][["product", "week"]]
    promo = promo.join(active[["type", "recent"]], on="product", how="inner")
    hits = q.merge(promo, on=["type", "week"]).sort_values("recent", ascending=False)
    return hits.groupby("qid").head(PROMO_CANDIDATES)[["qid", "product"]]


def _week_of(times: pd.Series, promotions: pd.DataFrame) -> np.ndarray:
    """The calendar week each time falls in, NaT where the calendar has no week for it (a
    store's calendar skips the weeks it promoted nothing: those are not last week's)."""
    weeks = np.sort(promotions["week"].unique())
    t = times.to_numpy()
    pos = np.searchsorted(weeks, t, side="right") - 1
    week = weeks[np.clip(pos, 0, len(weeks) - 1)]
    inside = (pos >= 0) & (t - week < np.timedelta64(7, "D"))
    return np.where(inside, week, np.datetime64("NaT"))


def week_prices(purchases: pd.DataFrame) -> pd.DataFrame:
    """Running discount per product within each calendar week, for "this week's price".

    A live shop knows its prices; on Complete Journey they are read off the lines bought
    earlier the same week, strictly before the question (never the question's own basket;
    an earlier trip of the same household that week counts, as any other line does)."""
    lines = purchases[["household", "product", "ts", "paid", "discount"]].sort_values("ts")
    lines = lines.assign(week=lines["ts"].dt.to_period("W").dt.start_time)
    grouped = lines.groupby(["product", "week"])
    lines["cum_discount"] = grouped["discount"].cumsum()
    lines["cum_gross"] = grouped["paid"].cumsum() + lines["cum_discount"]
    return lines


def features(
    history: History,
    cands: pd.DataFrame,
    hybrid: HybridModel | None,
    households: pd.DataFrame,
    promotions: pd.DataFrame | None,
    prices: pd.DataFrame | None = None,
    sales: RecentSales | None = None,
    neighbours: Neighbours | None = None,
    own_products: dict[int, pd.Index] | None = None,
    store_promotions: StorePromotions | None = None,
) -> pd.DataFrame:
    """One row per candidate with the columns in ``FEATURES`` (the ``sales`` ones missing
    without ``sales``, ``similar_share`` without ``neighbours``; ``own_products``: households'
    product sets for it, when they differ from the ones ``neighbours`` stores;
    ``store_promotions``: each store's calendar, for a chain, read at the household's main
    store; without it the shop's own calendar is the household's store's)."""
    f = cands.copy()
    own = history.own.set_index(["household", "product"])
    key = pd.MultiIndex.from_frame(f[["household", "product"]])
    f["own_baskets"] = own["baskets"].reindex(key).fillna(0).to_numpy()
    f["own_age"] = own["last_age"].reindex(key).fillna(NEVER).to_numpy()
    f["own_decayed"] = own["decayed"].reindex(key).fillna(0).to_numpy()
    own_paid = own["unit_paid"].reindex(key).to_numpy()
    f["own_deal_share"] = own["deal_share"].reindex(key).to_numpy()
    f["in_last3"] = own["in_last3"].reindex(key).fillna(0).to_numpy()

    ot = history.own_type.set_index(["household", "type"])
    tkey = pd.MultiIndex.from_frame(f[["household", "type"]])
    pair = ot.reindex(tkey)
    f["type_baskets"] = pair["baskets"].fillna(0).to_numpy()
    f["type_distinct"] = pair["distinct"].fillna(0).to_numpy()
    f["switch_rate"] = pair["switch_rate"].fillna(-1).to_numpy()
    f["type_age"] = pair["last_age"].fillna(NEVER).to_numpy()
    f["own_share"] = f["own_baskets"] / f["type_baskets"].replace(0, np.nan)
    f["own_share"] = f["own_share"].fillna(0)
    f["own_rank"] = f.groupby("qid")["own_baskets"].rank(ascending=False, method="min")
    f.loc[f["own_baskets"] == 0, "own_rank"] = 99
    f["is_last"] = (pair["last_product"].to_numpy() == f["product"].to_numpy()).astype(float)
    f["is_usual"] = (pair["usual_product"].to_numpy() == f["product"].to_numpy()).astype(float)

    pop = history.popularity.reindex(f["product"])
    for col in (
        "share_all",
        "share_recent",
        "rank_recent",
        "rel_price",
        "private_label",
        "first_share",
        "household_share",
        "share_week",
        "product_age",
    ):
        f[col] = pop[col].to_numpy()
    f["discount_rate"] = pop["discount_rate"].to_numpy()
    f["repeat_rate"] = pop["repeat_rate"].to_numpy()
    f["buyers"] = np.log1p(pop["buyers"].to_numpy())
    f["trend"] = (pop["share_recent"] / pop["share_all"].where(pop["share_all"] > 0)).to_numpy()
    f["own_price_ratio"] = _ratio(own_paid, pop["price"].to_numpy())
    mfr = pop["manufacturer"].to_numpy()
    f["same_mfr_as_last"] = (pair["last_manufacturer"].to_numpy() == mfr).astype(float)
    f["same_size_as_usual"] = (pair["usual_size"].to_numpy() == pop["size"].to_numpy()).astype(
        float
    )
    f["price_vs_usual"] = _ratio(pop["price"].to_numpy(), pair["usual_unit_paid"].to_numpy())

    mf = history.manufacturer.set_index(["household", "manufacturer"])["baskets"]
    mkey = pd.MultiIndex.from_arrays([f["household"].to_numpy(), mfr])
    mfr_total = mf.reindex(mkey).fillna(0).to_numpy()
    mfr_in_type = (
        (history.own.groupby(["household", "type", "manufacturer"])["baskets"].sum())
        .reindex(pd.MultiIndex.from_arrays([f["household"], f["type"], mfr]))
        .fillna(0)
        .to_numpy()
    )
    f["mfr_share"] = mfr_in_type / f["type_baskets"].replace(0, np.nan).to_numpy()
    f["mfr_share"] = f["mfr_share"].fillna(0)
    f["mfr_other"] = np.log1p(np.maximum(mfr_total - mfr_in_type, 0))
    f["mfr_category"], f["mfr_category_share"] = _category_brand(history, f, mfr, mfr_in_type)

    hh = history.households.reindex(f["household"])
    f["hh_private_share"] = hh["private_share"].to_numpy()
    f["label_match"] = np.where(
        f["private_label"] > 0, f["hh_private_share"], 1 - f["hh_private_share"]
    )
    f["hh_deal_share"] = hh["deal_share"].to_numpy()
    f["deal_match"] = f["hh_deal_share"] * f["discount_rate"]
    f["hh_price_index"] = hh["price_index"].to_numpy()

    f["display"], f["mailer"] = _promotions(f, promotions)
    if store_promotions is None:
        f["store_display"], f["store_mailer"] = f["display"], f["mailer"]
    else:
        f["store_display"], f["store_mailer"] = store_promotions.lookup(
            f["product"], hh["store"], f["qtime"]
        )
    f["week_discount"], f["week_seen"] = _week_discount(f, prices)
    f["lfm_score"], f["lfm_gap"] = _hybrid_scores(f, hybrid, households)
    f["similar_share"] = np.nan if neighbours is None else neighbours.share(f, own_products)
    recent = sales.features(f) if sales is not None else dict.fromkeys(SALES_FEATURES, np.nan)
    for name, values in recent.items():
        f[name] = values
    _query_relative(f)
    return f


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, missing where b is zero or missing (a free product has no price ratio)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = np.full(len(a), np.nan)
    ok = np.isfinite(b) & (b != 0)
    out[ok] = a[ok] / b[ok]
    return out


def _query_relative(f: pd.DataFrame) -> None:
    """Each candidate against the others of its query: trees score rows one at a time, so
    "the strongest recent habit among these" has to be spelled out."""
    by_query = f.groupby("qid")
    f["decayed_rel"] = f["own_decayed"] / by_query["own_decayed"].transform("max").replace(
        0, np.nan
    )
    f["recent_rel"] = f["share_recent"] / by_query["share_recent"].transform("max").replace(
        0, np.nan
    )
    f["price_rank"] = by_query["rel_price"].rank(method="average", pct=True)
    f["candidates"] = by_query["product"].transform("size")


def _category_brand(history: History, f: pd.DataFrame, mfr: np.ndarray, in_type: np.ndarray):
    """The household's baskets of this manufacturer in the product's wider category (other
    types only): Heinz mustard for a Heinz ketchup household, store-brand for store-brand."""
    category = history.popularity["category"].reindex(f["product"]).to_numpy()
    cm = history.category_manufacturer.set_index(["household", "category", "manufacturer"])
    key = pd.MultiIndex.from_arrays([f["household"].to_numpy(), category, mfr])
    same = np.maximum(cm["baskets"].reindex(key).fillna(0).to_numpy() - in_type, 0)
    totals = history.category_manufacturer.groupby(["household", "category"])["baskets"].sum()
    total = totals.reindex(pd.MultiIndex.from_arrays([f["household"].to_numpy(), category]))
    rest = total.fillna(0).to_numpy() - f["type_baskets"].to_numpy()
    share = np.where(rest > 0, same / np.maximum(rest, 1), np.nan)
    return np.log1p(same), share


def _promotions(f: pd.DataFrame, promotions: pd.DataFrame | None) -> tuple:
    if promotions is None or promotions.empty:
        zeros = np.zeros(len(f))
        return zeros, zeros
    promo = promotions.set_index(["product", "week"])
    key = pd.MultiIndex.from_arrays([f["product"].to_numpy(), _week_of(f["qtime"], promotions)])
    got = promo.reindex(key)
    return (
        got["display"].astype(float).fillna(0.0).to_numpy(),
        got["mailer"].astype(float).fillna(0.0).to_numpy(),
    )


def _week_discount(f: pd.DataFrame, prices: pd.DataFrame | None) -> tuple:
    """Discount share of what was paid for the product earlier in the query's week."""
    if prices is None:
        nans = np.full(len(f), np.nan)
        return nans, np.zeros(len(f))
    q = f[["product", "qtime"]].reset_index().sort_values("qtime")
    q["week"] = q["qtime"].dt.to_period("W").dt.start_time
    got = (
        pd.merge_asof(
            q,
            prices[["product", "week", "ts", "cum_discount", "cum_gross"]],
            left_on="qtime",
            right_on="ts",
            by=["product", "week"],
            allow_exact_matches=False,
        )
        .set_index("index")
        .reindex(f.index)
    )
    rate = got["cum_discount"] / got["cum_gross"].where(got["cum_gross"] > 0)
    return rate.to_numpy(), got["ts"].notna().astype(float).to_numpy()


def _hybrid_scores(f: pd.DataFrame, hybrid: HybridModel | None, households: pd.DataFrame):
    if hybrid is None:
        zeros = np.zeros(len(f))
        return zeros, zeros
    scores = np.empty(len(f))
    for household, idx in f.groupby("household").indices.items():
        feats = features_of(households, household)
        scores[idx] = hybrid.scores(household, f["product"].to_numpy()[idx], feats)
    scores[~np.isfinite(scores)] = np.nan
    gap = scores - pd.Series(scores).groupby(f["qid"].to_numpy()).transform("max").to_numpy()
    return scores, gap
