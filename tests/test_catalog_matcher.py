"""The CatalogMatcher Rasa component on real messages (tokens from Rasa's own tokenizer)."""

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.catalog_matcher import PRODUCT_TOKEN, CatalogMatcher, parse_quantity
from shop.catalog import demo_snapshot


@pytest.fixture(scope="module")
def component(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    demo_snapshot().to_json(path)
    return CatalogMatcher({"catalog_path": str(path)})


def message(text: str) -> Message:
    m = Message(data={TEXT: text})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([m])
    return m


def test_entities_carry_the_match_and_products_are_marked(component):
    m = message("add two bottles of heinz ketchup")
    m.set(
        "entities",
        [
            {
                "entity": "product",
                "value": "ketchup",
                "start": 25,
                "end": 32,
                "extractor": "SpacyEntityExtractor",
            }
        ],
    )
    component.process([m])
    products = [e for e in m.get("entities") if e["entity"] == "product"]
    assert len(products) == 1  # the ruler's entity is replaced, not duplicated
    p = products[0]
    assert p["category_id"] == "ketchup" and p["brand"] == "Heinz" and p["score"] == 100.0
    assert (
        p["value"] == "heinz ketchup"
        and "add two bottles of heinz ketchup"[p["start"] : p["end"]] == "heinz ketchup"
    )
    assert [e["value"] for e in m.get("entities") if e["entity"] == "quantity"] == [2]
    tokens = [t.text for t in m.get(TOKENS_NAMES[TEXT])]
    assert tokens == ["add", "two", "bottles", "of", "heinz", "ketchup", PRODUCT_TOKEN]


def test_unclear_mentions_carry_candidates_and_are_not_marked(component):
    m = message("add kitty litter")
    component.process([m])
    (p,) = [e for e in m.get("entities") if e["entity"] == "product"]
    assert p["score"] < 85 and p["candidates"]
    assert PRODUCT_TOKEN not in [t.text for t in m.get(TOKENS_NAMES[TEXT])]


def test_nothing_for_small_talk(component):
    m = message("what's the time")
    component.process([m])
    assert m.get("entities") == []


def test_training_examples_are_marked_the_same_way(component):
    example = message("we ran out of paper towels")
    component.process_training_data(TrainingData([example]))
    tokens = [t.text for t in example.get(TOKENS_NAMES[TEXT])]
    assert tokens == ["we", "ran", "out", "of", "paper", "towels", PRODUCT_TOKEN]


@pytest.mark.parametrize(
    ("text", "qty"),
    [
        ("add 3 milk", 3),
        ("two coffee", 2),
        ("heinz ketchup 32 oz", None),
        ("a couple of eggs", 2),
        ("make it twelve", 12),
        ("add milk", None),
    ],
)
def test_quantities(text, qty):
    found = parse_quantity(text)
    assert (found[0] if found else None) == qty


def test_missing_snapshot_does_not_crash(tmp_path):
    component = CatalogMatcher({"catalog_path": str(tmp_path / "none.json")})
    m = message("add milk")
    component.process([m])
    assert not m.get("entities")


def test_the_matcher_is_built_when_rasa_creates_the_component(tmp_path):
    """Built while the model loads (a 92k catalog takes seconds), not in the first turn."""
    path = tmp_path / "catalog.json"
    demo_snapshot().to_json(path)
    component = CatalogMatcher.create({"catalog_path": str(path)}, None, None, None)
    assert component._matcher is not None
    missing = CatalogMatcher.create({"catalog_path": str(tmp_path / "none.json")}, None, None, None)
    assert missing._matcher is None
