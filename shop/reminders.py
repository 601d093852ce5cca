"""Proactive reminders: when a household's usual item is due, tell it on its channel.

A pass (``queue_due``) finds, per household, the most due category (``shop.replenishment``)
and writes an outbox note in the same transaction as the reminder's bookkeeping; the outbox
sender turns it into Rasa's external event ``EXTERNAL_reminder`` and the assistant asks "Add
your usual Folgers?". The rules people expect:

- nothing is sent in quiet hours (local time, ``Settings.quiet_start``..``quiet_end``);
- one category is never reminded twice within ``Settings.reminder_interval_hours``;
- "remind me tomorrow" snoozes until the end of tomorrow's quiet hours; "stop reminding me
  about coffee" stops that category for good (until the household asks again);
- nothing already in the cart or in an order not yet delivered is reminded;
- at most one reminder per household per pass.

Several schedulers (bridge workers) may run at once: the bookkeeping row is claimed with a
conditional update, so only one of them sends a given reminder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.config import Settings
from shop.models import (
    Cart,
    CartLine,
    Household,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Purchase,
    Reminder,
    utcnow,
)
from shop.replenishment import Cycle, cycle_table, cycles
from shop.store import Store

if TYPE_CHECKING:
    from recommender.timing import TimingModel

log = logging.getLogger(__name__)
KIND = "reminder"
#: A reminder goes out once the predicted day is at most this far away, or once the usual
#: interval has passed (up to ``OVERDUE_RATIO`` intervals: further out it has likely lapsed).
DUE_WITHIN_DAYS = 1
OVERDUE_RATIO = 2.0
OPEN_ORDER_DAYS = 3


@dataclass(frozen=True)
class Sent:
    household_id: int
    cycle: Cycle


def _local(now: datetime, settings: Settings) -> datetime:
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(settings.timezone))


def in_quiet_hours(now: datetime, settings: Settings) -> bool:
    hour = _local(now, settings).hour
    start, end = settings.quiet_start, settings.quiet_end
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def tomorrow_morning(now: datetime, settings: Settings) -> datetime:
    """When "remind me tomorrow" comes due: tomorrow at the end of quiet hours, local time,
    returned as naive UTC like every time in the store."""
    local = _local(now, settings)
    target = (local + timedelta(days=1)).replace(
        hour=settings.quiet_end, minute=0, second=0, microsecond=0
    )
    return target.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def reminder_row(session: Session, household_id: int, category_id: str) -> Reminder:
    row = session.execute(
        select(Reminder).where(
            Reminder.household_id == household_id, Reminder.category_id == category_id
        )
    ).scalar_one_or_none()
    if row is None:
        row = Reminder(household_id=household_id, category_id=category_id, stopped=False)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # created concurrently by another process
            row = session.execute(
                select(Reminder).where(
                    Reminder.household_id == household_id, Reminder.category_id == category_id
                )
            ).scalar_one()
    return row


def answer(
    session: Session,
    household_id: int,
    category_id: str,
    what: str,
    settings: Settings,
    now: datetime | None = None,
) -> Reminder:
    """Record the household's answer: ``yes``, ``not_now``, ``later`` (tomorrow), ``stop`` or
    ``resume``."""
    now = now or utcnow()
    row = reminder_row(session, household_id, category_id)
    if what == "stop":
        row.stopped = True
    elif what == "resume":
        row.stopped = False
    elif what == "later":
        row.snoozed_until = tomorrow_morning(now, settings)
    row.last_answer = what
    row.updated_at = now
    session.flush()
    return row


def _busy_categories(session: Session, household_id: int, now: datetime) -> set[str]:
    """Categories in the cart or in an order placed recently and not delivered."""
    in_cart = session.execute(
        select(Product.category_id)
        .join(CartLine, CartLine.product_id == Product.id)
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.household_id == household_id)
    ).scalars()
    ordered = session.execute(
        select(Product.category_id)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.household_id == household_id,
            Order.status == "placed",
            Order.placed_at >= now - timedelta(days=OPEN_ORDER_DAYS),
        )
    ).scalars()
    return set(in_cart) | set(ordered)


def reminder_due(
    session: Session,
    household_id: int,
    now: datetime,
    model: TimingModel | None = None,
    table=None,  # noqa: ANN001 - a cycle_table frame
) -> list[Cycle]:
    """What a reminder may be about: predicted for today or tomorrow, or a usual interval
    that has run out (and not so long ago that the household has moved on)."""
    limit = now.date() + timedelta(days=DUE_WITHIN_DAYS)
    return [
        c
        for c in cycles(session, household_id, now, model, table)
        if (c.predicted <= limit or c.cycle_over)
        and c.days_since <= OVERDUE_RATIO * max(c.interval_days, 1.0)
    ]


def _snooze_over(session: Session, household_id: int, now: datetime) -> set[str]:
    return set(
        session.execute(
            select(Reminder.category_id).where(
                Reminder.household_id == household_id,
                Reminder.snoozed_until.is_not(None),
                Reminder.snoozed_until <= now,
            )
        ).scalars()
    )


def _claim(
    session: Session, household_id: int, category_id: str, now: datetime, settings: Settings
) -> bool:
    """Mark the reminder sent, only if it may be sent now (atomic across processes)."""
    row = reminder_row(session, household_id, category_id)
    repeat_before = now - timedelta(hours=settings.reminder_interval_hours)
    snooze_over = (Reminder.snoozed_until.is_not(None)) & (Reminder.snoozed_until <= now)
    res = session.execute(
        update(Reminder)
        .where(
            Reminder.id == row.id,
            Reminder.stopped.is_(False),
            or_(Reminder.snoozed_until.is_(None), Reminder.snoozed_until <= now),
            or_(
                Reminder.last_sent_at.is_(None),
                Reminder.last_sent_at <= repeat_before,
                snooze_over,
            ),
        )
        .values(last_sent_at=now, snoozed_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)


def queue_due(
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    model: TimingModel | None = None,
    households: list[int] | None = None,
) -> list[Sent]:
    """One pass: queue at most one reminder per household; returns what was queued."""
    now = now or utcnow()
    if in_quiet_hours(now, settings):
        return []
    if households is None:
        households = list(
            session.execute(
                select(Household.id)
                .where(Household.id.in_(select(Purchase.household_id).distinct()))
                .order_by(Household.id)
            ).scalars()
        )
    sent = []
    table = cycle_table(session, now, model)
    for household_id in households:
        due = reminder_due(session, household_id, now, model, table)
        busy = _busy_categories(session, household_id, now) if due else set()
        woke = _snooze_over(session, household_id, now) if due else set()
        # A reminder the household asked for ("remind me tomorrow") goes first.
        for cycle in sorted(due, key=lambda c: c.category_id not in woke):
            if cycle.category_id in busy or cycle.usual_product_id is None:
                continue
            if not _claim(session, household_id, cycle.category_id, now, settings):
                continue
            session.add(
                OutboxMessage(
                    household_id=household_id,
                    kind=KIND,
                    payload={"category": cycle.category_id, "product": cycle.usual_product},
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            sent.append(Sent(household_id, cycle))
            break
    session.flush()
    return sent


class ReminderScheduler:
    """Runs ``queue_due`` every ``interval`` seconds in a thread (inside the bridge process,
    next to the outbox sender that delivers what it queues)."""

    def __init__(
        self,
        store: Store,
        interval: float = 300.0,
        model: Callable[[], TimingModel | None] | None = None,
    ) -> None:
        self.store, self.interval, self._model = store, interval, model
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[Sent]:
        with self.store.session() as s:
            return queue_due(s, self.store.settings, model=self._model() if self._model else None)

    def start(self) -> None:
        def loop() -> None:
            while True:
                try:
                    queued = self.run_once()
                    if queued:
                        log.info("queued %d reminders", len(queued))
                except Exception:  # noqa: BLE001 - keep scheduling through outages
                    log.exception("reminder pass failed")
                if self._stop.wait(self.interval):
                    return

        self._thread = threading.Thread(target=loop, name="reminders", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
