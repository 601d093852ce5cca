"""The shop's HTTP API: carts, checkout, orders and product search."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from shop import carts, orders, serialize
from shop.api.auth import require_household
from shop.catalog import get_product, product_by_gtin
from shop.errors import InvalidInput
from shop.households import get_household
from shop.models import Product
from shop.parsing import MAX_ID, parse_id
from shop.search import ProductIndex, catalog_version
from shop.store import Store

bp = Blueprint("api", __name__, url_prefix="/api")


def _store() -> Store:
    return current_app.extensions["dash.store"]


def _json_body() -> dict:
    if not request.data:
        raise InvalidInput("send a JSON object in the request body")
    try:
        body = request.get_json(silent=True, force=True)
    except RecursionError:  # nested past the decoder's depth; not a ValueError, so not silenced
        body = None
    if body is None:
        raise InvalidInput("the request body is not valid JSON")
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def _int_field(body: dict, name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise InvalidInput(f"'{name}' is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"'{name}' must be a whole number")
    if abs(value) > MAX_ID:
        raise InvalidInput(f"'{name}' is out of range")
    return value


@bp.get("/health")
def health():
    with _store().session() as s:
        s.execute(select(1))
    return jsonify({"status": "ok"})


@bp.get("/households/<int:household_id>/cart")
def get_cart(household_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        return jsonify(serialize.cart(carts.get_cart(s, household_id)))


@bp.post("/households/<int:household_id>/cart/lines")
def add_line(household_id: int):
    settings = _store().settings
    with _store().session() as s:
        require_household(s, household_id)
        body = _json_body()
        if "gtin" in body and "product_id" not in body:
            if not isinstance(body["gtin"], str):
                raise InvalidInput("'gtin' must be a string of digits")
            product_id = product_by_gtin(s, body["gtin"]).id
        else:
            product_id = get_product(s, _int_field(body, "product_id")).id
        source = body.get("source", "api")
        if not isinstance(source, str):
            raise InvalidInput("'source' must be a string")
        result = carts.add_item(
            s,
            household_id,
            product_id,
            _int_field(body, "quantity", 1),
            source=source,
            max_quantity=settings.max_line_quantity,
        )
        payload = serialize.cart_line(result.line) | {"merged": result.merged}
        return jsonify(payload), (200 if result.merged else 201)


@bp.patch("/households/<int:household_id>/cart/lines/<int:line_id>")
def change_line(household_id: int, line_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        body = _json_body()
        line = carts.set_quantity(
            s,
            household_id,
            line_id,
            _int_field(body, "quantity"),
            max_quantity=_store().settings.max_line_quantity,
        )
        return (jsonify(serialize.cart_line(line)), 200) if line else ("", 204)


@bp.delete("/households/<int:household_id>/cart/lines/<int:line_id>")
def delete_line(household_id: int, line_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        carts.remove_line(s, household_id, line_id)
    return "", 204


@bp.post("/households/<int:household_id>/orders")
def place_order(household_id: int):
    store = _store()
    with store.session() as s:
        require_household(s, household_id)
        order = orders.checkout(
            s,
            household_id,
            channel="api",
            default_limit_cents=store.settings.default_spending_limit_cents,
        )
        return jsonify(serialize.order(order)), 201


@bp.get("/households/<int:household_id>/orders")
def list_orders(household_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        return jsonify(
            {"orders": [serialize.order(o) for o in orders.list_orders(s, household_id)]}
        )


@bp.post("/households/<int:household_id>/orders/<int:order_id>/cancel")
def cancel_order(household_id: int, order_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        return jsonify(serialize.order(orders.cancel_order(s, household_id, order_id)))


def _text_arg(what: str) -> str:
    """The ``q`` parameter: required, at most 200 characters."""
    query = request.args.get("q", "").strip()
    if not query:
        raise InvalidInput(f"give {what} with ?q=")
    if len(query) > 200:
        raise InvalidInput(f"{what} is longer than 200 characters")
    return query


@bp.get("/products/search")
def search_products():
    query = _text_arg("a search text")
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError as exc:
        raise InvalidInput("'limit' must be a whole number") from exc
    if not 1 <= limit <= 50:
        raise InvalidInput("'limit' must be between 1 and 50")
    with _store().session() as s:
        index = _product_index(s)
        hits = index.search(query, limit=limit)
        by_id = {
            p.id: p
            for p in s.execute(
                select(Product).where(Product.id.in_([h.product_id for h in hits]))
            ).scalars()
        }
        results = [
            serialize.product(by_id[h.product_id]) | {"score": h.score}
            for h in hits
            if h.product_id in by_id
        ]
    return jsonify({"query": query, "results": results})


@bp.get("/products/resolve")
def resolve_product():
    """What product does this mention mean, for this household (or an anonymous visitor)?"""
    query = _text_arg("what was said")
    raw_household = request.args.get("household")
    household_id = None
    with _store().session() as s:
        if raw_household is not None:
            household_id = parse_id(raw_household)
            if household_id is None:
                raise InvalidInput("'household' must be a household id")
            require_household(s, household_id)
            get_household(s, household_id)
        resolver = current_app.extensions["dash.resolver"]
        choice = resolver.resolve_text(
            s,
            query,
            household_id,
            member=request.args.get("member") or None,
            size=request.args.get("size") or None,
        )
        return jsonify(serialize.choice(choice))


def _product_index(session) -> ProductIndex:
    """The app's search index, rebuilt when the catalog has changed since it was built."""
    holder = current_app.extensions["dash.search"]
    index = holder.get("index")
    if index is None or index.version != catalog_version(session):
        index = ProductIndex.build(session)
        holder["index"] = index
    return index
