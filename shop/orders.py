"""Checkout, order history and cancellation.

A placed order is written to purchase history at once (``source='order'``), so the household's
usual products and purchase cycles learn from it the moment it is placed; cancelling an order
removes those purchases again.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shop.carts import cart_total_cents, get_cart
from shop.errors import Conflict, LimitExceeded, NotFound
from shop.households import get_household, spending_limit_cents
from shop.models import Order, OrderLine, Purchase, utcnow

OPEN_STATUSES = ("placed",)


def checkout(
    session: Session, household_id: int, *, channel: str = "api", default_limit_cents: int
) -> Order:
    """Turn the cart into an order, empty the cart and record the purchases.

    Refuses an empty cart (Conflict) and a total above the household's spending limit
    (LimitExceeded); in both cases nothing changes.
    """
    cart = get_cart(session, household_id, lock=True)  # a second click waits, then finds it empty
    household = get_household(session, household_id)
    if not cart.lines:
        raise Conflict("the cart is empty; nothing to order")
    total = cart_total_cents(cart)
    limit = spending_limit_cents(household, default_limit_cents)
    if total > limit:
        raise LimitExceeded(
            f"the order total {total / 100:.2f} is above the spending limit {limit / 100:.2f}",
            total_cents=total,
            limit_cents=limit,
        )
    now = utcnow()
    order = Order(household_id=household_id, channel=channel, total_cents=total, placed_at=now)
    session.add(order)
    session.flush()
    for line in list(cart.lines):
        session.add(
            OrderLine(
                order_id=order.id,
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
            )
        )
        session.add(
            Purchase(
                household_id=household_id,
                product_id=line.product_id,
                quantity=line.quantity,
                price_paid_cents=line.quantity * line.unit_price_cents,
                discount_cents=0,
                purchased_at=now,
                basket_id=f"order-{order.id}",
                order_id=order.id,
                source="order",
            )
        )
        cart.lines.remove(line)
    cart.updated_at = now
    session.flush()
    session.refresh(order)
    return order


def list_orders(session: Session, household_id: int, limit: int = 50) -> list[Order]:
    get_household(session, household_id)
    rows = session.execute(
        select(Order)
        .where(Order.household_id == household_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


def get_order(session: Session, household_id: int, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.household_id != household_id:
        raise NotFound(f"no order {order_id} for household {household_id}")
    return order


def cancel_order(session: Session, household_id: int, order_id: int) -> Order:
    """Cancel an order that has not been delivered; its purchases leave the history."""
    order = get_order(session, household_id, order_id)
    if order.status not in OPEN_STATUSES:
        raise Conflict(f"order {order_id} is {order.status} and can no longer be cancelled")
    order.status = "cancelled"
    order.cancelled_at = utcnow()
    session.execute(delete(Purchase).where(Purchase.order_id == order.id))
    session.flush()
    return order
