"""The time axis in conversation: what is running low, when something was last bought, and
the proactive reminder ("Add your usual Folgers?") with its answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.actions.base import ShopAction, Turn
from bot.actions.speech import join, product_name
from shop import reminders
from shop.models import Category, Product, utcnow
from shop.replenishment import Cycle, cycles, last_purchase, running_low

if TYPE_CHECKING:
    from recommender.timing import TimingModel


def timing_model(turn: Turn) -> TimingModel | None:
    models = turn.ctx.resolver.models()
    return getattr(models, "timing", None) if models else None


def household_cycles(turn: Turn, now, *, due_only: bool = False) -> list:  # noqa: ANN001
    """The household's cycles (``due_only``: what is running low), from the process's cached
    table of the whole shop."""
    model = timing_model(turn)
    table = turn.ctx.cycles.table(turn.session, now, model)
    pick = running_low if due_only else cycles
    return pick(turn.session, turn.who.household_id, now, model, table=table)


def _days(n: int) -> str:
    return "today" if n == 0 else "yesterday" if n == 1 else f"{n} days ago"


def _when(cycle: Cycle, today) -> str:
    days = (cycle.predicted - today).days
    if days <= 0 or cycle.cycle_over:
        return "due now"
    return "due tomorrow" if days == 1 else f"due in {days} days"


class ActionRunningLow(ShopAction):
    def name(self) -> str:
        return "action_running_low"

    def handle(self, turn: Turn) -> None:
        now = utcnow()
        items = household_cycles(turn, now, due_only=True)[:5]
        if not items:
            turn.say("Nothing looks due in the next week.")
            return
        today = now.date()
        parts = [
            f"{c.category} ({_when(c, today)}; every {round(c.interval_days)} days, "
            f"last {_days(c.days_since)})"
            for c in items
        ]
        first = items[0]
        turn.set_pending({"type": "reminder", "category": first.category_id})
        turn.say(
            f"You may be running low on: {join(parts)}. Add your usual {first.category}?",
            voice=f"You may be running low on {join([c.category for c in items])}. "
            f"Add your usual {first.category}?",
            buttons=[
                {"title": "Yes", "payload": "/affirm"},
                {"title": "Not now", "payload": "/deny"},
            ],
        )


def _category(turn: Turn) -> str | None:
    """The category the user named, or the one the open reminder is about."""
    for m in turn.matches():
        if m.confident:  # "remind me" half-matches a detergent brand: only sure mentions count
            return m.category_id
    for e in turn.entities("category"):
        if e.get("value"):
            return str(e["value"])
    pending = turn.pending or {}
    return pending.get("category") if pending.get("type") == "reminder" else None


class ActionLastBought(ShopAction):
    def name(self) -> str:
        return "action_last_bought"

    def handle(self, turn: Turn) -> None:
        category_id = _category(turn)
        if category_id is None:
            turn.say('Which item? Say for example "when did I last buy coffee?"')
            return
        name = turn.session.get(Category, category_id).name
        last = last_purchase(turn.session, turn.who.household_id, category_id)
        if last is None:
            turn.say(f"I have no {name} in your purchase history.")
            return
        when, product = last
        now = utcnow()
        cycle = next(
            (c for c in household_cycles(turn, now) if c.category_id == category_id),
            None,
        )
        days = (now.date() - when.date()).days
        text = (
            f"You last bought {name} {_days(days)}, on {when:%B} {when.day}: "
            f"{product_name(product, turn.who.voice)}."
        )
        if cycle:
            text += (
                f" You usually buy it every {round(cycle.interval_days)} days; "
                f"next is {_when(cycle, now.date())}."
            )
        turn.say(text)


class ActionRemind(ShopAction):
    """The external event of a due reminder: ask, with the four answers as buttons."""

    def name(self) -> str:
        return "action_remind"

    def handle(self, turn: Turn) -> None:
        category_id = _category(turn)
        now = utcnow()
        cycle = next(
            (c for c in household_cycles(turn, now) if c.category_id == category_id),
            None,
        )
        if cycle is None or cycle.usual_product_id is None:
            return  # bought meanwhile or unknown: say nothing rather than nag
        product = turn.session.get(Product, cycle.usual_product_id)
        turn.set_pending({"type": "reminder", "category": cycle.category_id})
        usual = product.brand or product_name(product, turn.who.voice)
        turn.say(
            f"You usually buy {cycle.category} every {round(cycle.interval_days)} days; "
            f"it has been {cycle.days_since}. Add your usual {usual}?",
            buttons=[
                {"title": "Yes", "payload": "/affirm"},
                {"title": "Not now", "payload": "/deny"},
                {"title": "Remind me tomorrow", "payload": "/remind_later"},
                {
                    "title": f"Stop reminding me about {cycle.category}",
                    "payload": f'/stop_reminding{{"category": "{cycle.category_id}"}}',
                },
            ],
        )


def accept_reminder(turn: Turn, category_id: str) -> None:
    """ "Yes" to a reminder: add the usual product of that category."""
    from bot.actions.adding import add_product

    usual = next(
        (
            c
            for c in household_cycles(turn, utcnow())
            if c.category_id == category_id and c.usual_product_id
        ),
        None,
    )
    reminders.answer(turn.session, turn.who.household_id, category_id, "yes", turn.ctx.settings)
    if usual is None:
        turn.set_pending(None)
        turn.say("I couldn't find your usual one; tell me which to add.")
        return
    product = turn.session.get(Product, usual.usual_product_id)
    add_product(turn, product, 1, "your usual")


def decline_reminder(turn: Turn, category_id: str) -> None:
    reminders.answer(turn.session, turn.who.household_id, category_id, "not_now", turn.ctx.settings)
    hours = turn.ctx.settings.reminder_interval_hours
    turn.say(f"OK, not now. I won't ask about it again for {hours // 24 or 1} days.")


class ActionRemindLater(ShopAction):
    def name(self) -> str:
        return "action_remind_later"

    def handle(self, turn: Turn) -> None:
        category_id = _category(turn)
        turn.set_pending(None)
        if category_id is None:
            turn.say("Remind you about what? I only remind you of items that are due.")
            return
        reminders.answer(
            turn.session, turn.who.household_id, category_id, "later", turn.ctx.settings
        )
        name = turn.session.get(Category, category_id).name
        turn.say(f"OK, I'll remind you about {name} tomorrow morning.")


class ActionStopReminding(ShopAction):
    def name(self) -> str:
        return "action_stop_reminding"

    def handle(self, turn: Turn) -> None:
        category_id = _category(turn)
        turn.set_pending(None)
        if category_id is None:
            turn.say('Stop reminders about what? Say for example "stop reminding me about coffee".')
            return
        reminders.answer(
            turn.session, turn.who.household_id, category_id, "stop", turn.ctx.settings
        )
        name = turn.session.get(Category, category_id).name
        turn.say(f"OK, no more reminders about {name}.")
