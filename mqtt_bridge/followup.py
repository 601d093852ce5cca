"""Telling the assistant about accepted scans and due reminders, from the outbox, through
Rasa's external events.

Each outbox row becomes ``POST /conversations/<household>/trigger_intent`` with the intent of
its kind (``EXTERNAL_scanned`` for a scan, ``EXTERNAL_reminder`` for a reminder); the
assistant speaks on the household's channel and may follow up. A row is marked sent only when
Rasa accepted it; otherwise it is retried with growing delays, so the cart change (already
committed) is never lost and the notification arrives once Rasa is back. In the demo identity
scheme the conversation id is the household id.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select

from shop.models import OutboxMessage, utcnow
from shop.store import Store

log = logging.getLogger(__name__)
INTENT = "EXTERNAL_scanned"
#: Outbox kind -> (intent, entity name -> payload key).
EVENTS = {
    "scan_added": (INTENT, {"scanned_product": "product", "device": "device"}),
    "reminder": ("EXTERNAL_reminder", {"category": "category", "product": "product"}),
    "scan_unknown": ("EXTERNAL_unknown_scan", {"device": "device"}),
}


@dataclass(frozen=True)
class FollowupOptions:
    rasa_url: str  # http://127.0.0.1:5005
    token: str | None = None
    batch: int = 20
    interval: float = 1.0
    timeout: float = 10.0
    max_delay_s: int = 300


class OutboxSender:
    def __init__(self, store: Store, options: FollowupOptions) -> None:
        self.store = store
        self.options = options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send_due(self) -> int:
        """Send what is due now; returns how many Rasa accepted."""
        sent = 0
        with self.store.session() as s:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
                .order_by(OutboxMessage.id)
                .limit(self.options.batch)
            )
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # several bridge workers
            for row in s.execute(query).scalars():
                try:
                    self._post(row)
                except (OSError, ValueError) as exc:
                    row.attempts += 1
                    row.last_error = str(exc)[:300]
                    delay = min(2**row.attempts, self.options.max_delay_s)
                    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                    log.warning(
                        "follow-up %s not delivered (%s); retry in %s s", row.id, exc, delay
                    )
                    break  # Rasa is probably down: don't hammer it with the rest
                row.sent_at = utcnow()
                row.attempts += 1
                sent += 1
        return sent

    def _post(self, row: OutboxMessage) -> None:
        url = (
            f"{self.options.rasa_url.rstrip('/')}/conversations/"
            f"{quote(str(row.household_id))}/trigger_intent?output_channel=latest"
        )
        if self.options.token:
            url += f"&token={quote(self.options.token)}"
        intent, entities = EVENTS.get(row.kind, EVENTS["scan_added"])
        body = {
            "name": intent,
            "entities": {name: row.payload.get(key) for name, key in entities.items()},
        }
        req = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=self.options.timeout) as res:  # noqa: S310
            if res.status != 200:
                raise ValueError(f"Rasa answered {res.status}")

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.options.interval):
                try:
                    self.send_due()
                except Exception:  # noqa: BLE001 - keep the sender alive through outages
                    log.exception("outbox pass failed")

        self._thread = threading.Thread(target=loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
