"""Checkout (with an explicit yes), cancelling and order status."""

from __future__ import annotations

from rasa_sdk.events import FollowupAction
from sqlalchemy import select

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join, money, product_name, quantity_of
from shop import carts, orders
from shop.households import get_household, spending_limit_cents
from shop.models import Order


class ActionCheckout(ShopAction):
    """Reads back items and total and asks; nothing is ordered without an explicit yes."""

    def name(self) -> str:
        return "action_checkout"

    def handle(self, turn: Turn) -> None:
        household = get_household(turn.session, turn.who.household_id)
        cart = carts.get_cart(turn.session, household.id)
        if not cart.lines:
            turn.say("Your cart is empty, so there is nothing to order.")
            return
        total = carts.cart_total_cents(cart)
        limit = spending_limit_cents(household, turn.ctx.settings.default_spending_limit_cents)
        if total > limit:
            turn.say(
                f"Your cart comes to {money(total, False)}, above your spending limit of "
                f"{money(limit, False)} per order, so I can't place it. Remove something or "
                "raise the limit.",
                voice=f"Your cart comes to {money(total, True)}, which is above your limit of "
                f"{money(limit, True)}, so I can't place it.",
            )
            return
        items = [quantity_of(x.quantity, product_name(x.product)) for x in cart.lines]
        spoken = [f"{x.quantity} {product_name(x.product, True)}" for x in cart.lines]
        turn.set_pending({"type": "checkout", "total_cents": total})
        turn.say(
            f"Your order: {join(items)}. Total {money(total, False)}. Shall I place it?",
            voice=f"That's {join(spoken)}, for {money(total, True)}. Shall I place the order?",
            buttons=[
                {"title": "Yes, place it", "payload": "/affirm"},
                {"title": "Not yet", "payload": "/deny"},
            ],
        )


def place_order(turn: Turn, pending: dict | None = None) -> None:
    """After the yes (and, by voice, the household's PIN if it set one)."""
    from bot.actions.voice_pin import ask_pin, needs_pin

    pending = pending if pending is not None else (turn.pending or {})
    # Held from here to the order (shop.households.lock_household): a scan or a web add landing
    # between this check and the checkout would otherwise be ordered without being read back.
    cart = carts.get_cart(turn.session, turn.who.household_id, lock=True)
    if carts.cart_total_cents(cart) != pending.get("total_cents"):
        turn.set_pending(None)
        turn.say('Your cart changed since I read it back. Say "check out" again to confirm it.')
        return
    if not pending.get("pin_ok") and needs_pin(turn):
        ask_pin(turn, pending)
        return
    order = orders.checkout(
        turn.session,
        turn.who.household_id,
        channel=turn.who.source,
        default_limit_cents=turn.ctx.settings.default_spending_limit_cents,
    )
    turn.set_pending(None)
    turn.set_last_line(None)
    # A new conversation session per order: the order closes the topic, and Rasa's policies
    # re-read the whole session every turn (a 200-turn conversation would otherwise answer
    # ever slower). The cart and orders live in the store, so nothing is lost.
    turn.events.append(FollowupAction("action_session_start"))
    turn.say(
        f"Done! Order {order.id} is placed, {money(order.total_cents, False)}.",
        voice=f"Done. Your order is placed, {money(order.total_cents, True)}.",
    )


def _last_order(turn: Turn, status: str | None = None) -> Order | None:
    query = select(Order).where(Order.household_id == turn.who.household_id)
    if status:
        query = query.where(Order.status == status)
    return turn.session.execute(
        query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(1)
    ).scalar_one_or_none()


class ActionCancelOrder(ShopAction):
    def name(self) -> str:
        return "action_cancel_order"

    def handle(self, turn: Turn) -> None:
        order = _last_order(turn, "placed")
        if order is None:
            turn.say("You have no open order to cancel.")
            return
        turn.set_pending({"type": "cancel", "order_id": order.id})
        turn.say(
            f"Cancel order {order.id} from {order.placed_at:%b %d} "
            f"({money(order.total_cents, False)})?",
            voice=f"Cancel your order of {money(order.total_cents, True)}?",
            buttons=[
                {"title": "Yes, cancel it", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        )


class ActionOrderStatus(ShopAction):
    def name(self) -> str:
        return "action_order_status"

    def handle(self, turn: Turn) -> None:
        order = _last_order(turn)
        if order is None:
            turn.say("You haven't placed any orders yet.")
            return
        items = join([product_name(x.product, turn.who.voice) for x in order.lines][:3])
        more = "" if len(order.lines) <= 3 else f" and {len(order.lines) - 3} more"
        turn.say(
            f"Your last order ({order.id}, {order.placed_at:%b %d %H:%M}) is {order.status}: "
            f"{items}{more}, {money(order.total_cents, False)}.",
            voice=f"Your last order is {order.status}: {items}{more}.",
        )
