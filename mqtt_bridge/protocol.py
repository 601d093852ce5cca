"""The device protocol, apart from any transport: topics, payloads and acks.

Devices publish (QoS 1) on ``dash/<device_id>/scan`` ``{"id", "barcode", "qty"}``,
``dash/<device_id>/button`` ``{"id"}`` and ``dash/<device_id>/voice`` ``{"id", "text"}``; their
birth and last-will messages go to ``dash/<device_id>/status`` (``online`` / ``offline``). The
bridge answers on ``dash/<device_id>/ack`` echoing the event id. :func:`parse_event` turns a raw
message into a :class:`DeviceEvent` or raises :class:`BadEvent` with a reason the device can show.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

MAX_PAYLOAD_BYTES = 2048
MAX_QUANTITY = 20
KINDS = ("scan", "button", "voice")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class BadEvent(Exception):
    """A message that cannot be processed; answered with an error ack and recorded."""

    def __init__(
        self,
        reason: str,
        *,
        device_id: str | None = None,
        event_id: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.device_id = device_id
        self.event_id = event_id
        self.kind = kind


@dataclass(frozen=True)
class DeviceEvent:
    device_id: str
    kind: str  # scan | button | voice
    event_id: str
    barcode: str | None = None
    quantity: int = 1
    text: str | None = None


@dataclass(frozen=True)
class StatusEvent:
    device_id: str
    online: bool


@dataclass(frozen=True)
class Ack:
    id: str | None
    status: str  # added | duplicate | error | listed | priced
    product: str | None = None
    price: float | None = None
    error: str | None = None

    def to_json(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}).encode()


def split_topic(topic: str) -> tuple[str, str]:
    """``dash/<device>/<kind>`` -> (device, kind); shared-subscription prefixes never appear
    in a received topic."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "dash" or not _DEVICE_ID.match(parts[1]):
        raise BadEvent(f"unexpected topic {topic!r}")
    return parts[1], parts[2]


def parse_status(device_id: str, payload: bytes) -> StatusEvent:
    text = payload.decode("utf-8", errors="replace").strip().lower()
    if text not in ("online", "offline"):
        raise BadEvent("status must be 'online' or 'offline'", device_id=device_id)
    return StatusEvent(device_id, text == "online")


def parse_event(topic: str, payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> DeviceEvent:
    device_id, kind = split_topic(topic)
    if kind not in KINDS:
        raise BadEvent(f"unknown event kind {kind!r}", device_id=device_id)
    if len(payload) > max_bytes:
        raise BadEvent(
            f"payload is {len(payload)} bytes; the limit is {max_bytes}",
            device_id=device_id,
            kind=kind,
        )
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadEvent("payload is not valid JSON", device_id=device_id, kind=kind) from None
    if not isinstance(body, dict):
        raise BadEvent("payload must be a JSON object", device_id=device_id, kind=kind)
    event_id = body.get("id")
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise BadEvent(
            "'id' must be a string of 1-64 letters, digits or -_.:", device_id=device_id, kind=kind
        )
    common = dict(device_id=device_id, event_id=event_id, kind=kind)
    if kind == "scan":
        barcode = body.get("barcode")
        if not isinstance(barcode, str) or not barcode.strip():
            raise BadEvent("'barcode' is required (a string of digits)", **common)
        qty = body.get("qty", 1)
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise BadEvent("'qty' must be a whole number", **common)
        if not 1 <= qty <= MAX_QUANTITY:
            raise BadEvent(f"'qty' must be between 1 and {MAX_QUANTITY}", **common)
        return DeviceEvent(device_id, kind, event_id, barcode=barcode.strip()[:32], quantity=qty)
    if kind == "voice":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadEvent("'text' is required", **common)
        return DeviceEvent(device_id, kind, event_id, text=text.strip()[:500])
    return DeviceEvent(device_id, kind, event_id)
