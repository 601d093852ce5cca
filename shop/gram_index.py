"""Candidate terms for fuzzy matching in a large catalog, by character trigrams.

rapidfuzz compares a query with every choice: the best tool for a few thousand strings (the
demo catalog) and too slow for a supermarket's (the 92k-product Complete Journey catalog has
106k terms; scoring every one costs about 10 ms per spelling and span, 140 ms per mention on 2
cores). A term that scores 70 or more against part of a mention shares most of its trigrams with
that mention, so the matcher first takes the terms whose distinctive trigrams are most
completely present in the mention, a few hundred, and scores only those with rapidfuzz.

Trigrams found in more than ``max_df`` of the terms ("man", "ure", from "Manufacturer ...")
are not indexed: they select nothing and their posting lists would cost more than the scoring.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

#: Below this many terms the matcher scores every term: fast enough, and exact.
MIN_SIZE = 20_000


@lru_cache(maxsize=65536)
def trigrams(text: str) -> frozenset[str]:
    padded = f" {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


class GramIndex:
    """Terms by their trigrams (one set per term: the matcher puts a term's three spellings'
    trigrams in one set, so one lookup serves all three)."""

    def __init__(self, gram_sets: Sequence[Iterable[str]], max_df: float = 0.005) -> None:
        self.size = len(gram_sets)
        postings: dict[str, list[int]] = defaultdict(list)
        for i, grams in enumerate(gram_sets):
            for gram in grams:
                postings[gram].append(i)
        limit = max(50, int(max_df * self.size))
        self.postings = {
            g: np.asarray(ids, dtype=np.int32) for g, ids in postings.items() if len(ids) <= limit
        }
        indexed = [ids for ids in self.postings.values()]
        counts = np.bincount(np.concatenate(indexed), minlength=self.size) if indexed else None
        self.n_grams = np.maximum(counts if counts is not None else np.zeros(self.size), 1)

    def contained(self, grams: Iterable[str], k: int) -> np.ndarray:
        """Ids of the ``k`` terms whose indexed trigrams are most completely among ``grams``
        (ties: more trigrams in common first)."""
        lists = [p for g in grams if (p := self.postings.get(g)) is not None]
        if not lists:
            return np.empty(0, dtype=np.int64)
        counts = np.bincount(np.concatenate(lists), minlength=self.size)
        ids = np.flatnonzero(counts > 0)
        if len(ids) > k:
            score = counts[ids] / self.n_grams[ids] + counts[ids] * 1e-4
            ids = ids[np.argpartition(-score, k)[:k]]
        return ids


@lru_cache(maxsize=65536)
def spelling_grams(plain: str, joined: str, key: str) -> frozenset[str]:
    """The trigrams of a text's three spellings (sound-key trigrams marked apart)."""
    return trigrams(plain) | trigrams(joined) | {"~" + g for g in trigrams(key)}


@dataclass
class Choices:
    """The terms one spelling of a mention is scored against; for large catalogs also, per
    query, the 8 best (term id, score) of ``floor`` or more, computed in one batch."""

    texts: list[str]
    found: dict[str, list[tuple[int, float]]] | None = None

    def best(self, query: str, cutoff: float, limit: int = 8) -> list[tuple[int, float]]:
        """(term id, score) of the ``limit`` best terms scoring ``cutoff`` or more."""
        if self.found is None:
            found = process.extract(
                query, self.texts, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff
            )
            return [(j, score) for _t, score, j in found]
        return [hit for hit in self.found.get(query, ()) if hit[1] >= cutoff][:limit]

    @classmethod
    def scored(cls, queries: list[str], texts: list[str], ids: np.ndarray, floor: float) -> Choices:
        matrix = process.cdist(
            queries, texts, scorer=fuzz.ratio, score_cutoff=floor, dtype=np.float64
        )
        # The 8 best of each row, best first (ties: catalog order), as ``extract`` gives them.
        top = np.argsort(-matrix, axis=1, kind="stable")[:, :8]
        scores = np.take_along_axis(matrix, top, axis=1)
        found = {
            query: [
                (int(ids[c]), float(v))
                for c, v in zip(top[r].tolist(), scores[r].tolist(), strict=True)
                if v > 0
            ]
            for r, query in enumerate(queries)
        }
        return cls(texts, found)


def settle_gc() -> None:
    """After building a large index in a serving process: move every object alive to the
    permanent generation and collect young objects less often. The index is a million small
    objects that never change; without this, young-generation collections during matching
    pushed the 92k-catalog p99 from about 3 ms to 4-6 ms (`make bench`, catalog_scale)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
