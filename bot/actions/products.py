"""Questions about products, open to anonymous visitors: they get bestsellers."""

from __future__ import annotations

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join, money, product_name


class ActionAskProduct(ShopAction):
    needs_household = False

    def name(self) -> str:
        return "action_ask_product"

    def handle(self, turn: Turn) -> None:
        matches = [m for m in turn.matches() if m.category_id and m.confident]
        if not matches:
            turn.say("Which product are you asking about?")
            return
        choice = turn.ctx.resolver.resolve_match(
            turn.session, matches[0], turn.who.household_id, member=turn.who.member
        )
        if choice.product is None:
            turn.say(f"Sorry, we have no {matches[0].text.strip()} right now.")
            return
        others = [
            f"{product_name(p, turn.who.voice)} ({money(p.price_cents, turn.who.voice)})"
            for p in choice.alternatives[:2]
        ]
        top = product_name(choice.product, turn.who.voice)
        also = f" Also: {join(others)}." if others else ""
        turn.say(
            f"{top}, {money(choice.product.price_cents, False)} ({choice.reason}).{also}",
            voice=f"{top} is {money(choice.product.price_cents, True)}, {choice.reason}.",
        )
