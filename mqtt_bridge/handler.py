"""What a device event does to the store, in one transaction with its record.

The event row (unique per device and event id) and the cart change commit together, so a
redelivered or repeated event finds its row and is answered "duplicate" with the original
result, and two workers racing on the same event cannot both add a line: the loser's insert
violates the unique key, its transaction rolls back and it answers "duplicate" too. Scans,
nearly all the traffic, take the statement-level fast path in fastpath.py; buttons and voice
events use the ORM code here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mqtt_bridge.fastpath import ScanFastPath
from mqtt_bridge.protocol import Ack, BadEvent, DeviceEvent, StatusEvent
from shop import carts
from shop.errors import DomainError, InvalidInput, NotFound, StoreUnavailable
from shop.households import lock_households
from shop.models import Device, OutboxMessage, Product, ScanEvent, utcnow
from shop.resolve import ProductResolver
from shop.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerOptions:
    #: More events than this from one device within a minute are refused.
    max_events_per_minute: int = 60


class EventHandler:
    def __init__(
        self,
        store: Store,
        options: HandlerOptions | None = None,
        resolver: ProductResolver | None = None,
    ) -> None:
        self.store = store
        self.options = options or HandlerOptions()
        self.resolver = resolver or ProductResolver(store.settings.models_dir)
        self.fast = ScanFastPath(
            self.options.max_events_per_minute, store.settings.max_line_quantity
        )

    def handle_batch(self, events: list[DeviceEvent]) -> list[Ack]:
        """Several events in one transaction (the bridge's batches); all or nothing."""
        try:
            with self.store.session() as s:
                conn = s.connection()
                # Every household the batch may change, held up front and in id order: a
                # button's add_item holds its household, a scan locks cart lines, and two
                # workers doing those in opposite orders deadlocked on PostgreSQL.
                lock_households(s, self.fast.households(conn, {e.device_id for e in events}))
                seen: set[str] = set()
                acks = [
                    self.fast.scan(conn, e, seen) if e.kind == "scan" else self._handle(s, e)
                    for e in events
                ]
                s.flush()
                self.fast.touch(conn, seen)
                return acks
        except IntegrityError as exc:
            self.fast.forget_writes()
            raise StoreUnavailable("a concurrent change conflicted; retrying") from exc
        except BaseException:
            self.fast.forget_writes()
            raise

    def handle(self, event: DeviceEvent) -> Ack:
        if event.kind == "scan":
            return self.handle_batch([event])[0]
        try:
            with self.store.session() as s:
                return self._handle(s, event)
        except IntegrityError as exc:
            # Another worker committed the same event first: answer as a duplicate. Any other
            # conflict (two workers creating one household's cart) is worth another try.
            with self.store.session() as s:
                previous = _find(s, event.device_id, event.event_id)
                if previous is None:
                    raise StoreUnavailable("a concurrent change conflicted; retrying") from exc
                return _duplicate_ack(s, previous)

    def handle_bad(self, bad: BadEvent) -> Ack:
        """Record a malformed event when it names a known device and an id, then answer."""
        if bad.device_id and bad.event_id:
            try:
                with self.store.session() as s:
                    device = s.get(Device, bad.device_id)
                    if device is not None and _find(s, bad.device_id, bad.event_id) is None:
                        s.add(
                            ScanEvent(
                                device_id=bad.device_id,
                                event_id=bad.event_id,
                                kind=bad.kind or "scan",
                                status="error",
                                error=bad.reason[:200],
                                household_id=device.household_id,
                            )
                        )
            except IntegrityError:
                pass
        return Ack(bad.event_id, "error", error=bad.reason)

    def status(self, event: StatusEvent) -> None:
        with self.store.session() as s:
            device = s.get(Device, event.device_id)
            if device is not None and device.revoked_at is None:
                device.online = event.online
                device.last_seen_at = utcnow()

    def _handle(self, s: Session, event: DeviceEvent) -> Ack:
        previous = _find(s, event.device_id, event.event_id)
        if previous is not None:
            return _duplicate_ack(s, previous)
        device = s.get(Device, event.device_id)
        record = ScanEvent(
            device_id=event.device_id,
            event_id=event.event_id,
            kind=event.kind,
            barcode=event.barcode,
            text=event.text,
            quantity=event.quantity,
            status="error",
            received_at=utcnow(),
        )
        if device is None or device.revoked_at is not None:
            # Not recorded: an unknown id must not be able to fill the table.
            why = "unknown device" if device is None else "this device has been revoked"
            return Ack(event.event_id, "error", error=why)
        record.household_id = device.household_id
        device.last_seen_at = utcnow()
        device.online = True
        recent = s.execute(
            select(func.count(ScanEvent.id)).where(
                ScanEvent.device_id == device.id,
                ScanEvent.received_at > utcnow() - timedelta(minutes=1),
            )
        ).scalar_one()
        if recent >= self.options.max_events_per_minute:
            return self._fail(s, record, "too many scans in a minute; slow down")
        try:
            product = self._product(s, device, event)
        except (InvalidInput, NotFound) as exc:
            return self._fail(s, record, exc.message)
        record.product_id = product.id
        if device.mode == "price":
            record.status = "priced"
        elif device.mode == "list":
            record.status = "listed"
        else:
            try:
                carts.add_item(
                    s,
                    device.household_id,
                    product.id,
                    event.quantity,
                    source="scanner",
                    added_by=device.id,
                )
            except DomainError as exc:
                return self._fail(s, record, exc.message)
            record.status = "added"
            s.add(
                OutboxMessage(
                    household_id=device.household_id,
                    kind="scan_added",
                    payload={
                        "product": product.name,
                        "size": product.size,
                        "price": round(product.price_cents / 100, 2),
                        "quantity": event.quantity,
                        "device": device.name,
                    },
                )
            )
        s.add(record)
        s.flush()
        return Ack(
            event.event_id,
            record.status,
            product=product.name,
            price=round(product.price_cents / 100, 2),
        )

    def _product(self, s: Session, device: Device, event: DeviceEvent) -> Product:
        """Button and voice events (scans take the fast path in fastpath.py)."""
        if event.kind == "button":
            if device.button_product_id is None:
                raise NotFound("no product is bound to this button")
            return s.get(Product, device.button_product_id)
        choice = self.resolver.resolve_text(s, event.text or "", device.household_id)
        if choice.product is None or not choice.match.confident:
            raise NotFound(f"didn't understand {event.text!r}; try the product name")
        return choice.product

    @staticmethod
    def _fail(s: Session, record: ScanEvent, reason: str) -> Ack:
        record.status = "error"
        record.error = reason[:200]
        s.add(record)
        return Ack(record.event_id, "error", error=reason)


def _find(s: Session, device_id: str, event_id: str) -> ScanEvent | None:
    return s.execute(
        select(ScanEvent).where(ScanEvent.device_id == device_id, ScanEvent.event_id == event_id)
    ).scalar_one_or_none()


def _duplicate_ack(s: Session, previous: ScanEvent) -> Ack:
    product = s.get(Product, previous.product_id) if previous.product_id else None
    return Ack(
        previous.event_id,
        "duplicate" if previous.status != "error" else "error",
        product=product.name if product else None,
        price=round(product.price_cents / 100, 2) if product else None,
        error=previous.error,
    )
