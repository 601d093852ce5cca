"""Scans and the voice PIN in conversation: a barcode the catalog lacks is asked about and
identified; spoken PINs are read as digits."""

from __future__ import annotations

from datetime import timedelta

from bot.actions.cart import ActionAddToCart, ActionReadCart
from shop.models import utcnow
from tests.chat_helpers import cart_of, usual


def test_spoken_pins():
    from bot.actions.voice_pin import spoken_digits

    assert spoken_digits("my pin is 1 2 3 4") == "1234"
    assert spoken_digits("one two three four") == "1234"
    assert spoken_digits("the code is four oh nine eight") == "4098"
    assert spoken_digits("pin 2580") == "2580"
    assert spoken_digits("no") == ""


def _unknown_scan(ctx, household=1, minutes_ago=5):
    from shop.devices import add_device
    from shop.models import ScanEvent

    with ctx.store.session() as s:
        device = add_device(s, household, "kitchen")
        event = ScanEvent(
            device_id=device.id,
            event_id="unknown-1",
            kind="scan",
            barcode="2912345678908",
            quantity=1,
            status="error",
            error="unknown barcode 2912345678908; ask the assistant to identify it",
            household_id=household,
            received_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        s.add(event)
        s.flush()
        return event.id


def test_an_unknown_scan_is_identified_in_conversation(chat, ctx):
    from bot.actions.scans import ActionUnknownScan
    from shop.models import ScanEvent

    assert "haven't read anything" in chat.say(ActionUnknownScan, "what did I scan")
    scan_id = _unknown_scan(ctx)
    reply = chat.say(ActionUnknownScan, "what was the thing I scanned")
    assert "your kitchen scanner read a barcode I don't know (2912345678908)" in reply
    assert chat.slots["pending"] == {"type": "identify_scan", "scan": scan_id}
    product = usual(ctx, 1, "milk")
    reply = chat.say(ActionAddToCart, "it was milk")
    assert product.name in reply and "for the scan at" in reply and "told the store" in reply
    assert cart_of(ctx) == [("milk", product.brand, 1, "chat")]
    with ctx.store.session() as s:
        assert s.get(ScanEvent, scan_id).product_id == product.id
    assert "haven't read anything" in chat.say(ActionUnknownScan, "what did I scan")


def test_moving_on_from_an_unknown_scan_question(chat, ctx):
    from bot.actions.scans import ActionUnknownScan

    _unknown_scan(ctx)
    chat.say(ActionUnknownScan, "what did I scan")
    reply = chat.say(ActionReadCart, "what's in my cart")
    assert "empty" in reply.lower() and chat.slots["pending"] is None
