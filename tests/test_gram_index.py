"""The trigram index behind the matcher on large catalogs: its candidate pools must hold what
scoring every term finds, and the matcher must read mentions the same either way."""

import random
import string

from rapidfuzz import fuzz, process

from shop.catalog import demo_snapshot
from shop.catalog_snapshot import CatalogSnapshot, SnapshotCategory, SnapshotProduct
from shop.gram_index import MIN_SIZE, GramIndex, trigrams
from shop.mentions import MentionMatcher


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))


def _catalog(n: int = 30_000) -> list[str]:
    rng = random.Random(3)
    vocabulary = [_word(rng) for _ in range(3000)]
    common = ["manufacturer", "private label"]  # in most strings, like Complete Journey's
    return [
        " ".join([rng.choice(common), *rng.sample(vocabulary, rng.randint(1, 3))]) for _ in range(n)
    ]


def _noisy(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]


def test_the_pool_holds_the_best_match_of_a_full_scan():
    texts = _catalog()
    index = GramIndex([trigrams(t) for t in texts])
    rng = random.Random(5)
    queries = [_noisy(t.split(" ", 1)[1], rng) for t in rng.sample(texts, 300)]
    held = counted = 0
    for q in queries:
        best = process.extractOne(q, texts, scorer=fuzz.ratio, score_cutoff=70)
        if best is None:  # nothing the matcher would take anyway
            continue
        counted += 1
        pool = index.contained(trigrams(q), 256)
        held += max((fuzz.ratio(q, texts[i]) for i in pool), default=0) == best[1]
    assert counted > 100 and held / counted >= 0.99, (held, counted)


def test_common_trigrams_are_not_indexed_and_select_nothing():
    texts = _catalog()
    index = GramIndex([trigrams(t) for t in texts])
    assert "man" not in index.postings and "nuf" not in index.postings
    assert len(index.contained(trigrams("manufacturer"), 50)) == 0
    assert len(index.contained(set(), 50)) == 0


def test_a_term_wholly_inside_the_query_ranks_first():
    index = GramIndex([trigrams(t) for t in ["ketchup", "tomato ketchup", "mustard", "ketch"]])
    ids = index.contained(trigrams("add ketchup please"), 2).tolist()
    assert 0 in ids


def test_the_matcher_reads_the_demo_catalog_the_same_with_or_without_pools():
    snapshot = demo_snapshot()
    plain, pooled = MentionMatcher(snapshot), MentionMatcher(snapshot, indexed=True)
    assert not plain.indexed and pooled.indexed
    rng = random.Random(11)
    said = [n for c in snapshot.categories for n in c.spoken_names]
    said += [_noisy(n, rng) for n in said] + [
        f"add {p.name.lower()} please" for p in snapshot.products
    ]
    differ = [
        t
        for t in said
        if (plain.match(t).category_id, plain.match(t).confident)
        != (pooled.match(t).category_id, pooled.match(t).confident)
    ]
    assert len(differ) <= len(said) // 50, differ


def test_a_large_catalog_is_pooled_and_still_finds_its_products():
    """Past MIN_SIZE terms the matcher pools candidates; a noisy name still resolves."""
    rng = random.Random(2)
    categories = [SnapshotCategory(f"c{i}", _word(rng), []) for i in range(400)]
    products = [
        SnapshotProduct(i, f"c{i % 400}", f"brand {i % 900}", f"{_word(rng)} {_word(rng)}", "")
        for i in range(MIN_SIZE)
    ]
    matcher = MentionMatcher(CatalogSnapshot(categories, products))
    assert matcher.indexed
    target = products[1234]
    found = matcher.match(f"add {_noisy(target.name, rng)}")
    assert found.category_id == target.category_id and found.confident
