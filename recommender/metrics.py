"""Top-k metrics for next-basket recommendation, and one report that every method is judged by.

The split into repeat and new items matters for groceries: most of a next basket is things the
household has bought before, so a method can score well on recall by only repeating history.
``basket_report`` shows how much of the score comes from repeats and how much from discovery.
``paired_bootstrap`` says how far apart two methods really are on the same households or pairs.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np


def _top(recommended: Sequence[int], k: int) -> list[int]:
    """The first ``k`` recommendations; duplicates are refused because they would let the same
    hit count twice (NDCG above 1), which always means a bug in the recommender."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    top = list(recommended[:k])
    if len(set(top)) != len(top):
        raise ValueError("recommendations contain duplicates")
    return top


def _truth(truth: Collection[int]) -> set[int]:
    """Truth as a set; an empty one has no defined recall, so it is an error, not a zero."""
    if len(truth) == 0:
        raise ValueError("truth is empty")
    return set(truth)


def recall_at_k(recommended: Sequence[int], truth: Collection[int], k: int = 10) -> float:
    """Share of the true items found among the first ``k`` recommendations."""
    relevant = _truth(truth)
    return sum(item in relevant for item in _top(recommended, k)) / len(relevant)


def ndcg_at_k(recommended: Sequence[int], truth: Collection[int], k: int = 10) -> float:
    """Binary-relevance NDCG with a log2 discount; the ideal ranking puts min(k, |truth|) hits
    first, so a perfect list scores 1.0 even when the basket is larger than ``k``."""
    relevant = _truth(truth)
    dcg = sum(
        1.0 / math.log2(rank + 2)
        for rank, item in enumerate(_top(recommended, k))
        if item in relevant
    )
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal


def hit_at_k(recommended: Sequence[int], truth: Collection[int], k: int = 10) -> float:
    """1.0 if any of the first ``k`` recommendations is in the basket, else 0.0."""
    relevant = _truth(truth)
    return float(any(item in relevant for item in _top(recommended, k)))


def _mean(values: list[float]) -> float:
    """Mean rounded for reports; 0.0 for no values (the matching count then says 0)."""
    return round(sum(values) / len(values), 4) if values else 0.0


def _share_found(top: list[int], items: set[int]) -> float:
    return sum(item in items for item in top) / len(items)


def basket_report(
    recs: Mapping[int, Sequence[int]],
    truth: Mapping[int, Collection[int]],
    history: Mapping[int, Collection[int]],
    k: int = 10,
) -> dict:
    """Recall, NDCG and hit rate over the households in ``truth``, split into repeat and new items.

    A household without recommendations counts as an empty list, so a method cannot look better
    by skipping hard households. ``recall_repeat`` averages over households whose basket holds at
    least one item from their ``history``, ``recall_new`` over those with at least one item they
    never bought; ``repeat_share_of_recs`` is the mean share of the ``k`` slots given to history.
    """
    recall, ndcg, hit, repeat, new, share = [], [], [], [], [], []
    for household, basket in truth.items():
        top = _top(recs.get(household, []), k)
        seen = set(history.get(household, ()))
        recall.append(recall_at_k(top, basket, k))
        ndcg.append(ndcg_at_k(top, basket, k))
        hit.append(hit_at_k(top, basket, k))
        basket_set = set(basket)
        if basket_set & seen:
            repeat.append(_share_found(top, basket_set & seen))
        if basket_set - seen:
            new.append(_share_found(top, basket_set - seen))
        share.append(sum(item in seen for item in top) / k)
    return {
        "k": k,
        "households": len(recall),
        "recall": _mean(recall),
        "ndcg": _mean(ndcg),
        "hit": _mean(hit),
        "recall_repeat": _mean(repeat),
        "recall_new": _mean(new),
        "households_repeat": len(repeat),
        "households_new": len(new),
        "repeat_share_of_recs": _mean(share),
    }


def household_recalls(
    recs: Mapping[int, Sequence[int]], truth: Mapping[int, Collection[int]], k: int = 10
) -> list[float]:
    """Recall@k of each household in ``truth``, in its order (no recommendations: 0)."""
    return [recall_at_k(_top(recs.get(h, []), k), basket, k) for h, basket in truth.items()]


def paired_bootstrap(
    ours: Sequence[float], theirs: Sequence[float], draws: int = 2000, seed: int = 0
) -> dict:
    """How much better ``ours`` is than ``theirs``, scored on the same units (households or
    pairs), with 95% intervals from resampling those units.

    Resampling the units, not each method's scores apart, keeps what the two share (the same
    hard households are hard for both), so the interval of the difference is as narrow as the
    data allow. ``ratio`` is the mean of ``ours`` over the mean of ``theirs``: the issue's
    targets are written as "x% above popularity"."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError("both methods need a score for each of the same, non-empty units")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    sums_a, sums_b = np.empty(draws), np.empty(draws)
    chunk = max(1, 2_000_000 // a.size)  # bounds the index matrix to ~16 MB
    for start in range(0, draws, chunk):
        idx = rng.integers(0, a.size, size=(min(chunk, draws - start), a.size))
        sums_a[start : start + len(idx)] = a[idx].sum(axis=1)
        sums_b[start : start + len(idx)] = b[idx].sum(axis=1)
    diff = (sums_a - sums_b) / a.size
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sums_a / sums_b
    return {
        "units": int(a.size),
        "ours": round(float(a.mean()), 4),
        "theirs": round(float(b.mean()), 4),
        "difference": round(float(a.mean() - b.mean()), 4),
        "difference_95": [round(float(x), 4) for x in np.quantile(diff, [0.025, 0.975])],
        "ratio": round(float(a.mean() / b.mean()), 4) if b.mean() else None,
        "ratio_95": [round(float(x), 4) for x in np.nanquantile(ratio, [0.025, 0.975])]
        if b.mean()
        else None,
        "draws": draws,
    }
