"""Following up on scans: the bridge tells the assistant about an accepted scan
(EXTERNAL_scanned) and about a barcode the catalog lacks (EXTERNAL_unknown_scan)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from bot.actions.base import ShopAction, Turn
from shop import carts
from shop.fleet import UNKNOWN_BARCODE_ERRORS
from shop.models import Device, ScanEvent, utcnow


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


#: Unknown scans older than this are not brought up any more.
UNKNOWN_SCAN_DAYS = 7


def _unknown_scan(turn: Turn) -> ScanEvent | None:
    """The household's latest scan of a barcode the catalog lacked, not yet identified."""
    since = utcnow() - timedelta(days=UNKNOWN_SCAN_DAYS)
    return turn.session.execute(
        select(ScanEvent)
        .where(
            ScanEvent.household_id == turn.who.household_id,
            ScanEvent.status == "error",
            ScanEvent.product_id.is_(None),
            ScanEvent.barcode.is_not(None),
            or_(*(ScanEvent.error.like(p) for p in UNKNOWN_BARCODE_ERRORS)),
            ScanEvent.received_at >= since,
        )
        .order_by(ScanEvent.received_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _clock(turn: Turn, when: datetime) -> str:
    """ "9:14" in the household's time zone."""
    local = when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(turn.ctx.settings.timezone))
    return f"{local.hour}:{local.minute:02d}"


class ActionUnknownScan(ShopAction):
    """ "What was the thing you scanned at 9:14?": after the bridge reports a barcode we don't
    know (external event EXTERNAL_unknown_scan), or when the household asks about its scans.
    The answer ("paper towels") adds the usual product and tells the store what it was."""

    def name(self) -> str:
        return "action_unknown_scan"

    def handle(self, turn: Turn) -> None:
        event = _unknown_scan(turn)
        if event is None:
            turn.say("Your scanners haven't read anything I don't know lately.")
            return
        device = turn.session.get(Device, event.device_id)
        where = f"your {device.name} scanner" if device else "your scanner"
        turn.set_pending({"type": "identify_scan", "scan": event.id})
        turn.say(
            f"At {_clock(turn, event.received_at)} {where} read a barcode I don't know "
            f'({event.barcode}). What was it? Say for example "paper towels".',
            voice=f"At {_clock(turn, event.received_at)} {where} read something I don't know. "
            "What was it?",
        )


def identify_scan(turn: Turn, pending: dict) -> bool:
    """The answer to "what was it?": True when the turn named a product (then it is added, as
    the scan would have, and the scan records what the household says it was)."""
    from bot.actions.adding import add_product

    matches = [m for m in turn.matches() if m.category_id and m.confident]
    event = turn.session.get(ScanEvent, pending.get("scan"))
    if not matches or event is None or event.household_id != turn.who.household_id:
        turn.set_pending(None)  # the household moved on: handle the turn as usual
        return False
    choice = turn.ctx.resolver.resolve_match(
        turn.session, matches[0], turn.who.household_id, member=turn.who.member
    )
    if choice.product is None:
        return False
    event.product_id = choice.product.id
    at = _clock(turn, event.received_at)
    if add_product(turn, choice.product, event.quantity or 1, f"for the scan at {at}", guard=False):
        turn.say("Thanks! I've told the store what that barcode is.")
    return True
