import pytest
import yaml
from sqlalchemy import func, select

from shop.catalog import DEMO_CATALOG, load_catalog_file, parse_size, product_by_gtin, to_cents
from shop.errors import InvalidInput, NotFound
from shop.gtin import make_restricted
from shop.models import Category, Product

REQUIRED = """ketchup mustard mayonnaise barbecue-sauce coffee tea milk eggs bread butter cheese
yogurt orange-juice bottled-water cereal pasta rice peanut-butter olive-oil sugar flour
paper-towels toilet-paper facial-tissues dish-soap dishwasher-detergent laundry-detergent
fabric-softener trash-bags aluminum-foil sponges hand-soap shampoo toothpaste deodorant diapers
baby-wipes batteries cat-food dog-food""".split()


def test_demo_catalog_covers_required_categories():
    data = yaml.safe_load(DEMO_CATALOG.read_text())
    cats = {c["id"]: c for c in data["categories"]}
    assert set(REQUIRED) <= set(cats)
    for cat_id in REQUIRED:
        cat = cats[cat_id]
        products = cat["products"]
        assert len(products) >= 3, cat_id
        assert len({(p["brand"], p["name"], p["size"]) for p in products}) == len(products)
        assert len({(p["brand"], p["size"]) for p in products}) >= 3, cat_id
        assert cat["spoken"], cat_id
        assert cat["repurchase_days"] > 0
        for p in products:
            assert p["price"] > 0 and p["size"] and p["name"]


@pytest.mark.parametrize("synonym", ["catsup", "tp", "dish washing liquid", "oj", "mayo"])
def test_catalog_has_spoken_synonyms(synonym):
    data = yaml.safe_load(DEMO_CATALOG.read_text())
    assert any(synonym in c["spoken"] for c in data["categories"])


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("20 oz", (20.0, "oz")),
        ("24 x 16.9 oz", (405.6, "oz")),
        ("12 mega rolls", (12.0, "mega rolls")),
        ("0.5 gal", (0.5, "gal")),
        ("weird", (None, None)),
    ],
)
def test_parse_size(size, expected):
    assert parse_size(size) == expected


def test_to_cents_is_exact():
    assert to_cents(2.49) == 249
    assert to_cents("19.99") == 1999


def test_load_catalog_is_idempotent(store):
    with store.session() as s:
        first = load_catalog_file(s)
    with store.session() as s:
        load_catalog_file(s)
        n_products = s.execute(select(func.count(Product.id))).scalar_one()
        n_categories = s.execute(select(func.count(Category.id))).scalar_one()
    assert n_products == first.products == 165
    assert n_categories == first.categories == 40


def test_product_by_gtin(store):
    with store.session() as s:
        load_catalog_file(s)
        heinz = product_by_gtin(s, "2000000001012")
        assert heinz.brand == "Heinz" and heinz.size == "20 oz" and heinz.price_cents == 249
        assert heinz.category.spoken_names[:2] == ["ketchup", "catsup"]
        with pytest.raises(NotFound):
            product_by_gtin(s, make_restricted("29", 9_999_999_999))
        with pytest.raises(InvalidInput):
            product_by_gtin(s, "2000000001013")
