"""Personal offers: pick, price, cap by budget, present, accept or decline, expire.

The recommender (``recommender.offers``) says *what* a household would like but would not buy
anyway, and why; this module turns that into priced, dated offers under a per-household budget
per period, and keeps the rules people expect: an offer expires, a declined product is not
offered again for a while, an accepted offer adds the item at the offered price, and visitors
who are not logged in get generic bestseller deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from shop import carts
from shop.config import Settings
from shop.errors import InvalidInput, NotFound
from shop.households import lock_household
from shop.models import Household, Offer, Product, Purchase, utcnow

#: Discount by kind: discovery needs the strongest nudge, a due usual the smallest.
DISCOUNT_PCT = {"discovery": 20, "winback": 15, "due": 10, "bestseller": 10}
GENERIC_DEALS = 3


@dataclass(frozen=True)
class Suggestion:
    """One product the engine would discount for a household, with the reason to show."""

    product_id: int
    kind: str
    reason: str
    score: float = 0.0


def offer_price(price_cents: int, pct: int) -> int:
    return max(1, round(price_cents * (100 - pct) / 100))


def expire(session: Session, now: datetime | None = None) -> int:
    """Close open offers past their end; returns how many."""
    now = now or utcnow()
    res = session.execute(
        update(Offer)
        .where(Offer.status == "open", Offer.expires_at <= now)
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)


def spent_in_period(session: Session, household_id: int, now: datetime, settings: Settings) -> int:
    """Discount money promised to a household this period: open and accepted offers count."""
    since = now - timedelta(days=settings.offer_period_days)
    rows = session.execute(
        select(Offer.price_cents, Product.price_cents)
        .join(Product, Product.id == Offer.product_id)
        .where(
            Offer.household_id == household_id,
            Offer.created_at >= since,
            Offer.status.in_(("open", "accepted")),
        )
    ).all()
    return sum(max(0, full - offered) for offered, full in rows)


def blocked_products(session: Session, household_id: int, now: datetime, settings: Settings):
    """Products not to offer now: already on offer, or declined recently."""
    since = now - timedelta(days=settings.offer_decline_days)
    rows = session.execute(
        select(Offer.product_id).where(
            Offer.household_id == household_id,
            or_(
                Offer.status == "open",
                (Offer.status == "declined") & (Offer.responded_at >= since),
            ),
        )
    ).scalars()
    return set(rows)


def create_offers(
    session: Session,
    household_id: int,
    suggestions: list[Suggestion],
    settings: Settings,
    now: datetime | None = None,
    valid_days: int = 7,
) -> list[Offer]:
    """Turn suggestions into offers, best first, until the household's count or budget is full."""
    now = now or utcnow()
    blocked = blocked_products(session, household_id, now, settings)
    open_count = session.execute(
        select(func.count()).where(Offer.household_id == household_id, Offer.status == "open")
    ).scalar_one()
    budget = settings.offer_budget_cents - spent_in_period(session, household_id, now, settings)
    made: list[Offer] = []
    for s in suggestions:
        if open_count + len(made) >= settings.offers_per_household:
            break
        if s.product_id in blocked:
            continue
        product = session.get(Product, s.product_id)
        if product is None or not product.active:
            continue
        pct = DISCOUNT_PCT.get(s.kind, 10)
        price = offer_price(product.price_cents, pct)
        cost = product.price_cents - price
        if cost > budget:
            continue
        budget -= cost
        blocked.add(product.id)
        offer = Offer(
            household_id=household_id,
            product_id=product.id,
            discount_pct=pct,
            price_cents=price,
            reason=s.reason[:200],
            kind=s.kind,
            created_at=now,
            starts_at=now,
            expires_at=now + timedelta(days=valid_days),
        )
        session.add(offer)
        made.append(offer)
    session.flush()
    return made


