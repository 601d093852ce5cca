"""Cart operations shared by every channel. Each call is one unit of work on a Session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.catalog import get_product
from shop.errors import InvalidInput, NotFound
from shop.households import get_household, lock_household
from shop.models import Cart, CartLine, utcnow

CHANNELS = ("chat", "voice", "scanner", "web", "api")


@dataclass(frozen=True)
class AddResult:
    line: CartLine
    #: True when the product was already in the cart and its quantity was raised.
    merged: bool


def get_cart(session: Session, household_id: int, *, lock: bool = False) -> Cart:
    """The household's open cart, created on first use. ``lock``: for a change that reads the
    cart before writing it, hold the household (``lock_household``) and the cart's lines
    until the unit of work ends, so concurrent changes from several workers and channels run
    one after the other instead of losing updates (the scanner bridge's upsert included)."""
    if lock:
        lock_household(session, household_id)
    else:
        get_household(session, household_id)
    query = select(Cart).where(Cart.household_id == household_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    cart = session.execute(query).scalar_one_or_none()
    if cart is None:
        cart = Cart(household_id=household_id)
        session.add(cart)
        session.flush()
    elif lock:
        session.execute(
            select(CartLine)
            .where(CartLine.cart_id == cart.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    return cart


def check_quantity(quantity: object, max_quantity: int, *, allow_zero: bool = False) -> int:
    """Quantities are whole numbers from 1 (or 0 when allowed) to ``max_quantity``."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput("quantity must be a whole number")
    low = 0 if allow_zero else 1
    if not low <= quantity <= max_quantity:
        raise InvalidInput(f"quantity must be between {low} and {max_quantity}")
    return quantity


def add_item(
    session: Session,
    household_id: int,
    product_id: int,
    quantity: int = 1,
    *,
    source: str = "api",
    added_by: str | None = None,
    unit_price_cents: int | None = None,
    offer_id: int | None = None,
    max_quantity: int = 50,
) -> AddResult:
    """Add a product; if it is already in the cart, raise that line's quantity instead (an
    accepted offer then sets the line's price to the offered one)."""
    check_quantity(quantity, max_quantity)
    if source not in CHANNELS:
        raise InvalidInput(f"source must be one of {', '.join(CHANNELS)}")
    product = get_product(session, product_id)
    cart = get_cart(session, household_id, lock=True)
    line = session.execute(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.product_id == product.id)
    ).scalar_one_or_none()
    now = utcnow()
    if line is not None:
        new_qty = line.quantity + quantity
        if new_qty > max_quantity:
            raise InvalidInput(
                f"that would make {new_qty} of {product.name}; the most per line is {max_quantity}"
            )
        line.quantity = new_qty
        line.updated_at = now
        if offer_id is not None and unit_price_cents is not None:
            line.unit_price_cents, line.offer_id = unit_price_cents, offer_id
        merged = True
    else:
        line = CartLine(
            cart_id=cart.id,
            product_id=product.id,
            quantity=quantity,
            unit_price_cents=(
                product.price_cents if unit_price_cents is None else unit_price_cents
            ),
            offer_id=offer_id,
            source=source,
            added_by=added_by,
            added_at=now,
            updated_at=now,
        )
        session.add(line)
        merged = False
    cart.updated_at = now
    session.flush()
    return AddResult(line=line, merged=merged)


def _line(session: Session, household_id: int, line_id: int) -> CartLine:
    cart = get_cart(session, household_id)
    line = session.get(CartLine, line_id)
    if line is None or line.cart_id != cart.id:
        raise NotFound(f"no line {line_id} in household {household_id}'s cart")
    return line


def set_quantity(
    session: Session, household_id: int, line_id: int, quantity: int, max_quantity: int = 50
) -> CartLine | None:
    """Change a line's quantity; 0 removes it (and returns None)."""
    check_quantity(quantity, max_quantity, allow_zero=True)
    line = _line(session, household_id, line_id)
    if quantity == 0:
        session.delete(line)
        session.flush()
        return None
    line.quantity = quantity
    line.updated_at = utcnow()
    session.flush()
    return line


def remove_line(session: Session, household_id: int, line_id: int) -> None:
    session.delete(_line(session, household_id, line_id))
    session.flush()


def cart_total_cents(cart: Cart) -> int:
    return sum(line.quantity * line.unit_price_cents for line in cart.lines)
