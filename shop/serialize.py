"""Plain-dict views of store objects, shared by the HTTP API, the bot actions and the CLI."""

from __future__ import annotations

from shop.carts import cart_total_cents
from shop.models import Cart, CartLine, Offer, Order, OrderLine, Product
from shop.resolve import ProductChoice


def money(cents: int) -> float:
    return round(cents / 100, 2)


def product(p: Product) -> dict:
    return {
        "id": p.id,
        "gtin": p.gtin,
        "name": p.name,
        "brand": p.brand,
        "size": p.size,
        "price": money(p.price_cents),
        "category": {"id": p.category_id, "name": p.category.name},
        "private_label": p.private_label,
    }


def cart_line(line: CartLine) -> dict:
    return {
        "id": line.id,
        "product": product(line.product),
        "category": {"id": line.product.category_id, "name": line.product.category.name},
        "quantity": line.quantity,
        "unit_price": money(line.unit_price_cents),
        "line_total": money(line.quantity * line.unit_price_cents),
        "source": line.source,
        "added_by": line.added_by,
        "added_at": line.added_at.isoformat() + "Z",
    }


def cart(c: Cart) -> dict:
    return {
        "household_id": c.household_id,
        "lines": [cart_line(line) for line in c.lines],
        "item_count": sum(line.quantity for line in c.lines),
        "total": money(cart_total_cents(c)),
        "updated_at": c.updated_at.isoformat() + "Z",
    }


def order_line(line: OrderLine) -> dict:
    return {
        "product": product(line.product),
        "quantity": line.quantity,
        "unit_price": money(line.unit_price_cents),
        "line_total": money(line.quantity * line.unit_price_cents),
    }


def order(o: Order) -> dict:
    return {
        "id": o.id,
        "household_id": o.household_id,
        "status": o.status,
        "channel": o.channel,
        "total": money(o.total_cents),
        "placed_at": o.placed_at.isoformat() + "Z",
        "lines": [order_line(line) for line in o.lines],
    }


def choice(c: ProductChoice) -> dict:
    """A resolution: the category, the product, alternatives, why, and how sure."""
    m = c.match
    match_conf = m.score / 100
    return {
        "query": m.text,
        "category": {"id": c.category.id, "name": c.category.name} if c.category else None,
        "product": product(c.product) if c.product else None,
        "alternatives": [product(p) for p in c.alternatives],
        "reason": c.reason,
        "confidence": round(match_conf * c.confidence, 3) if c.product else round(match_conf, 3),
        "match": {
            "score": m.score,
            "confident": m.confident,
            "brand": m.brand,
            "candidates": [{"category_id": cid, "score": s} for cid, s in m.candidates],
        },
        "ambiguous": c.ambiguous or not m.confident,
    }


def offer(o: Offer) -> dict:
    return {
        "id": o.id,
        "product": product(o.product),
        "discount_pct": o.discount_pct,
        "price": money(o.price_cents),
        "regular_price": money(o.product.price_cents),
        "kind": o.kind,
        "reason": o.reason,
        "personal": o.household_id is not None,
        "expires_at": o.expires_at.isoformat() + "Z",
    }
