"""Turn what people say ("ketchap", "catch up", "heinz tomato sauce", "tp") into catalog terms.

Pure and fast: built once from a :class:`CatalogSnapshot` (which the Rasa component loads from
a JSON export and the API builds from the database), then :meth:`MentionMatcher.match` scores
every short span of the utterance against category names and synonyms, brands, product names
and aliases with rapidfuzz, in three spellings each: as written, without spaces ("tooth paste")
and as a rough sound key ("catch up" ~ "ketchup"). Short words must match exactly, so "tea"
never becomes "tp". The result names a category (and brand or product when said), a score and
the runner-up categories, so callers ask instead of guessing when the score is low.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from shop.catalog_snapshot import CatalogSnapshot
from shop.gram_index import MIN_SIZE, Choices, GramIndex, spelling_grams

#: A match at or above this score is taken; below it the caller should ask.
CONFIDENT = 85.0
#: Below this nothing is proposed at all.
MINIMUM = 70.0
#: A match over several words this strong hides matches of the words inside it.
DOMINANT = 88.0
#: Large catalogs: candidate terms per mention (shop.gram_index).
POOL_SIZE = 256

FILLER = set(
    """a an the some of for me my our please pls add buy order get need want more another
    and i we us to put in into on cart basket also just can could you would like grab pick
    up bottle bottles pack packs box boxes bag bags jar jars can cans carton cartons roll
    rolls tub tubs one two three four five six seven eight nine ten dozen couple few few
    new fresh again be it that this those these with x""".split()
)
# Filler words never start a span, but may sit inside or end one ("catch up", "toilet roll").
_NUMBER = re.compile(r"^\d+$")
_SIZE = re.compile(
    r"\b(\d+(?:\.\d+)?\s?(?:oz|ounce|ounces|lb|lbs|pound|pounds|gal|gallon|ct|count|pack|rolls|"
    r"sq ft|fl oz|ml|l|liter|litre)s?)\b|\b(big|bigger|biggest|large|larger|largest|family|"
    r"jumbo|huge|small|smaller|smallest|little|mini)\b"
)


def size_phrase(text: str) -> str | None:
    """A size said with the product: "32 oz", "the big one"."""
    m = _SIZE.search(text.lower())
    return (m.group(1) or m.group(2)) if m else None


def normalize(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("'", "").replace("’", "")
    text = re.sub(r"[^a-z0-9%]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=65536)
def sound_key(text: str) -> str:
    """A rough English sound key: similar-sounding spellings collapse to one string."""
    s = normalize(text).replace(" ", "")
    for a, b in (("ph", "f"), ("ck", "k"), ("tch", "ch"), ("q", "k"), ("x", "ks"), ("z", "s")):
        s = s.replace(a, b)
    s = re.sub(r"c(?=[eiy])", "s", s)
    s = s.replace("c", "k")
    s = re.sub(r"(.)\1+", r"\1", s)
    if not s:
        return s
    return s[0] + re.sub(r"[aeiouy]", "", s[1:])


def inflections(name: str) -> set[str]:
    """The name with its last word in singular and plural form."""
    words = name.split()
    if not words:
        return set()
    last = words[-1]
    forms = {last}
    if last.endswith("ies"):
        forms.add(last[:-3] + "y")
    elif last.endswith(("ches", "shes", "sses", "xes")):
        forms.add(last[:-2])
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        forms.add(last[:-1])
    else:
        if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
            forms.add(last[:-1] + "ies")
        elif last.endswith(("ch", "sh", "s", "x")):
            forms.add(last + "es")
        else:
            forms.add(last + "s")
    return {" ".join([*words[:-1], f]) for f in forms}


@dataclass(frozen=True)
class Term:
    text: str
    kind: str  # category | brand | product
    category_ids: tuple[str, ...]
    product_id: int | None = None
    brand: str | None = None


@dataclass(frozen=True)
class Match:
    """The best reading of a mention."""

    category_id: str | None
    score: float
    text: str
    brand: str | None = None
    product_id: int | None = None
    candidates: tuple[tuple[str, float], ...] = ()
    size: str | None = None
    #: The words that named the product ("catch up" in "add catch up please").
    mention: str = ""

    @property
    def confident(self) -> bool:
        return self.category_id is not None and self.score >= CONFIDENT


@dataclass
class _Hit:
    term: Term
    score: float
    start: int
    end: int
    words: str = ""


def _widen(hit: _Hit, brand_hits: list[_Hit]) -> str:
    """The product words, with a brand said right before them ("heinz ketchup")."""
    for b in brand_hits:
        if b.end == hit.start:
            return f"{b.words} {hit.words}"
    return hit.words


def _dominated(hit: _Hit, strong: set[tuple[int, int, frozenset[str]]]) -> bool:
    """A strong match over more words, for other categories, contains this one."""
    cats = None
    for start, end, categories in strong:
        if start <= hit.start and hit.end <= end and end - start > hit.end - hit.start:
            cats = cats if cats is not None else frozenset(hit.term.category_ids)
            if categories != cats:
                return True
    return False


class MentionMatcher:
    def __init__(self, snapshot: CatalogSnapshot, indexed: bool | None = None) -> None:
        """``indexed``: search the terms through trigram indexes (default: when the catalog
        is large, see shop.gram_index) or always score every term (False)."""
        self.categories = {c.id: c for c in snapshot.categories}
        terms: dict[tuple[str, str, int | None], Term] = {}

        def add(text: str, kind: str, cats: tuple[str, ...], pid=None, brand=None) -> None:
            norm = normalize(text)
            if norm and (norm, kind, pid) not in terms:
                terms[(norm, kind, pid)] = Term(norm, kind, cats, pid, brand)

        for c in snapshot.categories:
            for name in {c.name, *c.spoken_names}:
                for form in inflections(normalize(name)):
                    add(form, "category", (c.id,))
        brands: dict[str, set[str]] = {}
        brand_names: dict[str, str] = {}
        for p in snapshot.products:
            brands.setdefault(normalize(p.brand), set()).add(p.category_id)
            brand_names[normalize(p.brand)] = p.brand
            add(p.name, "product", (p.category_id,), p.id, p.brand)
            for alias in p.aliases:
                add(alias, "product", (p.category_id,), p.id, p.brand)
        for norm, cats in brands.items():
            add(norm, "brand", tuple(sorted(cats)), None, brand_names[norm])
        self.terms = list(terms.values())
        self._category_texts = {t.text for t in self.terms if t.kind == "category"}
        self._plain = [t.text for t in self.terms]
        self._joined = [t.text.replace(" ", "") for t in self.terms]
        self._sound = [sound_key(t.text) for t in self.terms]
        self._lists = {"plain": self._plain, "joined": self._joined, "sound": self._sound}
        if indexed is None:
            indexed = len(self.terms) >= MIN_SIZE
        # Large catalogs: each mention is scored against a pool of candidate terms only.
        self._index = (
            GramIndex(
                [
                    spelling_grams(p, j, k)
                    for p, j, k in zip(self._plain, self._joined, self._sound, strict=True)
                ]
            )
            if indexed
            else None
        )
        self._arrays = {name: np.array(texts, dtype=object) for name, texts in self._lists.items()}
        self._by_joined: dict[str, list[int]] = {}
        self._by_sound: dict[str, list[int]] = {}
        for i, (joined, key) in enumerate(zip(self._joined, self._sound, strict=True)):
            self._by_joined.setdefault(joined, []).append(i)
            self._by_sound.setdefault(key, []).append(i)

    @property
    def indexed(self) -> bool:
        """Whether mentions are scored against candidate pools (large catalogs)."""
        return self._index is not None

    @classmethod
    def from_session(cls, session) -> MentionMatcher:  # noqa: ANN001
        return cls(CatalogSnapshot.from_session(session))

    def _choices(self, spans: list[str]) -> dict[str, Choices]:
        """What each spelling's spans are scored against: every term, or (large catalogs) the
        terms whose trigrams are most present in the mention's spans, all spans scored in one
        rapidfuzz ``cdist`` call per spelling."""
        if self._index is None:
            return {name: Choices(texts) for name, texts in self._lists.items()}
        grams: set[str] = set()
        for span in spans:
            grams |= spelling_grams(span, span.replace(" ", ""), sound_key(span))
        pool = np.sort(self._index.contained(grams, POOL_SIZE))
        queries = {
            "plain": sorted(set(spans)),
            "joined": sorted({s.replace(" ", "") for s in spans}),
            "sound": sorted({sound_key(s) for s in spans} - {""}),
        }
        return {
            name: Choices.scored(queries[name], texts[pool].tolist(), pool, MINIMUM)
            for name, texts in self._arrays.items()
        }

    def _span_hits(
        self, span: str, start: int, end: int, choices: dict[str, Choices]
    ) -> list[_Hit]:
        def extract(name: str, query: str, cutoff: float) -> list[tuple[int, float]]:
            return choices[name].best(query, cutoff)

        joined = span.replace(" ", "")
        if len(joined) <= 3:  # "tp", "oj", "tea": exact only
            return [_Hit(self.terms[i], 100.0, start, end) for i in self._by_joined.get(joined, [])]
        key = sound_key(span)
        if len(joined) <= 5:
            # Short words: one-letter slips change a ratio a lot ("milc" vs "milk" is 75), so
            # take close spellings (88+) and exact sound-alikes of three or more consonants.
            hits = dict(extract("joined", joined, 88.0))
            if len(key) >= 3:
                for idx in self._by_sound.get(key, []):
                    if abs(len(self._joined[idx]) - len(joined)) <= 1:
                        hits[idx] = max(hits.get(idx, 0.0), 90.0)
            return [_Hit(self.terms[i], s, start, end) for i, s in hits.items()]
        best: dict[int, float] = {}
        for name, query, scale in (
            ("plain", span, 1.0),
            ("joined", joined, 1.0),
            ("sound", key, 0.92),
        ):
            if not query:
                continue
            for idx, score in extract(name, query, MINIMUM / scale):
                best[idx] = max(best.get(idx, 0.0), score * scale)
        return [_Hit(self.terms[i], s, start, end) for i, s in best.items() if s >= MINIMUM]

    def hits(self, text: str) -> list[_Hit]:
        words = normalize(text).split()
        spans = [
            (" ".join(words[i:j]), i, j)
            for i in range(len(words))
            if not (words[i] in FILLER or _NUMBER.match(words[i]))
            for j in range(i + 1, min(i + 5, len(words)) + 1)
        ]
        choices = self._choices([span for span, _i, _j in spans])
        out: list[_Hit] = []
        for span, i, j in spans:
            for hit in self._span_hits(span, i, j, choices):
                hit.words = span
                out.append(hit)
        # "penut butter" is peanut butter, not butter: a strong match over more words hides
        # the matches of the words inside it.
        strong = {
            (g.start, g.end, frozenset(g.term.category_ids))
            for g in out
            if g.score >= DOMINANT and g.term.kind != "brand"
        }
        return [h for h in out if not _dominated(h, strong)]

    def match(self, text: str) -> Match:
        """The most likely category (with brand or product if named) for a mention."""
        hits = self.hits(text)
        if not hits:
            return Match(None, 0.0, text)
        words = len(normalize(text).split()) or 1
        per_category: dict[str, float] = {}
        for h in hits:
            if h.term.kind == "brand" and len(h.term.category_ids) > 1:
                continue  # a brand alone does not tell which of its categories
            coverage = (h.end - h.start) / words
            value = h.score + 4.0 * coverage + (2.0 if h.term.kind == "category" else 0.0)
            for cat in h.term.category_ids:
                per_category[cat] = max(per_category.get(cat, 0.0), value)
        brand_hits = [h for h in hits if h.term.kind == "brand" and h.score >= CONFIDENT]
        for h in brand_hits:  # a brand that makes the category supports it
            for cat in h.term.category_ids:
                if cat in per_category:
                    per_category[cat] += 3.0
        if not per_category:
            cats = sorted({c for h in brand_hits for c in h.term.category_ids})
            return Match(
                None,
                0.0,
                text,
                brand=brand_hits[0].term.brand if brand_hits else None,
                candidates=tuple((c, 0.0) for c in cats[:3]),
            )
        ranked = sorted(per_category.items(), key=lambda kv: (-kv[1], kv[0]))
        best_cat = ranked[0][0]
        support = [
            h
            for h in hits
            if best_cat in h.term.category_ids
            and (h.term.kind != "brand" or len(h.term.category_ids) == 1)
        ]
        top_hit = max(support, key=lambda h: (h.score, h.term.kind == "category", h.end - h.start))
        score = min(100.0, top_hit.score)
        if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 1.0:
            score = min(score, CONFIDENT - 1.0)  # two categories read equally well: ask
        brand = next(
            (
                h.term.brand
                for h in sorted(brand_hits, key=lambda h: -h.score)
                if best_cat in h.term.category_ids
            ),
            None,
        )
        product_hits = [
            h
            for h in hits
            if h.term.kind == "product"
            and h.term.category_ids == (best_cat,)
            and h.score >= 90
            and (h.end - h.start) >= 1
        ]
        product_id = None
        if product_hits:
            top = max(product_hits, key=lambda h: (h.score, h.end - h.start))
            # Only a named product (alias or full name), not a bare category word.
            if top.term.text not in self._category_texts:
                product_id = top.term.product_id
                brand = brand or top.term.brand
        return Match(
            best_cat,
            round(score, 1),
            text,
            brand=brand,
            product_id=product_id,
            candidates=tuple((c, round(min(v, 100.0), 1)) for c, v in ranked[:3]),
            size=size_phrase(text),
            mention=_widen(top_hit, brand_hits),
        )

    def match_all(self, text: str) -> list[Match]:
        """Several products in one breath ("eggs and milk"): one match per part when the whole
        reads as a tie between categories and each part is confidently a different one."""
        whole = self.match(text)
        parts = [p for p in re.split(r",|\band\b|\bplus\b|&", text) if normalize(p)]
        if whole.confident or len(parts) < 2:
            return [whole] if whole.category_id or whole.candidates else []
        matches = [self.match(p) for p in parts]
        cats = [m.category_id for m in matches]
        if all(m.confident for m in matches) and len(set(cats)) == len(cats):
            return matches
        return [whole]
