"""The time axis and offers over HTTP: what is running low, personal offers, the forecast."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from shop import offers, serialize
from shop.api.auth import require_household, require_operator
from shop.errors import InvalidInput
from shop.models import utcnow
from shop.parsing import parse_id
from shop.replenishment import HORIZON_DAYS, cycles, running_low
from shop.store import Store

bp = Blueprint("time_axis", __name__, url_prefix="/api")
MAX_DAYS = 28


def _store() -> Store:
    return current_app.extensions["dash.store"]


def _models():
    return current_app.extensions["dash.resolver"].models()


def _days_arg(name: str, default: int) -> int:
    days = parse_id(request.args.get(name, str(default)))
    if days is None or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"'{name}' must be a whole number of days from 1 to {MAX_DAYS}")
    return days


@bp.get("/households/<int:household_id>/replenishment")
def replenishment(household_id: int):
    """What is due within ``days`` (default 7); ``all=1`` lists every regular category."""
    days = _days_arg("days", HORIZON_DAYS)
    models = _models()
    timing = getattr(models, "timing", None) if models else None
    now = utcnow()
    with _store().session() as s:
        require_household(s, household_id)
        table = current_app.extensions["dash.cycles"].table(s, now, timing)
        if request.args.get("all") == "1":
            items = cycles(s, household_id, now, timing, table)
        else:
            items = running_low(s, household_id, now, timing, days, table)
        return jsonify(
            {
                "household": household_id,
                "as_of": now.date().isoformat(),
                "model": "learned" if timing is not None else "rule",
                "items": [c.to_json() for c in items],
            }
        )


@bp.get("/households/<int:household_id>/offers")
def household_offers(household_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        current = offers.current_offers(s, household_id)
        return jsonify({"offers": [serialize.offer(o) for o in current]})


@bp.post("/households/<int:household_id>/offers/<int:offer_id>/accept")
def accept_offer(household_id: int, offer_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        result = offers.accept(
            s,
            household_id,
            offer_id,
            source="web",
            max_quantity=_store().settings.max_line_quantity,
        )
        return jsonify(serialize.cart_line(result.line)), 201


@bp.post("/households/<int:household_id>/offers/<int:offer_id>/decline")
def decline_offer(household_id: int, offer_id: int):
    with _store().session() as s:
        require_household(s, household_id)
        offers.decline(s, household_id, offer_id)
    return "", 204


@bp.get("/offers")
def generic_offers():
    """Deals for visitors who are not logged in: this month's bestsellers."""
    with _store().session() as s:
        current = [o for o in offers.current_offers(s, None)] or offers.refresh_generic(s)
        return jsonify({"offers": [serialize.offer(o) for o in current]})


@bp.get("/forecast")
def forecast():
    """Units per category and delivery area per day for the next ``days`` (operators)."""
    from shop.forecast import demand_forecast

    days = _days_arg("days", 7)
    models = _models()
    with _store().session() as s:
        require_operator(s)
        return jsonify(
            demand_forecast(s, days, getattr(models, "timing", None) if models else None)
        )
