"""Cart actions: add, choose, confirm, change, remove, read back, reorder."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.actions.adding import add_mentions, add_product, proceed_with_choice
from bot.actions.base import ShopAction, Turn
from bot.actions.speech import ORDINALS, join, money, product_name, quantity_of
from shop import carts, orders
from shop.models import CartLine, Category, Order, Product, Purchase
from shop.resolve import choose


class ActionAddToCart(ShopAction):
    def name(self) -> str:
        return "action_add_to_cart"

    def handle(self, turn: Turn) -> None:
        if turn.pending and turn.pending.get("type") in ("choose_product", "choose_category"):
            if pick_option(turn):
                return
        add_mentions(turn, turn.matches(), turn.quantity())


def _option_index(turn: Turn, options: list, names: list[str], products: list | None) -> int | None:
    """Which option the user picked: a button, an ordinal, a size or price word, or a name."""
    for e in turn.entities("choice"):
        try:
            index = int(e["value"])
        except (TypeError, ValueError):
            continue
        if 0 <= index < len(options):
            return index
    text = turn.text.lower()
    for i, word in enumerate(ORDINALS[: len(options)]):
        if re.search(rf"\b({word}|number {i + 1}|option {i + 1})\b", text):
            return i
    if re.search(r"\b(last|latter)\b", text):
        return len(options) - 1
    if products:
        sized = [(p.size_value or 0, i) for i, p in enumerate(products)]
        if re.search(r"\b(big|bigger|biggest|large|larger|largest)\b", text):
            return max(sized)[1]
        if re.search(r"\b(small|smaller|smallest|little)\b", text):
            return min(sized)[1]
        if re.search(r"\b(cheap|cheaper|cheapest)\b", text):
            return min((p.price_cents, i) for i, p in enumerate(products))[1]
        for i, p in enumerate(products):
            if re.sub(r"[^a-z]", "", p.brand.lower()) in re.sub(r"[^a-z]", "", text):
                if sum(q.brand == p.brand for q in products) == 1:
                    return i
    for i, name in enumerate(names):
        if name.lower() in text:
            return i
    for m in turn.matches():
        if m.category_id in options:
            return options.index(m.category_id)
    return None


def pick_option(turn: Turn) -> bool:
    """Answer a pending 'A or B?' question; False if this turn does not answer it."""
    pending = turn.pending or {}
    options = pending.get("options") or []
    quantity = pending.get("quantity")
    if pending.get("type") == "choose_category":
        cats = [turn.session.get(Category, c) for c in options]
        index = _option_index(turn, options, [c.name for c in cats], None)
        if index is None:
            return False
        choice = choose(turn.session, cats[index], turn.who.household_id, member=turn.who.member)
        turn.set_pending(None)
        proceed_with_choice(turn, choice, quantity)
        return True
    if pending.get("type") == "choose_product":
        products = [turn.session.get(Product, p) for p in options]
        index = _option_index(turn, options, [p.name for p in products], products)
        if index is None:
            return False
        add_product(turn, products[index], quantity or 1, "")
        return True
    return False


class ActionChooseOption(ShopAction):
    def name(self) -> str:
        return "action_choose_option"

    def handle(self, turn: Turn) -> None:
        if not turn.pending:
            turn.say("Sorry, choose from what? Tell me what you'd like to add.")
        elif not pick_option(turn):
            turn.say('Sorry, which one? You can say "the first one" or "the second one".')


class ActionAffirm(ShopAction):
    def name(self) -> str:
        return "action_affirm"

    def handle(self, turn: Turn) -> None:
        pending = turn.pending or {}
        kind = pending.get("type")
        if kind == "duplicate":
            set_line_quantity(turn, pending["line_id"], turn.quantity() or pending["quantity"])
        elif kind == "duplicate_order":
            product = turn.session.get(Product, pending["product_id"])
            add_product(turn, product, pending.get("quantity") or 1, "", guard=False)
        elif kind == "checkout":
            from bot.actions.orders import place_order

            place_order(turn)
        elif kind == "cancel":
            order = orders.cancel_order(turn.session, turn.who.household_id, pending["order_id"])
            turn.set_pending(None)
            turn.say(f"Order {order.id} is cancelled.")
        elif kind in ("choose_product", "choose_category") and len(pending["options"]) >= 1:
            if not pick_option(turn):
                turn.say('Which one? Say "the first one" or "the second one".')
        elif kind == "reminder":
            from bot.actions.replenishment import accept_reminder

            accept_reminder(turn, pending["category"])
        elif kind == "offer":
            from bot.actions.offers import accept_offer

            accept_offer(turn, pending["offer_id"])
        else:
            turn.say("OK.")


class ActionDeny(ShopAction):
    needs_household = False

    def name(self) -> str:
        return "action_deny"

    def handle(self, turn: Turn) -> None:
        pending = turn.pending or {}
        kind = pending.get("type")
        turn.set_pending(None)
        if kind == "reminder" and turn.who.household_id:
            from bot.actions.replenishment import decline_reminder

            decline_reminder(turn, pending["category"])
        elif kind == "offer" and turn.who.household_id:
            from bot.actions.offers import decline_offer

            decline_offer(turn, pending["offer_id"])
        elif kind == "checkout":
            turn.say("OK, I haven't placed the order. Your cart is still there.")
        elif kind == "cancel":
            turn.say("OK, the order stays as it is.")
        elif kind:
            turn.say("OK, I left your cart as it is.")
        else:
            turn.say("OK.")


def set_line_quantity(turn: Turn, line_id: int, quantity: int) -> None:
    line = carts.set_quantity(
        turn.session,
        turn.who.household_id,
        line_id,
        quantity,
        max_quantity=turn.ctx.settings.max_line_quantity,
    )
    turn.set_pending(None)
    if line is None:
        turn.set_last_line(None)
        turn.say("Removed it from your cart.")
        return
    turn.set_last_line(line.id)
    name = product_name(line.product, turn.who.voice)
    turn.say(
        f"OK, {quantity_of(line.quantity, name)} in your cart.",
        voice=f"OK, {line.quantity} {name}.",
    )


def _line_for(turn: Turn) -> CartLine | None:
    """The cart line the user means: a named product's category, else the last one touched."""
    cart = carts.get_cart(turn.session, turn.who.household_id)
    for m in turn.matches():
        for line in cart.lines:
            if m.category_id and line.product.category_id == m.category_id:
                return line
    last = turn.tracker.get_slot("last_line")
    for line in cart.lines:
        if line.id == last:
            return line
    return cart.lines[-1] if len(cart.lines) == 1 else None


