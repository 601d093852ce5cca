"""Deals: the household's personal offers, or this week's bestsellers for everyone else."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join, money, product_name
from shop.models import Offer, Product, Purchase, utcnow


class ActionDeals(ShopAction):
    needs_household = False

    def name(self) -> str:
        return "action_deals"

    def handle(self, turn: Turn) -> None:
        now = utcnow()
        household = turn.who.household_id
        offers = (
            turn.session.execute(
                select(Offer)
                .where(
                    Offer.status == "open",
                    Offer.expires_at > now,
                    Offer.starts_at <= now,
                    or_(Offer.household_id == household, Offer.household_id.is_(None))
                    if household
                    else Offer.household_id.is_(None),
                )
                .order_by(Offer.household_id.is_(None), Offer.discount_pct.desc())
                .limit(3)
            )
            .scalars()
            .all()
        )
        if offers:
            parts = [
                f"{product_name(o.product, turn.who.voice)} {o.discount_pct}% off, "
                f"{money(o.price_cents, turn.who.voice)}" + (f" ({o.reason})" if o.reason else "")
                for o in offers
            ]
            turn.say(f"Deals for you: {join(parts)}.")
            return
        best = turn.session.execute(
            select(Purchase.product_id, func.count())
            .group_by(Purchase.product_id)
            .order_by(func.count().desc())
            .limit(3)
        ).all()
        names = [product_name(turn.session.get(Product, pid), turn.who.voice) for pid, _ in best]
        prefix = "No personal deals right now." if household else "Log in for personal deals."
        turn.say(f"{prefix} This week's bestsellers: {join(names)}." if names else prefix)
