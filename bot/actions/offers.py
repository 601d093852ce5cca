"""Deals in conversation: the household's personal offers (or bestseller deals for visitors),
one offered after an item is added, and "yes" adding it at the offered price."""

from __future__ import annotations

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join, money, product_name
from shop import offers
from shop.models import Offer, Product, utcnow


def describe(offer: Offer, voice: bool) -> str:
    name = product_name(offer.product, voice)
    return f"{name}, {offer.discount_pct}% off at {money(offer.price_cents, voice)}"


class ActionDeals(ShopAction):
    needs_household = False

    def name(self) -> str:
        return "action_deals"

    def handle(self, turn: Turn) -> None:
        now = utcnow()
        household = turn.who.household_id
        current = offers.current_offers(turn.session, household, now)
        if household is not None and not any(o.household_id for o in current):
            refresh = turn.ctx.offer_refresher
            if refresh is not None:
                refresh(turn.session, household, now)
                current = offers.current_offers(turn.session, household, now)
        if not current:
            current = offers.refresh_generic(turn.session, now)
            current = offers.current_offers(turn.session, household, now)
        personal = [o for o in current if o.household_id is not None][:3]
        if not current:
            turn.say("No deals right now.")
            return
        if not personal:
            prefix = "No personal deals right now." if household else "Log in for personal deals."
            names = [describe(o, turn.who.voice) for o in current[:3]]
            turn.say(f"{prefix} This week's bestseller deals: {join(names)}.")
            return
        parts = [f"{describe(o, turn.who.voice)} ({o.reason})" for o in personal]
        first = personal[0]
        first.offered_at = now
        turn.set_pending({"type": "offer", "offer_id": first.id})
        turn.say(
            f"Deals for you: {join(parts)}. Add the {first.product.category.name}?",
            voice=f"Deals for you: {join([describe(o, True) for o in personal])}. "
            f"Add the {first.product.category.name}?",
            buttons=[
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No thanks", "payload": "/deny"},
            ],
        )


def maybe_offer(turn: Turn, added: Product) -> None:
    """After an item is added: put one personal offer to the household, at most once a day
    per offer, never for the category just added."""
    household = turn.who.household_id
    if household is None:
        return
    now = utcnow()
    offer = offers.to_present(turn.session, household, now)
    if offer is None or offer.product.category_id == added.category_id:
        return
    offer.offered_at = now
    turn.set_pending({"type": "offer", "offer_id": offer.id})
    name = product_name(offer.product, turn.who.voice)
    if offer.kind == "due":
        text = f"Your usual {offer.product.category.name} is {offer.discount_pct}% off for you"
    else:
        text = f"{name} is {offer.discount_pct}% off for you"
    turn.say(
        f"{text} this week ({money(offer.price_cents, False)}, {offer.reason}). Add it?",
        voice=f"{text} this week. Add it?",
        buttons=[
            {"title": "Yes", "payload": "/affirm"},
            {"title": "No thanks", "payload": "/deny"},
        ],
    )


def accept_offer(turn: Turn, offer_id: int) -> None:
    result = offers.accept(
        turn.session,
        turn.who.household_id,
        offer_id,
        source=turn.who.source,
        added_by=turn.who.member,
        max_quantity=turn.ctx.settings.max_line_quantity,
    )
    turn.set_pending(None)
    turn.set_last_line(result.line.id)
    offer = turn.session.get(Offer, offer_id)
    turn.say(
        f"Added {product_name(offer.product, turn.who.voice)} at "
        f"{money(offer.price_cents, turn.who.voice)}, {offer.discount_pct}% off."
    )


def decline_offer(turn: Turn, offer_id: int) -> None:
    offers.decline(turn.session, turn.who.household_id, offer_id)
    turn.set_pending(None)
    days = turn.ctx.settings.offer_decline_days
    turn.say(f"OK, no problem. I won't offer it again for {days} days.")
