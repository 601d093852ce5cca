"""The add-to-cart flow shared by several actions: resolve, ask when unsure, guard against
duplicates across channels, add, and say why this product ("your usual")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.actions.base import Turn
from bot.actions.speech import money, options_sentence, product_name, quantity_of
from shop import carts
from shop.mentions import FILLER, Match, normalize
from shop.models import Category, Device, Order, OrderLine, Product, utcnow
from shop.resolve import ProductChoice

#: An order placed this recently and not delivered still counts for the duplicate guard.
OPEN_ORDER_WINDOW = timedelta(days=3)


def add_mentions(turn: Turn, matches: list[Match], quantity: int | None) -> None:
    """Add every confidently understood mention; ask about the first unclear one (questions
    wait until the clear items are in, since only one question can be open at a time)."""
    if not matches:
        leftover = [w for w in normalize(turn.text).split() if w not in FILLER]
        if leftover:
            say_unknown(turn, " ".join(leftover))
        else:
            turn.say("What would you like me to add?")
        return
    unclear = [m for m in matches if not m.confident]
    choices = [
        turn.ctx.resolver.resolve_match(
            turn.session, m, turn.who.household_id, member=turn.who.member
        )
        for m in matches
        if m.confident
    ]
    clear = [c for c in choices if not needs_question(c)]
    for choice in clear:
        if not proceed_with_choice(turn, choice, quantity):
            return
    if unclear:
        ask_category(turn, unclear[0], quantity)
    elif len(clear) < len(choices):
        proceed_with_choice(turn, next(c for c in choices if needs_question(c)), quantity)
    elif clear:
        from bot.actions.offers import maybe_offer

        maybe_offer(turn, clear[-1].product)


def needs_question(choice: ProductChoice) -> bool:
    said_which = bool(choice.match.brand or choice.match.size or choice.match.product_id)
    return (
        choice.product is not None
        and choice.ambiguous
        and not said_which
        and bool(choice.alternatives)
    )


def ask_category(turn: Turn, match: Match, quantity: int | None) -> None:
    options = [c for c, score in match.candidates if c and score > 0][:3]
    if match.category_id and match.category_id not in options:
        options.insert(0, match.category_id)
    if not options:
        say_unknown(turn, match.text)
        return
    names = [turn.session.get(Category, c).name for c in options]
    turn.set_pending({"type": "choose_category", "options": options, "quantity": quantity})
    turn.say(
        f"Did you mean {options_sentence(names)}",
        buttons=[
            {"title": n, "payload": f'/choose_option{{"choice": {i}}}'} for i, n in enumerate(names)
        ],
    )


def say_unknown(turn: Turn, text: str) -> None:
    """Never add something unrelated: say so and offer the closest products we sell."""
    hits = turn.ctx.search_index(turn.session).search(text, limit=3) if text.strip() else []
    names = [product_name(turn.session.get(Product, h.product_id)) for h in hits if h.score >= 86]
    if names:
        turn.say(f'I couldn\'t find "{text.strip()}". The closest I have: {", ".join(names)}.')
    else:
        turn.say(f'Sorry, we don\'t sell "{text.strip()}".')


def proceed_with_choice(turn: Turn, choice: ProductChoice, quantity: int | None) -> bool:
    """Add the chosen product, or ask; returns False when a question was asked."""
    if choice.product is None:
        say_unknown(turn, choice.match.text)
        return False
    if needs_question(choice):
        options = [choice.product, choice.alternatives[0]]
        names = [product_name(p, turn.who.voice) for p in options]
        turn.set_pending(
            {"type": "choose_product", "options": [p.id for p in options], "quantity": quantity}
        )
        turn.say(
            options_sentence(names),
            buttons=[
                {
                    "title": f"{n} ({money(p.price_cents, False)})",
                    "payload": f'/choose_option{{"choice": {i}}}',
                }
                for i, (n, p) in enumerate(zip(names, options, strict=True))
            ],
        )
        return False
    return add_product(turn, choice.product, quantity or 1, choice.reason)


def duplicate_of(turn: Turn, product: Product) -> tuple[str, dict] | None:
    """Is something of this category already in the cart, or in an order not yet delivered?"""
    household = turn.who.household_id
    cart = carts.get_cart(turn.session, household)
    for line in cart.lines:
        if line.product.category_id == product.category_id:
            who = added_by(turn, line.source, line.added_by)
            ago = _ago(utcnow() - line.added_at)
            return (
                f"{line.product.category.name.capitalize()} is already in your cart "
                f"({product_name(line.product, turn.who.voice)}), added {who}{ago}.",
                {"type": "duplicate", "line_id": line.id, "quantity": line.quantity + 1},
            )
    recent = turn.session.execute(
        select(Order.placed_at, OrderLine.product_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.household_id == household,
            Order.status == "placed",
            Order.placed_at >= utcnow() - OPEN_ORDER_WINDOW,
            Product.category_id == product.category_id,
        )
    ).first()
    if recent:
        return (
            f"You already ordered {product.category.name}{_ago(utcnow() - recent.placed_at)} "
            "and it hasn't arrived yet.",
            {"type": "duplicate_order", "product_id": product.id},
        )
    return None


def added_by(turn: Turn, source: str, who: str | None) -> str:
    if source == "scanner" and who:
        device = turn.session.get(Device, who)
        return f"by the {device.name} scanner" if device else "by a scanner"
    if who:
        return f"by {who}"
    return {"voice": "by voice", "chat": "in chat", "web": "on the web"}.get(source, "earlier")


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return " just now"
    if minutes < 60:
        return f" {minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f" {hours} hour{'s' if hours != 1 else ''} ago"
    return f" {hours // 24} days ago"


def add_product(
    turn: Turn, product: Product, quantity: int, reason: str, *, guard: bool = True
) -> bool:
    if guard:
        dup = duplicate_of(turn, product)
        if dup:
            sentence, pending = dup
            if pending["type"] == "duplicate":
                pending["quantity"] = pending["quantity"] - 1 + quantity
                question = f" Make it {pending['quantity']}?"
            else:
                pending["quantity"] = quantity
                question = " Add it anyway?"
            turn.set_pending(pending)
            turn.say(sentence + question)
            return False
    result = carts.add_item(
        turn.session,
        turn.who.household_id,
        product.id,
        quantity,
        source=turn.who.source,
        added_by=turn.who.member,
        max_quantity=turn.ctx.settings.max_line_quantity,
    )
    turn.set_last_line(result.line.id)
    turn.set_pending(None)
    why = f", {reason}" if reason and reason != "you asked for it" else ""
    name = product_name(product, turn.who.voice)
    turn.say(
        f"Added {quantity_of(quantity, name)}{why}, {money(product.price_cents, False)}.",
        voice=f"Added {quantity_of(quantity, name).replace(' x ', ' ')}{why}, "
        f"{money(product.price_cents, True)}.",
    )
    return True
