"""What is running low, from the household's own purchase cycles."""

from __future__ import annotations

from sqlalchemy import select

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join
from recommender.cycles import due, summarize
from shop.models import Category, Product, Purchase, utcnow


class ActionRunningLow(ShopAction):
    def name(self) -> str:
        return "action_running_low"

    def handle(self, turn: Turn) -> None:
        rows = turn.session.execute(
            select(Product.category_id, Purchase.purchased_at)
            .join(Product, Product.id == Purchase.product_id)
            .where(Purchase.household_id == turn.who.household_id)
        ).all()
        times: dict[str, list] = {}
        for cat, when in rows:
            times.setdefault(cat, []).append(when)
        today = utcnow().date()
        items = due(summarize(times), today)[:5]
        if not items:
            turn.say("Nothing looks due right now.")
            return
        parts = []
        for s, _ratio in items:
            name = turn.session.get(Category, s.key).name
            parts.append(
                f"{name} (every {round(s.median_interval)} days, "
                f"last {s.days_since(today)} days ago)"
            )
        names = [turn.session.get(Category, s.key).name for s, _ in items]
        turn.say(
            f"You may be running low on: {join(parts)}.",
            voice=f"You may be running low on {join(names)}.",
        )
