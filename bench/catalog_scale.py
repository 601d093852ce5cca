"""Product resolution on the full Complete Journey catalog (92k products, 2.4k product types).

The catalog is imported as `dash import completejourney` would (categories and products only,
into a scratch SQLite store) and the matcher is built from it as the Rasa component builds it.
Mentions (seeded): a product type's spoken name, as said, with a one-letter typo, split or
joined by a speech recognizer, or spelled by sound, in a carrier phrase ("add ...", "we need
..."); one in ten with the brand in front ("private label frozen pizza"). A mention counts as
resolved when the matcher is confident and names the right product type.

Side by side on the same mentions: the matcher with its trigram indexes (shop.gram_index), the
same matcher scoring every term, and the naive loop a first version would write: rapidfuzz
``process.extractOne(mention, product_names, scorer=fuzz.WRatio)`` over the 92k names
(both lower-cased by rapidfuzz's default processor), taken when it scores 85 or more.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process, utils
from tqdm import tqdm

from bench.resolution import CARRIERS, SOUNDALIKE, speech, typo
from bench.turns import percentiles
from shop.catalog_snapshot import CatalogSnapshot
from shop.gram_index import settle_gc
from shop.mentions import MentionMatcher


def cj_snapshot(directory: Path) -> CatalogSnapshot:
    from shop.config import Settings
    from shop.importers.completejourney import import_catalog, load_frames
    from shop.migrate import upgrade
    from shop.store import Store

    settings = Settings(database_url=f"sqlite:///{directory / 'catalog.db'}")
    upgrade(settings)
    store = Store(settings)
    with store.session() as s:
        import_catalog(s, load_frames())
    with store.session() as s:
        snapshot = CatalogSnapshot.from_session(s)
    store.dispose()
    return snapshot


def mentions(snapshot: CatalogSnapshot, n: int, seed: int = 7) -> list[tuple[str, str]]:
    """(mention, expected category id), seeded."""
    rng = random.Random(seed)
    brands: dict[str, list[str]] = {}
    for p in snapshot.products:
        brands.setdefault(p.category_id, []).append(p.brand)
    out = []
    for _ in range(n):
        category = rng.choice(snapshot.categories)
        name = rng.choice(sorted({category.name, *category.spoken_names})).lower()
        kind = rng.random()
        if kind < 0.3:
            name = typo(name, rng)
        elif kind < 0.45:
            name = speech(name, rng)
        elif kind < 0.6:
            a, b = rng.choice(SOUNDALIKE)
            name = name.replace(a, b, 1)
        if rng.random() < 0.1 and brands.get(category.id):
            name = f"{rng.choice(brands[category.id]).lower()} {name}"
        out.append((rng.choice(CARRIERS).format(name), category.id))
    return out


def timed(fn, items):  # noqa: ANN001, ANN201
    out, ms = [], []
    for item in items:
        start = time.perf_counter()
        out.append(fn(item))
        ms.append((time.perf_counter() - start) * 1000)
    return out, ms


def run(n: int = 2000, compared: int = 300) -> dict:
    with tempfile.TemporaryDirectory(prefix="dash-bench-catalog-") as name:
        snapshot = cj_snapshot(Path(name))
    start = time.perf_counter()
    indexed = MentionMatcher(snapshot)
    build_s = time.perf_counter() - start
    full = MentionMatcher(snapshot, indexed=False)
    settle_gc()  # as the Rasa component does after building a large matcher
    said = mentions(snapshot, n)
    texts = [m for m, _ in said]
    expected = [c for _, c in said]
    for text in texts[:20]:  # warm-up
        indexed.match(text)
    got, ms = timed(indexed.match, tqdm(texts, desc="matcher, indexed"))
    sub = texts[:compared]
    got_full, ms_full = timed(full.match, tqdm(sub, desc="matcher, every term"))
    names = [utils.default_process(p.name) for p in snapshot.products]
    category_of = [p.category_id for p in snapshot.products]

    def naive(text: str) -> str | None:
        best = process.extractOne(text, names, scorer=fuzz.WRatio, processor=utils.default_process)
        return category_of[best[2]] if best and best[1] >= 85 else None

    got_naive, ms_naive = timed(naive, tqdm(sub, desc="naive WRatio loop"))

    def right(matches, truth) -> float:  # noqa: ANN001
        ok = sum(m.confident and m.category_id == t for m, t in zip(matches, truth, strict=True))
        return round(ok / len(truth), 4)

    agree = sum(
        (a.category_id, a.confident) == (b.category_id, b.confident)
        for a, b in zip(got[:compared], got_full, strict=True)
    )
    naive_right = sum(c == t for c, t in zip(got_naive, expected[:compared], strict=True))
    p_indexed, p_full, p_naive = percentiles(ms), percentiles(ms_full), percentiles(ms_naive)
    return {
        "workload": (
            f"Complete Journey catalog: {len(snapshot.products)} products, "
            f"{len(snapshot.categories)} product types, {len(indexed.terms)} terms; {n} seeded "
            f"noisy mentions (typos, recognizer splits, sound-alike spellings, brand + type, "
            f"carrier phrases); every-term matcher and naive loop on the first {compared}; "
            f"one thread, {os.cpu_count()} cores"
        ),
        "cores": os.cpu_count(),
        "matcher_build_s": round(build_s, 1),
        "indexed": {
            **p_indexed,
            "mean": round(statistics.fmean(ms), 2),
            "accuracy": right(got, expected),
        },
        "every_term": {
            **p_full,
            "accuracy": right(got_full, expected[:compared]),
            "agreement_with_indexed": round(agree / compared, 4),
        },
        "naive_wratio": {**p_naive, "accuracy": round(naive_right / compared, 4)},
        "ratios": {
            "every_term_p99_over_indexed_p99": round(p_full["p99"] / p_indexed["p99"], 1),
            "naive_p99_over_indexed_p99": round(p_naive["p99"] / p_indexed["p99"], 1),
        },
    }
