"""Following up on a scan: the bridge tells the assistant (external event EXTERNAL_scanned)."""

from __future__ import annotations

from bot.actions.base import ShopAction, Turn
from shop import carts


class ActionScanFollowup(ShopAction):
    def name(self) -> str:
        return "action_scan_followup"

    def handle(self, turn: Turn) -> None:
        product = next((e["value"] for e in turn.entities("scanned_product")), None)
        device = next((e["value"] for e in turn.entities("device")), None)
        cart = carts.get_cart(turn.session, turn.who.household_id)
        scanned = [x for x in cart.lines if x.source == "scanner"]
        if scanned:
            turn.set_last_line(max(scanned, key=lambda x: x.updated_at).id)
        where = f"Your {device} scanner" if device else "Your scanner"
        turn.say(
            f"{where} added {product or 'an item'} to your cart. "
            'Say "make it two" or "remove it" to change that.',
            voice=f"{where} added {product or 'an item'}.",
        )
