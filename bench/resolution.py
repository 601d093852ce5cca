"""Product resolution benchmark: noisy mentions to categories, and households to products.

Mentions: every spoken name of the demo catalog, plus seeded generated variants (one-letter
typos, speech-recognizer splits and joins, sound-alike spellings, singular/plural swaps,
brand + category, carrier phrases) and the hand-written list in mentions_handwritten.yml
(including things the store does not sell). Category accuracy counts a mention as right only
when the matcher is confident *and* right; "unrelated adds" counts confident matches to a wrong
category or for something not sold (target: 0).

Households: for every demo household and category it buys, the product the resolver picks is
compared with the generator's ground truth (its favourite, or its explicit preference).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml
from tqdm import tqdm

from shop.catalog import DEMO_CATALOG, demo_snapshot
from shop.mentions import MentionMatcher

HANDWRITTEN = Path(__file__).with_name("mentions_handwritten.yml")
CARRIERS = ["{}", "add {}", "we need {}", "two {} please", "order some {}", "can you get {}"]
SOUNDALIKE = [
    ("c", "k"),
    ("k", "c"),
    ("s", "z"),
    ("ph", "f"),
    ("ee", "ea"),
    ("y", "ie"),
    ("oo", "u"),
    ("er", "ur"),
]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["delete", "swap", "double", "replace"])
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "swap" and word[i] != " " and word[i + 1] != " ":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    vowels = "aeiou"
    if word[i] in vowels:
        return word[:i] + rng.choice([v for v in vowels if v != word[i]]) + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def speech(word: str, rng: random.Random) -> str:
    if " " in word:
        return word.replace(" ", "", 1)  # "paper towels" heard as "papertowels"
    for a, b in rng.sample(SOUNDALIKE, len(SOUNDALIKE)):
        if a in word[1:]:
            return word[0] + word[1:].replace(a, b, 1)
    if len(word) >= 8:
        cut = len(word) // 2
        return word[:cut] + " " + word[cut:]  # "toothpaste" heard as "tooth paste"
    return word


def plural_swap(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word + "s"


def generated_mentions(seed: int = 13) -> list[tuple[str, str, str]]:
    """(text, expected category, kind) from the demo catalog."""
    rng = random.Random(seed)
    data = yaml.safe_load(DEMO_CATALOG.read_text())
    out = []
    for cat in data["categories"]:
        names = [n for n in {cat["name"], *cat["spoken"]} if len(n) > 3]
        brands = sorted({p["brand"] for p in cat["products"]})
        for name in sorted(names):
            out.append((rng.choice(CARRIERS).format(name), cat["id"], "synonym"))
        for name in sorted(names)[:4]:
            out.append((typo(name, rng), cat["id"], "typo"))
            out.append((speech(name, rng), cat["id"], "speech"))
            out.append((plural_swap(name), cat["id"], "plural"))
        for brand in brands[:2]:
            out.append((f"{brand} {cat['name']}".lower(), cat["id"], "brand"))
    return out


def category_accuracy(matcher: MentionMatcher, mentions) -> dict:
    right, unrelated, asked, per_kind, times = 0, 0, 0, {}, []
    errors = []
    for text, expected, kind in tqdm(mentions, desc="mentions", leave=False):
        t0 = time.perf_counter()
        m = matcher.match(text)
        times.append((time.perf_counter() - t0) * 1000)
        ok = (m.confident and m.category_id == expected) if expected else not m.confident
        if m.confident and m.category_id != expected:
            unrelated += 1
        if not m.confident:
            asked += 1
        right += ok
        stats = per_kind.setdefault(kind, [0, 0])
        stats[0] += ok
        stats[1] += 1
        if not ok:
            errors.append(
                {"text": text, "expected": expected, "got": m.category_id, "score": m.score}
            )
    times.sort()
    return {
        "mentions": len(mentions),
        "category_accuracy": round(right / len(mentions), 4),
        "unrelated_confident_matches": unrelated,
        "asked_instead_of_guessing": asked,
        "by_kind": {k: {"accuracy": round(a / n, 4), "n": n} for k, (a, n) in per_kind.items()},
        "match_ms_p50": round(statistics.median(times), 3),
        "match_ms_p99": round(times[int(0.99 * (len(times) - 1))], 3),
        "errors": errors[:30],
    }


def household_accuracy(seed: int = 42, households: int = 60) -> dict:
    """Resolver picks against the generator's ground truth, on a fresh seeded demo store."""

    from shop.config import Settings
    from shop.demo.generator import Params, generate
    from shop.demo.seed import catalog_products_and_cycles, seed_demo
    from shop.migrate import upgrade
    from shop.recommend_data import train_from_store
    from shop.resolve import ProductResolver
    from shop.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db")
        upgrade(settings)
        store = Store(settings)
        params = Params(seed=seed, households=households, end=date(2026, 11, 1))
        with store.session() as s:
            seed_demo(s, params)
            truth = generate(*catalog_products_and_cycles(s), params)
            rules = _score(s, truth, None)
            summary = train_from_store(s, Path(tmp) / "models", progress=False)
            learned = ProductResolver(Path(tmp) / "models").learned(s)
            with_model = _score(s, truth, learned)
        store.dispose()
    return {
        **rules,
        "learned": {**with_model, "training_seconds": summary["seconds"]},
    }


def _score(session, truth, learned) -> dict:
    """Exact-product accuracy of ``choose`` (rules, or with trained models) over every
    (household, category) pair of the generator's truth."""
    from sqlalchemy import select

    from shop.models import Category
    from shop.resolve import choose

    right = total = 0
    reasons: dict[str, int] = {}
    for h in tqdm(truth.households, desc="households", leave=False):
        prefs = {cat: pid for member, cat, pid in h.preferences if member is None}
        for cat_id, favourite in h.favourites.items():
            category = session.execute(select(Category).where(Category.id == cat_id)).scalar_one()
            choice = choose(session, category, h.id, learned=learned)
            expected = prefs.get(cat_id, favourite)
            right += choice.product.id == expected
            total += 1
            reasons[choice.reason] = reasons.get(choice.reason, 0) + 1
    return {"pairs": total, "exact_product_accuracy": round(right / total, 4), "reasons": reasons}


def run() -> dict:
    snapshot = demo_snapshot()
    matcher = MentionMatcher(snapshot)
    generated = generated_mentions()
    handwritten = [(t, c, "handwritten") for t, c in yaml.safe_load(HANDWRITTEN.read_text())]
    return {
        "workload": "demo catalog (40 categories, 165 products); mentions generated with seed 13 "
        "plus the hand-written list; 60 demo households (seed 42)",
        "generated": category_accuracy(matcher, generated),
        "handwritten": category_accuracy(matcher, handwritten),
        "all": category_accuracy(matcher, generated + handwritten),
        "households": household_accuracy(),
    }
