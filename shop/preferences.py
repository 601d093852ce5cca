"""Brand preferences: "from now on get Hunt's ketchup", set by chat or on the household page.

One row per (household, category, member); a member's row overrides the household's when the
resolver knows who is speaking.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import InvalidInput, NotFound
from shop.households import lock_household
from shop.models import Category, Member, Preference, Product


def list_preferences(session: Session, household_id: int) -> list[Preference]:
    return list(
        session.execute(
            select(Preference)
            .where(Preference.household_id == household_id)
            .order_by(Preference.category_id, Preference.member_id)
        ).scalars()
    )


def set_preference(
    session: Session,
    household_id: int,
    category_id: str,
    *,
    brand: str | None = None,
    product_id: int | None = None,
    member_id: int | None = None,
) -> Preference:
    """Create or replace the preference; a product fixes the brand too. The household is held
    first (``lock_household``): two submissions at once would otherwise both find none and
    create two, since a unique key does not count a missing member as equal to another."""
    lock_household(session, household_id)
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(f"no category {category_id!r}")
    product = session.get(Product, product_id) if product_id is not None else None
    if product_id is not None and (product is None or product.category_id != category_id):
        raise InvalidInput(f"product {product_id} is not in {category.name}")
    brand = product.brand if product else (brand or "").strip()
    if not brand:
        raise InvalidInput("choose a brand or a product")
    known = session.execute(
        select(Product.id).where(Product.category_id == category_id, Product.brand == brand)
    ).first()
    if known is None:
        raise InvalidInput(f"no {brand} in {category.name}")
    if member_id is not None:
        member = session.get(Member, member_id)
        if member is None or member.household_id != household_id:
            raise NotFound(f"no member {member_id} in this household")
    pref = session.execute(
        select(Preference).where(
            Preference.household_id == household_id,
            Preference.category_id == category_id,
            Preference.member_id.is_(None)
            if member_id is None
            else Preference.member_id == member_id,
        )
    ).scalar_one_or_none() or Preference(
        household_id=household_id, category_id=category_id, member_id=member_id
    )
    pref.brand = brand
    pref.product_id = product.id if product else None
    session.add(pref)
    session.flush()
    return pref


def remove_preference(session: Session, household_id: int, preference_id: int) -> None:
    pref = session.get(Preference, preference_id)
    if pref is None or pref.household_id != household_id:
        raise NotFound(f"no preference {preference_id}")
    session.delete(pref)


def brands_by_category(session: Session) -> dict[str, list[str]]:
    """Every active brand per category, for the preference form."""
    out: dict[str, set[str]] = {}
    for category_id, brand in session.execute(
        select(Product.category_id, Product.brand).where(Product.active.is_(True))
    ):
        out.setdefault(category_id, set()).add(brand)
    return {k: sorted(v) for k, v in sorted(out.items())}