class ActionChangeQuantity(ShopAction):
    def name(self) -> str:
        return "action_change_quantity"

    def handle(self, turn: Turn) -> None:
        qty = turn.quantity()
        if re.search(r"\bdouble\b", turn.text.lower()):
            line = _line_for(turn)
            qty = line.quantity * 2 if line else qty
        pending = turn.pending or {}
        if pending.get("type") == "duplicate":
            set_line_quantity(turn, pending["line_id"], qty or pending["quantity"])
            return
        if qty is None:
            turn.say("How many would you like?")
            return
        line = _line_for(turn)
        if line is None:
            turn.say('Which item? Say for example "make the milk two".')
            return
        set_line_quantity(turn, line.id, qty)


class ActionRemoveProduct(ShopAction):
    def name(self) -> str:
        return "action_remove_product"

    def handle(self, turn: Turn) -> None:
        matches = turn.matches()
        cart = carts.get_cart(turn.session, turn.who.household_id)
        if not matches:
            line = _line_for(turn)
            if line is None:
                turn.say("What should I remove?")
                return
            targets = [line]
        else:
            cats = {m.category_id for m in matches}
            targets = [line for line in cart.lines if line.product.category_id in cats]
        if not targets:
            name = (matches[0].mention or matches[0].text).strip()
            turn.say(f"{name[:1].upper() + name[1:]} isn't in your cart.")
            return
        names = [product_name(line.product, turn.who.voice) for line in targets]
        for line in targets:
            carts.remove_line(turn.session, turn.who.household_id, line.id)
        turn.set_last_line(None)
        turn.say(f"Removed {join(names)}.")


def read_cart(turn: Turn) -> None:
    cart = carts.get_cart(turn.session, turn.who.household_id)
    if not cart.lines:
        turn.say("Your cart is empty.")
        return
    total = carts.cart_total_cents(cart)
    chat_lines = [
        f"- {quantity_of(x.quantity, product_name(x.product))}: "
        f"{money(x.quantity * x.unit_price_cents, False)}"
        for x in cart.lines
    ]
    spoken = [f"{x.quantity} {product_name(x.product, True)}" for x in cart.lines]
    turn.say(
        "Your cart:\n" + "\n".join(chat_lines) + f"\nTotal: {money(total, False)}",
        voice=f"You have {join(spoken)}. The total is {money(total, True)}.",
    )


class ActionReadCart(ShopAction):
    def name(self) -> str:
        return "action_read_cart"

    def handle(self, turn: Turn) -> None:
        read_cart(turn)


class ActionReorder(ShopAction):
    """'The usual': the last order again, or, with none, the household's usual products."""

    def name(self) -> str:
        return "action_reorder"

    def handle(self, turn: Turn) -> None:
        household = turn.who.household_id
        last = turn.session.execute(
            select(Order)
            .where(Order.household_id == household, Order.status != "cancelled")
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if last is not None:
            items = [(line.product, line.quantity) for line in last.lines]
            source = "your last order"
        else:
            top = turn.session.execute(
                select(Purchase.product_id, func.count().label("n"))
                .where(Purchase.household_id == household)
                .group_by(Purchase.product_id)
                .order_by(func.count().desc())
                .limit(5)
            ).all()
            items = [(turn.session.get(Product, pid), 1) for pid, _ in top]
            source = "what you buy most"
        if not items:
            turn.say('You have no orders yet. Tell me what you\'d like, like "add milk".')
            return
        in_cart = {x.product_id for x in carts.get_cart(turn.session, household).lines}
        added = []
        for product, qty in items:
            if product.id in in_cart:
                continue
            carts.add_item(
                turn.session,
                household,
                product.id,
                qty,
                source=turn.who.source,
                added_by=turn.who.member,
            )
            added.append(quantity_of(qty, product_name(product, turn.who.voice)))
        if not added:
            turn.say(f"Everything from {source} is already in your cart.")
            return
        turn.say(f'Added {source}: {join(added)}. Say "check out" when you\'re ready.')
