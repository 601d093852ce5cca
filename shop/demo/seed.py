"""Write the demo catalog and generated households into the store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from shop.catalog import load_catalog_file
from shop.demo.generator import CatalogProduct, Params, generate
from shop.models import Category, Household, Member, Preference, Product, Purchase
from shop.store import sync_id_sequence


@dataclass(frozen=True)
class SeedStats:
    categories: int
    products: int
    households: int
    purchases: int
    skipped: bool = False


def catalog_products_and_cycles(
    session: Session,
) -> tuple[list[CatalogProduct], dict[str, int]]:
    """The generator's inputs from the demo catalog in the store."""
    products = [
        CatalogProduct(p.id, p.category_id, p.brand, p.price_cents, p.private_label)
        for p in session.execute(select(Product).where(Product.source == "demo")).scalars()
    ]
    cycles = {
        c.id: c.repurchase_days or 30
        for c in session.execute(select(Category).where(Category.source == "demo")).scalars()
    }
    return products, cycles


def seed_demo(session: Session, params: Params, *, reset: bool = False) -> SeedStats:
    """Load the catalog and, unless demo households exist (or ``reset``), generate them."""
    catalog = load_catalog_file(session)
    demo_ids = select(Household.id).where(Household.external_id.like("demo:%"))
    if session.execute(select(func.count()).select_from(demo_ids.subquery())).scalar_one():
        if not reset:
            return SeedStats(catalog.categories, catalog.products, 0, 0, skipped=True)
        ids = list(session.execute(demo_ids).scalars())
        session.execute(delete(Purchase).where(Purchase.household_id.in_(ids)))
        session.execute(delete(Preference).where(Preference.household_id.in_(ids)))
        session.execute(delete(Member).where(Member.household_id.in_(ids)))
        session.execute(delete(Household).where(Household.id.in_(ids)))
        session.flush()

    products, cycles = catalog_products_and_cycles(session)
    data = generate(products, cycles, params)
    for h in data.households:
        session.add(
            Household(
                id=h.id,
                name=h.name,
                external_id=f"demo:{h.id}",
                segment=h.segment,
                household_size=h.household_size,
                kids=h.kids,
                income_band=h.income_band,
                age_band=h.age_band,
                area=h.area,
            )
        )
    session.flush()
    sync_id_sequence(session, "households")
    member_ids: dict[tuple[int, str], int] = {}
    for h in data.households:
        for name, role in h.members:
            m = Member(household_id=h.id, name=name, role=role)
            session.add(m)
            session.flush()
            member_ids[(h.id, name)] = m.id
        for member, category, product_id in h.preferences:
            brand = next(p.brand for p in products if p.id == product_id)
            session.add(
                Preference(
                    household_id=h.id,
                    member_id=member_ids[(h.id, member)] if member else None,
                    category_id=category,
                    product_id=product_id,
                    brand=brand,
                )
            )
    rows = [
        dict(
            household_id=p.household_id,
            product_id=p.product_id,
            quantity=p.quantity,
            price_paid_cents=p.price_paid_cents,
            discount_cents=p.discount_cents,
            purchased_at=p.purchased_at,
            basket_id=p.basket_id,
            source="demo",
        )
        for p in data.purchases
    ]
    for start in range(0, len(rows), 20_000):
        session.execute(insert(Purchase), rows[start : start + 20_000])
    session.flush()
    return SeedStats(catalog.categories, catalog.products, len(data.households), len(rows))
