"""Import of the real Complete Journey data (a few households, all products)."""

import pytest
from sqlalchemy import func, select

from shop.gtin import is_restricted, normalize
from shop.importers.completejourney import (
    HOUSEHOLD_OFFSET,
    category_ids,
    import_completejourney,
    load_frames,
    spoken_names_for,
)
from shop.models import Category, Household, Product, Purchase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames():
    return load_frames()


def test_spoken_names_expand_abbreviations():
    assert spoken_names_for("FRZN BAGGED VEGETABLES", None) == ["frozen bagged vegetables"]
    assert (
        spoken_names_for("PREMIUM", "ICE CREAM/MILK/SHERBTS")[0] == "premium ice cream milk sherbts"
    )


def test_category_ids_are_unique_and_stable():
    ids = category_ids(["A/B", "A B", "MILK"])
    assert len(set(ids.values())) == 3 and ids["MILK"] == "cj-milk"
    assert category_ids(["A B", "A/B", "MILK"]) == ids


def test_import_a_few_households(store, frames):
    tx = frames["transactions"]
    first = sorted(tx["household_id"].unique())[:5]
    expected_rows = int(tx["household_id"].isin(first).sum())
    with store.session() as s:
        stats = import_completejourney(s, frames, households=5, progress=False)
    assert stats.households == 5 and stats.purchases == expected_rows
    assert stats.products == frames["products"]["product_id"].nunique() + 17  # 17 unlisted ids
    with store.session() as s:
        assert s.execute(select(func.count(Purchase.id))).scalar_one() == expected_rows
        ketchup = s.get(Category, "cj-catsup")
        assert ketchup.name == "ketchup" and "catsup" in ketchup.spoken_names
        assert ketchup.repurchase_days and ketchup.repurchase_days > 7
        milk = s.get(Category, "cj-fluid-milk-white-only")
        assert milk.name == "milk"
        # The 200 most bought types all have hand-written spoken names.
        p = s.execute(select(Product).where(Product.external_id == "cj:1095275")).scalar_one()
        assert normalize(p.gtin) == p.gtin and is_restricted(p.gtin) and p.gtin.startswith("29")
        assert p.price_cents > 0
        h = s.get(Household, HOUSEHOLD_OFFSET + int(first[0]))
        assert h.external_id == f"cj:{first[0]}"
        with_demographics = s.execute(
            select(func.count(Household.id)).where(Household.income_band.is_not(None))
        ).scalar_one()
        assert with_demographics >= 1
    # Re-running replaces the imported purchases instead of doubling them.
    with store.session() as s:
        import_completejourney(s, frames, households=5, progress=False)
    with store.session() as s:
        assert s.execute(select(func.count(Purchase.id))).scalar_one() == expected_rows


def test_top_200_types_have_curated_names(frames):
    import yaml

    from shop.importers.completejourney import SPOKEN_NAMES

    curated = yaml.safe_load(SPOKEN_NAMES.read_text())
    tx = frames["transactions"].merge(
        frames["products"][["product_id", "product_type"]], on="product_id"
    )
    top = tx["product_type"].value_counts().head(200).index
    assert [t for t in top if t not in curated] == []
