"""What goes in the household's next basket: repeats that are due, plus a little discovery.

Candidates per household: its own items with the strongest TIFU-KNN scores (which already mix
its own time-decayed frequency with its neighbours'), the recent best sellers and LightFM's
picks (discovery). Features say how often the household buys the item, how due it is (days
since the last purchase against the household's own interval for it), how popular it is lately
and what LightFM thinks. A gradient-boosted ranker (``recommender.ranker``) orders them.

For a household with no history only the item side and LightFM's demographic score remain:
``cold_frame`` builds those candidates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.baselines import tifu_top
from recommender.history import NEVER, History
from recommender.hybrid import HybridModel, features_of

OWN_CANDIDATES = 40
POPULAR_CANDIDATES = 30
HYBRID_CANDIDATES = 10
COLD_POPULAR = 100
COLD_HYBRID = 50

FEATURES = [
    "tifu",
    "tifu_rank",
    "own_baskets",
    "own_share",
    "own_decayed",
    "own_age",
    "interval",
    "due",
    "hh_baskets",
    "hh_age",
    "pop_recent",
    "pop_week",
    "pop_all",
    "repeat_rate",
    "lfm_score",
    "lfm_rank",
]
COLD_FEATURES = [
    "pop_recent",
    "pop_week",
    "pop_all",
    "repeat_rate",
    "segment_pop",
    "lfm_score",
    "lfm_rank",
]


def basket_frame(
    history: History,
    train: pd.DataFrame,
    households: pd.Index,
    hybrid: HybridModel | None,
    demographics: pd.DataFrame,
    strangers: bool = False,
) -> pd.DataFrame:
    """Candidates and features for households that have history (``strangers``: LightFM reads
    only their demographics, as for households that joined after it was fitted, even if it
    has learned a vector for them)."""
    tifu = tifu_top(train, households.to_numpy(), OWN_CANDIDATES)
    popular = _popular(history, POPULAR_CANDIDATES)
    extra = [_everyone(households, popular)]
    if hybrid is not None:
        extra.append(
            _hybrid_top(history, hybrid, households, demographics, HYBRID_CANDIDATES, strangers)
        )
    frame = pd.concat([tifu, *extra], ignore_index=True).drop_duplicates(["household", "product"])
    frame["tifu"] = frame["tifu"].fillna(0.0)
    frame["tifu_rank"] = frame["tifu_rank"].fillna(OWN_CANDIDATES + 1)
    return _features(history, frame, hybrid, demographics, strangers=strangers)


def cold_frame(
    history: History, households: pd.Index, hybrid: HybridModel | None, demographics: pd.DataFrame
) -> pd.DataFrame:
    """Candidates for households known only by their demographics."""
    popular = _popular(history, COLD_POPULAR)
    parts = [_everyone(households, popular)]
    if hybrid is not None:
        parts.append(_hybrid_top(history, hybrid, households, demographics, COLD_HYBRID, True))
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(["household", "product"])
    frame = _features(history, frame, hybrid, demographics, cold=True)
    frame["segment_pop"] = _segment_popularity(history, frame, demographics)
    return frame


def _everyone(households: pd.Index, products: np.ndarray) -> pd.DataFrame:
    """Every household paired with every one of ``products``."""
    return pd.DataFrame(
        {
            "household": np.repeat(households.to_numpy(), len(products)),
            "product": np.tile(products, len(households)),
        }
    )


def _popular(history: History, n: int) -> np.ndarray:
    pop = history.popularity
    return pop.sort_values(["recent", "all"], ascending=False).index[:n].to_numpy()


def _user(hybrid: HybridModel, household: int, demographics: pd.DataFrame, cold: bool) -> tuple:
    feats = features_of(demographics, household)
    return hybrid.user_vector(None if cold else household, feats)


def _hybrid_top(history, hybrid, households, demographics, n, cold=False) -> pd.DataFrame:
    active = history.active_products
    active = active[hybrid.item_columns(active) >= 0]
    cols = hybrid.item_columns(active)
    vectors, biases = hybrid.item_vectors[cols], hybrid.item_biases[cols]
    rows = []
    for household in households:
        vec, bias = _user(hybrid, household, demographics, cold)
        scores = vectors @ vec + biases + bias
        top = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
        rows.append(pd.DataFrame({"household": household, "product": active[top].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def _features(
    history, frame, hybrid, demographics, cold: bool = False, strangers: bool = False
) -> pd.DataFrame:
    f = frame.reset_index(drop=True)
    pop = history.popularity.reindex(f["product"])
    total = max(history.lines["basket"].nunique(), 1)
    recent_total = max(history.lines.loc[history.lines["age"] <= 56, "basket"].nunique(), 1)
    f["pop_recent"] = pop["recent"].to_numpy() / recent_total
    f["pop_all"] = pop["all"].to_numpy() / total
    # shares of all of last week's sales, not of the frame's rows: a household's features must
    # not depend on how many others are scored beside it
    f["pop_week"] = pop["last_week"].to_numpy() / max(history.popularity["last_week"].sum(), 1)
    f["repeat_rate"] = pop["repeat_rate"].to_numpy()
    if not cold:
        own = history.own.set_index(["household", "product"])
        key = pd.MultiIndex.from_frame(f[["household", "product"]])
        got = own.reindex(key)
        hh = history.households.reindex(f["household"])
        f["own_baskets"] = got["baskets"].fillna(0).to_numpy()
        f["hh_baskets"] = hh["baskets"].to_numpy()
        f["own_share"] = f["own_baskets"] / f["hh_baskets"]
        f["own_decayed"] = got["decayed"].fillna(0).to_numpy()
        f["own_age"] = got["last_age"].fillna(NEVER).to_numpy()
        span = got["first_age"].to_numpy() - got["last_age"].to_numpy()
        repeats = f["own_baskets"].to_numpy() - 1
        f["interval"] = np.where(repeats > 0, span / np.maximum(repeats, 1), np.nan)
        f["due"] = f["own_age"] / f["interval"]
        last_basket = history.lines.groupby("household")["age"].min()
        f["hh_age"] = last_basket.reindex(f["household"]).to_numpy()
    f["lfm_score"], f["lfm_rank"] = _lfm(f, hybrid, demographics, cold or strangers)
    return f


def _lfm(f: pd.DataFrame, hybrid, demographics, cold: bool) -> tuple:
    if hybrid is None:
        return np.zeros(len(f)), np.zeros(len(f))
    scores = np.empty(len(f))
    for household, idx in f.groupby("household").indices.items():
        feats = features_of(demographics, household)
        scores[idx] = hybrid.scores(
            None if cold else household, f["product"].to_numpy()[idx], feats
        )
    scores[~np.isfinite(scores)] = np.nan
    rank = pd.Series(scores).groupby(f["household"].to_numpy()).rank(ascending=False)
    return scores, rank.to_numpy()


def _segment_popularity(history: History, frame: pd.DataFrame, demographics: pd.DataFrame):
    """Basket share of each item among households of the same composition."""
    comp = demographics.get("household_comp")
    if comp is None:
        return np.zeros(len(frame))
    lines = history.lines.drop_duplicates(["household", "product", "basket"])
    seg = comp.reindex(lines["household"]).to_numpy()
    counts = lines.assign(seg=seg).groupby(["seg", "product"]).size()
    baskets = lines.assign(seg=seg).groupby("seg")["basket"].nunique()
    share = counts / baskets.reindex(counts.index.get_level_values(0)).to_numpy()
    key = pd.MultiIndex.from_arrays([comp.reindex(frame["household"]).to_numpy(), frame["product"]])
    return share.reindex(key).fillna(0.0).to_numpy()
