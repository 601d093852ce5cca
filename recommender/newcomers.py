"""New households as they shop: the held-out households' baskets through the test window.

The cold-start table (``basket_eval.cold_start_recs``) scores a held-out household's first
basket after the cutoff, when the shop knows nothing but its demographics. A household that
joins goes on shopping, and the live shop reads its orders as they come, with no retraining:
the resolver, the reminders and the offers all start from the household's own lines. This
table follows the same held-out households, joining at the cutoff (their purchases before it
are dropped), through the test window. At each weekly point it predicts each one's next basket
from what the shop knows then: everyone's purchases before the point, the newcomer's own since
the cutoff among them, and the models fitted before the cutoff, none of which has seen these
households.

Ours serves a newcomer that has shopped with the next-basket ranker, and one that has not with
the ranker for households known only by their demographics. That second ranker is also scored
on every basket as if the household had never shopped (the usual cold-start protocol: features
only, over all of a held-out user's test interactions). Every household weighs the same in the
table: its recall is the mean over its baskets. Popularity, for every method alike, counts
everyone's purchases before the point, the newcomers' among them.

A ranker that only learned from long histories meets a household with one or two baskets here
for the first time, so the next-basket ranker also learns from simulated joiners (``joiners``):
training households cut back to their last few weeks before a training point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender import baselines, nextbasket
from recommender.data import RetailData
from recommender.history import build_history
from recommender.hybrid import HybridModel
from recommender.metrics import household_recalls, paired_bootstrap
from recommender.ranker import Ranker, top_k

OURS_NEWCOMERS = "our rankers (demographics, then own baskets)"
DEMOGRAPHICS_ONLY = "new-household ranker (demographics only)"
STEP = pd.Timedelta(days=7)
#: The next-basket ranker also learns from simulated joiners (``joiners``): this share of the
#: households shopping before each training point, as if they had joined 1..JOIN_WEEKS weeks
#: before it (a newcomer's first two months). Without them it only ever saw long histories.
JOIN_SHARE = 0.25
JOIN_WEEKS = 8
#: Keys of the lists and answers: (household, week since it joined).
Unit = tuple[int, int]


def weekly_points(cutoff: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """The cutoff and every 7 days after it, before ``end``."""
    count = max(int(np.ceil((end - cutoff) / STEP)), 0)
    return [cutoff + i * STEP for i in range(count)]


@dataclass
class NewcomerLists:
    """Each method's lists and the answers by (household, week since joining), and the units
    where the household had already shopped since joining (the shop knew some of its own
    baskets)."""

    methods: dict[str, dict[Unit, list[int]]] = field(default_factory=dict)
    truth: dict[Unit, set[int]] = field(default_factory=dict)
    shopped: set[Unit] = field(default_factory=set)


def joiners(
    purchases: pd.DataFrame,
    point: pd.Timestamp,
    rng: np.random.Generator,
    share: float = JOIN_SHARE,
    weeks: int = JOIN_WEEKS,
) -> tuple[pd.DataFrame, pd.Index]:
    """The purchases before ``point`` as if ``share`` of the households shopping before it had
    joined a whole number of weeks (1..``weeks``, drawn by ``rng``) before it: their older
    lines dropped. The lines, and the joined households that have shopped since joining."""
    before = purchases[purchases["ts"] < point]
    ids = np.sort(before["household"].unique())
    chosen = np.sort(rng.choice(ids, size=int(round(share * len(ids))), replace=False))
    days = pd.Series(rng.integers(1, weeks + 1, size=len(chosen)) * 7.0, index=chosen)
    joined_at = point - pd.to_timedelta(before["household"].map(days), unit="D")
    lines = before[joined_at.isna() | (before["ts"] >= joined_at)]
    shopped = lines.loc[lines["household"].isin(chosen), "household"].unique()
    return lines, pd.Index(np.sort(shopped))


def newcomer_recs(
    data: RetailData,
    warm: RetailData,
    holdout: np.ndarray,
    hybrid: HybridModel,
    rankers: tuple[Ranker, Ranker],
    window: tuple[pd.Timestamp, pd.Timestamp],
    k: int,
) -> NewcomerLists:
    """The next basket of each held-out household after each weekly point, each basket
    counted once, at the last point before it (when the shop knew most). ``rankers``: the
    next-basket ranker, then the one for households known only by their demographics;
    ``hybrid``: LightFM at the cutoff."""
    basket_model, household_model = rankers
    cutoff, end = window
    lines = data.purchases
    joined = lines[lines["household"].isin(holdout) & (lines["ts"] >= cutoff)]
    joined = joined[joined["ts"] < end]
    others = warm.purchases
    latest: dict[tuple[int, int], tuple] = {}  # (household, basket) -> (week, shopped, lists)
    for week, point in enumerate(weekly_points(cutoff, end)):
        upcoming = joined[joined["ts"] >= point].sort_values(["ts", "basket"], kind="stable")
        nxt = upcoming.drop_duplicates("household").set_index("household")["basket"]
        if nxt.empty:
            continue
        own = joined[joined["ts"] < point]
        known = pd.concat([others[others["ts"] < point], own], ignore_index=True)
        hh = pd.Index(sorted(nxt.index))
        hist = build_history(known, data.products, point, only=hh)
        shopped = hh[hh.isin(own["household"].unique())]
        ours: dict[int, list[int]] = {}
        if len(shopped):
            frame = nextbasket.basket_frame(hist, known, shopped, hybrid, data.households)
            ours.update(top_k(frame, basket_model.score(frame), "household", k))
        # every newcomer as if it had not shopped: the cold-start protocol on all its baskets
        frame = nextbasket.cold_frame(hist, hh, hybrid, data.households)
        demographic = top_k(frame, household_model.score(frame), "household", k)
        ours.update({h: demographic[h] for h in hh.difference(shopped)})
        lists = {
            OURS_NEWCOMERS: ours,
            DEMOGRAPHICS_ONLY: demographic,
            "popularity": baselines.popularity(known, hh, k),
            "personal frequency": baselines.personal_frequency(known, hh, k),
            "TIFU-KNN": baselines.tifu_knn(known, hh, k),
        }
        went = set(shopped)
        for h in hh:
            picks = {name: recs.get(int(h), []) for name, recs in lists.items()}
            latest[(int(h), int(nxt[h]))] = (week, h in went, picks)
    out = NewcomerLists()
    bought = joined.groupby(["household", "basket"])["product"].agg(lambda g: set(map(int, g)))
    for (h, basket), (week, went, picks) in latest.items():
        unit = (h, week)
        out.truth[unit] = bought[(h, basket)]
        if went:
            out.shopped.add(unit)
        for name, picked in picks.items():
            out.methods.setdefault(name, {})[unit] = picked
    return out


def newcomer_table(
    folds: Sequence[NewcomerLists], k: int, against: str = "popularity", seed: int = 42
) -> dict:
    """Recall@k per method over the newcomers of every fold (``newcomer_recs`` each; their
    households are disjoint): the mean over households of each one's mean over its baskets;
    the same over the baskets after its first (``recall_after_first``: the shop knew at least
    one of its baskets), over the first ones (``recall_first``: demographics only), and by
    week since joining; and, under ``intervals``, the lead of ours and of the demographics-only
    ranker over ``against``, with 95% intervals from resampling households."""
    lists = NewcomerLists()
    for fold in folds:
        lists.truth.update(fold.truth)
        lists.shopped.update(fold.shopped)
        for name, recs in fold.methods.items():
            lists.methods.setdefault(name, {}).update(recs)
    truth = lists.truth
    if not truth:
        return {"households": 0}
    units = sorted(truth)
    index = pd.MultiIndex.from_tuples(units, names=["household", "week"])
    households = index.get_level_values(0).unique()
    weeks = index.get_level_values(1).to_numpy()
    after = np.array([u in lists.shopped for u in units])
    table: dict = {
        "k": k,
        "households": len(households),
        "baskets": len(units),
        "baskets_after_first": int(after.sum()),
        "weeks": int(weeks.max()) + 1,
    }
    per_household = {}
    for name, recs in lists.methods.items():
        recall = pd.Series(household_recalls(recs, {u: truth[u] for u in units}, k), index=index)
        by_household = recall.groupby(level=0).mean().reindex(households)
        per_household[name] = by_household.to_numpy()
        table[name] = {
            "recall": _round(by_household.mean()),
            "recall_first": _round(recall[~after].groupby(level=0).mean().mean()),
            "recall_after_first": _round(recall[after].groupby(level=0).mean().mean()),
            "by_week": [_round(recall[weeks == w].mean()) for w in range(table["weeks"])],
        }
    table["intervals"] = {
        method: {
            "method": method,
            "against": against,
            "metric": "recall",
            **paired_bootstrap(per_household[method], per_household[against], seed=seed),
        }
        for method in (OURS_NEWCOMERS, DEMOGRAPHICS_ONLY)
        if method in per_household and against in per_household
    }
    return table


def _round(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)