def refresh_generic(session: Session, now: datetime | None = None, days: int = 28) -> list[Offer]:
    """Bestseller deals for everyone (logged-out visitors), renewed when the old ones end."""
    now = now or utcnow()
    current = (
        session.execute(
            select(Offer).where(
                Offer.household_id.is_(None), Offer.status == "open", Offer.expires_at > now
            )
        )
        .scalars()
        .all()
    )
    if current:
        return list(current)
    query = (
        select(Purchase.product_id, func.sum(Purchase.quantity).label("units"))
        .group_by(Purchase.product_id)
        .order_by(func.sum(Purchase.quantity).desc(), Purchase.product_id)
        .limit(GENERIC_DEALS)
    )
    # This month's bestsellers; a shop with no recent sales falls back to all-time ones.
    best = (
        session.execute(query.where(Purchase.purchased_at >= now - timedelta(days=days))).all()
        or session.execute(query).all()
    )
    made = []
    for product_id, _units in best:
        product = session.get(Product, product_id)
        pct = DISCOUNT_PCT["bestseller"]
        offer = Offer(
            household_id=None,
            product_id=product_id,
            discount_pct=pct,
            price_cents=offer_price(product.price_cents, pct),
            reason="a bestseller this month",
            kind="bestseller",
            created_at=now,
            starts_at=now,
            expires_at=now + timedelta(days=7),
        )
        session.add(offer)
        made.append(offer)
    session.flush()
    return made


def current_offers(
    session: Session, household_id: int | None, now: datetime | None = None
) -> list[Offer]:
    """Open offers a household (or a visitor, ``None``) can take now: personal ones first."""
    now = now or utcnow()
    who = (
        or_(Offer.household_id == household_id, Offer.household_id.is_(None))
        if household_id is not None
        else Offer.household_id.is_(None)
    )
    return list(
        session.execute(
            select(Offer)
            .where(Offer.status == "open", Offer.starts_at <= now, Offer.expires_at > now, who)
            .order_by(Offer.household_id.is_(None), Offer.discount_pct.desc(), Offer.id)
        ).scalars()
    )


def _offer_for(
    session: Session, household_id: int, offer_id: int, now: datetime, *, fresh: bool = False
) -> Offer:
    offer = session.get(Offer, offer_id, populate_existing=fresh)
    if offer is None or offer.household_id not in (None, household_id):
        raise NotFound(f"offer {offer_id} not found")
    if offer.status != "open" or offer.expires_at <= now:
        raise InvalidInput(f"that offer is no longer available ({offer.status})")
    return offer


def accept(
    session: Session,
    household_id: int,
    offer_id: int,
    *,
    quantity: int = 1,
    source: str = "api",
    added_by: str | None = None,
    max_quantity: int = 50,
    now: datetime | None = None,
) -> carts.AddResult:
    """Add the offered product at the offered price; a personal offer is used up. The household
    is held before the offer is read: two accepts at once would both find it open."""
    now = now or utcnow()
    lock_household(session, household_id)
    offer = _offer_for(session, household_id, offer_id, now, fresh=True)
    result = carts.add_item(
        session,
        household_id,
        offer.product_id,
        quantity,
        source=source,
        added_by=added_by,
        unit_price_cents=offer.price_cents,
        offer_id=offer.id,
        max_quantity=max_quantity,
    )
    if offer.household_id is not None:
        offer.status = "accepted"
        offer.responded_at = now
    return result


def decline(session: Session, household_id: int, offer_id: int, now: datetime | None = None):
    """Not interested: the offer closes and its product is not offered again for a while."""
    now = now or utcnow()
    offer = _offer_for(session, household_id, offer_id, now)
    if offer.household_id is None:
        return offer  # a generic deal stays for everyone else
    offer.status = "declined"
    offer.responded_at = now
    return offer


def to_present(
    session: Session, household_id: int, now: datetime | None = None, *, hours: int = 24
) -> Offer | None:
    """The personal offer to mention after an item is added: one not put to the household in
    the last ``hours``, so the assistant does not repeat itself every turn."""
    now = now or utcnow()
    for offer in current_offers(session, household_id, now):
        if offer.household_id is None:
            continue
        if offer.offered_at is None or offer.offered_at <= now - timedelta(hours=hours):
            return offer
    return None


def open_counts(session: Session) -> dict[int, int]:
    """Open offers per household."""
    rows = session.execute(
        select(Offer.household_id, func.count())
        .where(Offer.status == "open", Offer.household_id.is_not(None))
        .group_by(Offer.household_id)
    ).all()
    return {int(h): int(n) for h, n in rows}


def household_ids(session: Session) -> list[int]:
    return list(session.execute(select(Household.id).order_by(Household.id)).scalars())
