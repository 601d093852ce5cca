"""Parsing device messages: every kind of bad input gets a precise reason."""

import json

import pytest

from mqtt_bridge.protocol import Ack, BadEvent, parse_event, parse_status, split_topic


def scan(**body) -> bytes:
    return json.dumps(body).encode()


def test_a_good_scan():
    e = parse_event("dash/dev-1/scan", scan(id="e1", barcode=" 2000000001012 ", qty=2))
    assert (e.device_id, e.kind, e.event_id, e.barcode, e.quantity) == (
        "dev-1",
        "scan",
        "e1",
        "2000000001012",
        2,
    )


def test_button_and_voice():
    assert parse_event("dash/dev-1/button", scan(id="b1")).kind == "button"
    assert parse_event("dash/dev-1/voice", scan(id="v1", text=" add coffee ")).text == "add coffee"


BAD = [
    ("dash/dev-1/scan", b"{not json", "not valid JSON"),
    ("dash/dev-1/scan", b"\xff\xfe", "not valid JSON"),
    ("dash/dev-1/scan", b"[1]", "JSON object"),
    ("dash/dev-1/scan", scan(barcode="2000000001012"), "'id'"),
    ("dash/dev-1/scan", scan(id="", barcode="2000000001012"), "'id'"),
    ("dash/dev-1/scan", scan(id="x" * 65, barcode="2000000001012"), "'id'"),
    ("dash/dev-1/scan", scan(id="e", barcode=""), "'barcode'"),
    ("dash/dev-1/scan", scan(id="e", barcode=2000000001012), "'barcode'"),
    ("dash/dev-1/scan", scan(id="e", barcode="2000000001012", qty=0), "between 1 and 20"),
    ("dash/dev-1/scan", scan(id="e", barcode="2000000001012", qty=500), "between 1 and 20"),
    ("dash/dev-1/scan", scan(id="e", barcode="2000000001012", qty="2"), "whole number"),
    ("dash/dev-1/scan", scan(id="e", barcode="2000000001012", qty=1.5), "whole number"),
    ("dash/dev-1/voice", scan(id="e"), "'text'"),
    ("dash/dev-1/scan", b"{" + b" " * 5000 + b"}", "limit"),
    ("dash/dev-1/reboot", scan(id="e"), "unknown event kind"),
    ("dash/dev 1/scan", scan(id="e"), "unexpected topic"),
    ("other/dev-1/scan", scan(id="e"), "unexpected topic"),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), BAD)
def test_bad_events_say_why(topic, payload, reason):
    with pytest.raises(BadEvent, match=reason):
        parse_event(topic, payload)


def test_bad_event_keeps_ids_for_the_answer():
    with pytest.raises(BadEvent) as err:
        parse_event("dash/dev-1/scan", scan(id="e9", barcode="1", qty=0))
    assert (err.value.device_id, err.value.event_id) == ("dev-1", "e9")


def test_status_and_topics():
    assert parse_status("dev-1", b"online").online is True
    assert parse_status("dev-1", b"OFFLINE").online is False
    with pytest.raises(BadEvent):
        parse_status("dev-1", b"maybe")
    assert split_topic("dash/dev-1/ack") == ("dev-1", "ack")


def test_ack_json_leaves_out_empty_fields():
    assert json.loads(Ack("e1", "added", product="Milk", price=3.28).to_json()) == {
        "id": "e1",
        "status": "added",
        "product": "Milk",
        "price": 3.28,
    }
    assert json.loads(Ack("e2", "error", error="bad").to_json()) == {
        "id": "e2",
        "status": "error",
        "error": "bad",
    }
