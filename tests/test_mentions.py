"""The catalog mention matcher on the demo catalog: noisy words in, categories out."""

import pytest

from shop.catalog import demo_snapshot
from shop.mentions import (
    CONFIDENT,
    CatalogSnapshot,
    MentionMatcher,
    inflections,
    size_phrase,
    sound_key,
)


@pytest.fixture(scope="module")
def matcher():
    return MentionMatcher(demo_snapshot())


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ketchup", "ketchup"),
        ("ketchap", "ketchup"),  # typo
        ("catch up", "ketchup"),  # speech recognition
        ("catsup", "ketchup"),  # synonym
        ("heinz tomato sauce", "ketchup"),  # brand + synonym
        ("tooth paste", "toothpaste"),
        ("paper tower", "paper-towels"),
        ("tp", "toilet-paper"),
        ("dish washing liquid", "dish-soap"),
        ("eggs", "eggs"),
        ("egg", "eggs"),  # singular
        ("sponge", "sponges"),
        ("batteries", "batteries"),
        ("battery", "batteries"),
        ("diaper", "diapers"),
        ("mayonaise", "mayonnaise"),
        ("deodorent", "deodorant"),
        ("add two bottles of ketchup please", "ketchup"),
        ("we ran out of loo roll", "toilet-paper"),
        ("tide pods", "laundry-detergent"),
        ("folgers", "coffee"),
        ("peanut butter", "peanut-butter"),  # not butter
        ("barbeque sauce", "barbecue-sauce"),
    ],
)
def test_noisy_mentions_find_the_category(matcher, text, category):
    m = matcher.match(text)
    assert m.category_id == category and m.confident, m


@pytest.mark.parametrize(
    "text",
    [
        "a dollhouse",
        "play some jazz",
        "set a timer",
        "buy a car",
        "turn on the lights",
        "order a pizza",
    ],
)
def test_things_we_do_not_sell_get_nothing_confident(matcher, text):
    m = matcher.match(text)
    assert not m.confident, m


def test_short_words_match_exactly_only(matcher):
    assert matcher.match("tea").category_id == "tea"
    assert matcher.match("tee").category_id != "toilet-paper"


def test_brand_alone_is_ambiguous_when_it_makes_several_things(matcher):
    m = matcher.match("heinz")
    assert m.category_id is None and m.brand == "Heinz"
    assert {c for c, _ in m.candidates} == {"ketchup", "mustard"}


def test_brand_with_category_names_the_brand(matcher):
    m = matcher.match("add two bottles of hunts ketchup")
    assert m.category_id == "ketchup" and m.brand == "Hunt's"
    assert m.mention == "hunts ketchup"


def test_named_product_is_identified(matcher):
    m = matcher.match("tide pods")
    assert m.product_id is not None and m.brand == "Tide"
    assert matcher.match("ketchup").product_id is None


def test_size_phrases():
    assert size_phrase("the big coffee") == "big"
    assert size_phrase("heinz ketchup 32 oz") == "32 oz"
    assert size_phrase("two milk") is None


def test_several_products_in_one_request(matcher):
    found = [m.category_id for m in matcher.match_all("add eggs and milk")]
    assert found == ["eggs", "milk"]
    assert [m.category_id for m in matcher.match_all("peanut butter")] == ["peanut-butter"]


def test_low_scores_offer_candidates(matcher):
    m = matcher.match("kitty litter")
    assert m.score < CONFIDENT


def test_helpers():
    assert sound_key("catch up") == sound_key("ketchup")
    assert {"paper towel", "paper towels"} <= inflections("paper towels")
    assert "batteries" in inflections("battery")


def test_snapshot_round_trip(tmp_path):
    snap = demo_snapshot()
    snap.to_json(tmp_path / "c.json")
    again = CatalogSnapshot.from_json(tmp_path / "c.json")
    assert again.categories == snap.categories and again.products == snap.products
