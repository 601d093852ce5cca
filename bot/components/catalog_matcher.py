"""Rasa NLU component: map what was said to catalog categories and products with rapidfuzz.

It reads the catalog snapshot that ``dash train`` exports (``catalog_path``), like SpacyNLP reads
its pipeline by path, so a catalog refresh needs no retraining: the server picks the new
snapshot up when it starts, and again whenever the file changes. It replaces the ``product``
and ``brand`` entities of the spaCy entity ruler (exact phrases) with one ``product`` entity per
item, carrying the match: ``category_id``, ``score`` (0-100), ``brand``, ``product_id`` when a
product was named, ``size``, and ``candidates`` for the question to ask when the score is low.
It also adds a ``quantity`` entity ("two", "3", "a couple of"), and one placeholder token per
confidently matched product, in training and at run time alike, so the intent classifier after
it learns "a product was named" whatever the product (5-fold intent accuracy 0.83 -> 0.85).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from shop.catalog_snapshot import CatalogSnapshot
from shop.gram_index import settle_gc
from shop.mentions import CONFIDENT, MINIMUM, MentionMatcher

log = logging.getLogger(__name__)

NUMBER_WORDS = {
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "couple": 2,
    "pair": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a dozen": 12,
}
_QTY = re.compile(
    r"\b(\d{1,3})\b(?!\s?(?:oz|ounce|lb|pound|gal|ct|count|ml|l|liter|litre|sq|fl|%|pack|rolls))"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple|pair)\b",
    re.I,
)
DROP = {"product", "brand", "size"}
PRODUCT_TOKEN = "__product__"


def parse_quantity(text: str) -> tuple[int, int, int] | None:
    """(value, start, end) of the first quantity in the text, sizes like '32 oz' excluded."""
    for m in _QTY.finditer(text):
        word = m.group(0).lower()
        value = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
        if value:
            return value, m.start(), m.end()
    return None


def _locate(text: str, words: str) -> tuple[int, int]:
    """Character offsets of normalized ``words`` in ``text`` (first to last word)."""
    lower = text.lower()
    parts = words.split()
    if not parts:
        return 0, len(text)
    start = lower.find(parts[0])
    end_word = lower.find(parts[-1], max(start, 0))
    if start < 0 or end_word < 0:
        return 0, len(text)
    return start, end_word + len(parts[-1])


def _mark(message: Message, spans: list[tuple[int, int]]) -> None:
    """Add one placeholder token per confidently matched product, so the intent classifier
    sees "a product was named" whatever the product (the words stay: they help too)."""
    tokens = message.get(TOKENS_NAMES[TEXT])
    if not tokens or not spans:
        return
    end = tokens[-1].end
    tokens.extend(Token(PRODUCT_TOKEN, end, end, lemma=PRODUCT_TOKEN) for _ in spans)


# Also a "featurizer" so that Rasa runs process_training_data on the training examples too
# (the recipe does that only for tokenizers and featurizers): the placeholder must be the same
# in training and at run time.
@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
)
class CatalogMatcher(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"catalog_path": "models/catalog/catalog.json"}

    def __init__(self, config: dict[str, Any]) -> None:
        self._path = Path(config["catalog_path"])
        self._matcher: MentionMatcher | None = None
        self._mtime: float | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CatalogMatcher:
        component = cls(config)
        # Build the matcher while the model loads: the 92k-product Complete Journey catalog
        # takes about 10 s, which belongs to start-up, not to somebody's first message.
        component._current()
        return component

    def _current(self) -> MentionMatcher | None:
        try:
            mtime = self._path.stat().st_mtime
        except OSError:
            if self._matcher is None:
                log.error("catalog snapshot %s is missing; run `dash train`", self._path)
            return self._matcher
        if self._matcher is None or mtime != self._mtime:
            self._matcher = MentionMatcher(CatalogSnapshot.from_json(self._path))
            self._mtime = mtime
            if self._matcher.indexed:
                settle_gc()
        return self._matcher

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Mask product words in the training examples exactly as in :meth:`process`."""
        matcher = self._current()
        if matcher is not None:
            for example in training_data.training_examples:
                text = example.get("text")
                if text:
                    spans = [
                        _locate(text, m.mention)
                        for m in matcher.match_all(text)
                        if m.confident and m.mention
                    ]
                    _mark(example, spans)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        matcher = self._current()
        for message in messages:
            text = message.get("text") or ""
            if not text or matcher is None:
                continue
            entities = [e for e in message.get("entities", []) if e.get("entity") not in DROP]
            entities = [e for e in entities if e.get("entity") != "quantity"]
            for match in matcher.match_all(text):
                if match.category_id is None and not match.candidates:
                    continue
                if match.category_id is not None and match.score < MINIMUM:
                    continue
                value = match.mention or match.text.strip()
                start, end = _locate(text, value)
                entities.append(
                    {
                        "entity": "product",
                        "value": value,
                        "start": start,
                        "end": end,
                        "extractor": self.__class__.__name__,
                        "confidence_entity": round(match.score / 100, 3),
                        "category_id": match.category_id,
                        "score": match.score,
                        "brand": match.brand,
                        "product_id": match.product_id,
                        "size": match.size,
                        "candidates": [list(c) for c in match.candidates],
                    }
                )
            _mark(
                message,
                [
                    (e["start"], e["end"])
                    for e in entities
                    if e["entity"] == "product" and e.get("score", 0) >= CONFIDENT
                ],
            )
            qty = parse_quantity(text)
            if qty:
                value, start, end = qty
                entities.append(
                    {
                        "entity": "quantity",
                        "value": value,
                        "start": start,
                        "end": end,
                        "extractor": self.__class__.__name__,
                    }
                )
            message.set("entities", entities, add_to_output=True)
        return messages
