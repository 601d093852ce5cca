"""The evaluation's hit-rate tables and the baselines that are not rankers: the pair tables
(brand resolution, cold pairs) over a frame of scored candidates, with each query's hits kept
for the intervals; the type's best sellers; and, as references rather than methods, the best
single next-basket list in hindsight and each household's list from the other households' baskets
of the same window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.metrics import hit_at_k, paired_bootstrap
from recommender.ranker import RankerSettings, fit_ranker, top_k

OURS = "hybrid ranker (ours)"
POPULAR = "most popular in type"  # the baseline: before the cutoff
FROZEN = "hybrid ranker, frozen at the cutoff"  # ours, knowing only what the baselines know
LATELY = "most popular in type, last 28 days"  # RecentSales.top_at: what our features know
NEW_HOUSEHOLDS = "learned ranker (demographics, LightFM)"  # ours, for new households
#: How far the pair features go, given training data no shop has: the test window's answers.
ON_ANSWERS = "(reference) our ranker fitted on the test window, other half of households"
IN_SAMPLE = "(reference) our ranker fitted on the test window's own answers"


def popular_in_type(hist, queries: pd.DataFrame, k: int = 3) -> dict[int, list[int]]:
    """The type's ``k`` products in the most baskets before the cutoff, for every query: over
    the whole type, so the baseline does not depend on our candidate set."""
    pop = hist.popularity
    pop = pop[pop["all"] > 0].reset_index()
    best = pop.sort_values(["all", "product"], ascending=[False, True]).groupby("type").head(k)
    tops = best.groupby("type")["product"].apply(list).to_dict()
    return {int(q): tops.get(t, []) for q, t in zip(queries["qid"], queries["type"], strict=True)}


def frequency_key(frame: pd.DataFrame) -> np.ndarray:
    """Most baskets first; ties go to the most recent, then the most popular."""
    return (frame["own_baskets"] * 1e6 - frame["own_age"] + frame["share_all"] * 1e-3).to_numpy()


def pair_hits(queries_frame: tuple, truth: dict[int, set[int]], methods: dict) -> dict:
    """Per method, per k in (1, 3), one 0/1 hit per query (in the queries' order). A method is
    a column of ``frame`` or an array of its rows' scores (ranked within each query), or ready
    rankings by query id (a dict)."""
    queries, frame = queries_frame
    hits = {}
    for name, score in methods.items():
        ranked = score if isinstance(score, dict) else top_k(frame, score, "qid", 3)
        hits[name] = {
            k: np.array(
                [hit_at_k(ranked.get(int(q), []), truth[int(q)], k) for q in queries["qid"]],
                dtype=np.float64,
            )
            for k in (1, 3)
        }
    return hits


def pair_table(queries_frame: tuple, hits: dict) -> dict:
    """Top-1 and top-3 hit rates per method (``pair_hits``), and how often the candidates hold
    the truth at all."""
    queries, frame = queries_frame
    table = {
        "pairs": int(len(queries)),
        "candidate_coverage": round(
            float(frame.groupby("qid")["label"].max().reindex(queries["qid"]).fillna(0).mean()), 4
        ),
    }
    for name, by_k in hits.items():
        table[name] = {
            f"top{k}": round(float(v.mean()), 4) if len(v) else 0.0 for k, v in by_k.items()
        }
    return table


def hindsight_list(truth: dict[int, set[int]], households: pd.Index, k: int) -> dict:
    """The one list of ``k`` products with the highest mean recall on ``truth`` itself (recall
    adds up over items, so: the items with the largest sum of 1 / basket size). Not a method:
    the ceiling of every list that is the same for all households, popularity included."""
    weight = _item_weights(truth.values())
    # Rounded, as in ``others_lists``: sums of 1 / basket size that are equal but added in
    # another order (1/2 + 1 against 1/2 + 3 x 1/3) tie, and the lower item id wins.
    best = sorted(weight, key=lambda item: (-round(weight[item], 12), item))[:k]
    return {int(h): list(best) for h in households}


def others_lists(
    truth: dict[int, set[int]], k: int, segments: pd.Series | None = None
) -> dict[int, list[int]]:
    """Each household's best list of ``k`` by the *other* households' baskets in ``truth`` (of
    its own segment, when ``segments`` maps households to one): popularity that knew the test
    window's demand exactly, but not the household's own basket. Not a method either: it shows
    how much any list built from who a household is (its segment) could gain over popularity.
    ``hindsight_list`` counts each household's own basket, so it overstates that; this doesn't.
    """
    weight = {h: 1.0 / len(b) for h, b in truth.items() if b}
    # Households without a segment (None or NaN) form one group of their own.
    group = {h: segments.get(h) if segments is not None else None for h in weight}
    group = {h: "?" if pd.isna(g) else g for h, g in group.items()}
    members: dict = {}
    for h, g in group.items():
        members.setdefault(g, []).append(truth[h])
    totals = {g: _item_weights(baskets) for g, baskets in members.items()}
    ranked = {g: sorted(t, key=lambda i, t=t: (-round(t[i], 12), i)) for g, t in totals.items()}
    out = {}
    for h, w in weight.items():
        full, own = totals[group[h]], truth[h]
        # Only the household's own items lose weight, so the others' top k lies within the
        # group's top k + |own| and the own items.
        pool = set(ranked[group[h]][: k + len(own)]) | own
        score = {i: full[i] - (w if i in own else 0.0) for i in pool}
        best = sorted(pool, key=lambda i: (-round(score[i], 12), i))
        out[int(h)] = [int(i) for i in best[:k] if score[i] > 1e-12]
    return out


def _item_weights(baskets) -> dict[int, float]:
    """Each item's sum of 1 / basket size over ``baskets``: the recall it adds to a list."""
    weight: dict[int, float] = {}
    for basket in baskets:
        for item in basket:
            weight[item] = weight.get(item, 0.0) + 1.0 / len(basket)
    return weight


def top1_interval(hits: dict, against: str, seed: int, ours: str = OURS) -> dict:
    """``interval`` of the top-1 hits of a pair table (``pair_hits``)."""
    return interval({name: h[1] for name, h in hits.items()}, ours, against, "top1", seed)


def interval(values: dict, ours: str, against: str, metric: str, seed: int) -> dict:
    """``ours`` against ``against`` (the best baseline, or popularity where the target is set
    against it) on the same units, with 95% bootstrap intervals; {} if either is missing."""
    if ours not in values or against not in values:
        return {}
    found = paired_bootstrap(values[ours], values[against], seed=seed)
    return {"method": ours, "against": against, "metric": metric, **found}


def fitted_on_answers(
    frame: pd.DataFrame, features: list[str], settings: RankerSettings, seed: int
) -> dict[str, np.ndarray]:
    """Scores from rankers fitted on the evaluated rows' own labels: cross-fitted (households
    split in two at random, each half scored by the ranker fitted on the other) and in sample
    (one ranker fitted on every row). No shop has these answers; they tell whether the
    features, not the older training window, are what holds a ranker back. Empty when a half
    has nothing to learn from (a few households)."""
    households = frame["household"].unique()
    half = set(np.random.default_rng(seed).permutation(households)[: len(households) // 2])
    first = frame["household"].isin(half).to_numpy()
    if any(frame.loc[part, "label"].nunique() < 2 for part in (first, ~first)):
        return {}
    crossed = np.full(len(frame), np.nan)
    for train, scored in ((first, ~first), (~first, first)):
        crossed[scored] = fit_ranker(frame[train], features, settings).score(frame[scored])
    return {ON_ANSWERS: crossed, IN_SAMPLE: fit_ranker(frame, features, settings).score(frame)}
