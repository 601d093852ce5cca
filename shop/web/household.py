"""The household page (cart, orders, what runs low, offers, devices, preferences, settings) and
the live cart feed the chat and household pages listen to."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from shop import carts, offers, orders, serialize
from shop.devices import list_devices
from shop.errors import DomainError
from shop.households import get_household, set_spending_limit, set_voice_pin
from shop.models import Category, Member, Product, utcnow
from shop.parsing import parse_cents, parse_id
from shop.preferences import (
    brands_by_category,
    list_preferences,
    remove_preference,
    set_preference,
)
from shop.replenishment import running_low
from shop.web.access import household_page, store

bp = Blueprint("household", __name__)

#: The live cart feed checks the cart every CART_POLL_S and holds a connection CART_STREAM_S
#: (the browser reconnects by itself); a comment line every KEEPALIVE_S keeps proxies from
#: closing it. The app config may override the first two.
CART_POLL_S = 0.5
CART_STREAM_S = 300.0
KEEPALIVE_S = 15.0


def _models():  # noqa: ANN202
    return current_app.extensions["dash.resolver"].models()


def cart_json(household_id: int) -> dict:
    with store().session() as s:
        return serialize.cart(carts.get_cart(s, household_id))


@bp.get("/households/<int:household_id>")
@household_page
def household(household_id: int):
    models = _models()
    timing = getattr(models, "timing", None) if models else None
    now = utcnow()
    with store().session() as s:
        home = get_household(s, household_id)
        prefs = list_preferences(s, household_id)
        names = dict(s.query(Category.id, Category.name).all())
        members = {m.id: m.name for m in s.query(Member).filter_by(household_id=household_id)}
        return render_template(
            "household.html",
            home=home,
            cart=serialize.cart(carts.get_cart(s, household_id)),
            orders=[serialize.order(o) for o in orders.list_orders(s, household_id, limit=10)],
            low=running_low(
                s,
                household_id,
                now,
                timing,
                table=current_app.extensions["dash.cycles"].table(s, now, timing),
            ),
            offers=[
                serialize.offer(o)
                for o in offers.current_offers(s, household_id)
                if o.household_id is not None
            ],
            devices=list_devices(s, household_id),
            preferences=[
                {
                    "id": p.id,
                    "category": names.get(p.category_id, p.category_id),
                    "brand": p.brand,
                    "product": s.get(Product, p.product_id).name if p.product_id else None,
                    "member": members.get(p.member_id),
                }
                for p in prefs
            ],
            categories=names,
            brands=brands_by_category(s),
            members=members,
            default_limit=store().settings.default_spending_limit_cents,
        )


def _back(household_id: int, section: str):  # noqa: ANN202
    return redirect(url_for("household.household", household_id=household_id) + f"#{section}")


def _apply(household_id: int, section: str, change, done: str):  # noqa: ANN001, ANN202
    """Run one change in a transaction; a domain error is shown on the page, not a 500."""
    try:
        with store().session() as s:
            change(s)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "ok")
    return _back(household_id, section)


@bp.post("/households/<int:household_id>/preferences")
@household_page
def add_preference(household_id: int):
    form = request.form
    member = form.get("member", "")

    def change(s) -> None:  # noqa: ANN001
        set_preference(
            s,
            household_id,
            form.get("category", ""),
            brand=form.get("brand", ""),
            member_id=parse_id(member),
        )

    return _apply(household_id, "preferences", change, "Preference saved.")


@bp.post("/households/<int:household_id>/preferences/<int:preference_id>/delete")
@household_page
def delete_preference(household_id: int, preference_id: int):
    return _apply(
        household_id,
        "preferences",
        lambda s: remove_preference(s, household_id, preference_id),
        "Preference removed.",
    )


@bp.post("/households/<int:household_id>/settings")
@household_page
def settings(household_id: int):
    form = request.form

    def change(s) -> None:  # noqa: ANN001
        home = get_household(s, household_id)
        limit = form.get("spending_limit", "").strip()
        if limit:
            cents = parse_cents(limit)
            set_spending_limit(home, -1 if cents is None else cents)  # None: the range message
        else:
            set_spending_limit(home, None)
        if form.get("clear_pin"):
            set_voice_pin(home, None)
        elif form.get("voice_pin", "").strip():
            set_voice_pin(home, form["voice_pin"].strip())

    return _apply(household_id, "settings", change, "Settings saved.")


@bp.post("/households/<int:household_id>/offers/<int:offer_id>/<any(accept, decline):answer>")
@household_page
def answer_offer(household_id: int, offer_id: int, answer: str):
    limit = store().settings.max_line_quantity
    if answer == "accept":
        return _apply(
            household_id,
            "offers",
            lambda s: offers.accept(s, household_id, offer_id, source="web", max_quantity=limit),
            "Added to your cart at the offer price.",
        )
    return _apply(
        household_id,
        "offers",
        lambda s: offers.decline(s, household_id, offer_id),
        "Offer dismissed; we won't suggest it for a while.",
    )


@bp.get("/households/<int:household_id>/cart.json")
@household_page
def cart(household_id: int):
    return cart_json(household_id)


@bp.get("/households/<int:household_id>/cart/stream")
@household_page
def cart_stream(household_id: int):
    """Server-sent events: the cart as JSON whenever it changes (by chat, voice, a scanner or
    another browser), so an open page follows the household's cart live."""
    shop = store()
    poll = current_app.config.get("CART_POLL_S", CART_POLL_S)
    length = current_app.config.get("CART_STREAM_S", CART_STREAM_S)

    def events() -> Iterator[str]:
        last, quiet = None, 0.0
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + length
        while time.monotonic() < deadline:
            with shop.session() as s:
                body = json.dumps(serialize.cart(carts.get_cart(s, household_id)))
            if body != last:
                last, quiet = body, 0.0
                yield f"event: cart\ndata: {body}\n\n"
            elif quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            time.sleep(poll)
            quiet += poll

    return Response(
        events(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
