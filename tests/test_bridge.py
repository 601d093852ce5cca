"""The bridge end to end: scans, duplicates, bad input, modes, status, credentials and ACL."""

from __future__ import annotations

import json
import queue
import shutil
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from shop.gtin import make_restricted
from shop.models import Device, OutboxMessage, ScanEvent
from tests.mqtt_world import KETCHUP, Device_, clear, lines

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="DASH_TEST_MQTT=skip")


def test_scan_lands_in_the_cart_and_is_acknowledged(world, kitchen):
    clear(world)
    event = str(uuid.uuid4())
    kitchen.send("scan", {"id": event, "barcode": KETCHUP, "qty": 2})
    ack = kitchen.ack()
    assert ack == {"id": event, "status": "added", "product": "Heinz Tomato Ketchup", "price": 2.49}
    assert lines(world) == [(KETCHUP, 2, "scanner", world.kitchen.id)]
    with world.store.session() as s:  # the assistant will be told, from the outbox
        note = s.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
        assert note.household_id == 1 and note.payload["device"] == "kitchen"
        assert note.payload["quantity"] == 2 and note.sent_at is None


def test_repeated_event_is_counted_once(world, kitchen):
    clear(world)
    event = str(uuid.uuid4())
    for _ in range(3):
        kitchen.send("scan", {"id": event, "barcode": KETCHUP})
    statuses = sorted(kitchen.ack()["status"] for _ in range(3))
    assert statuses == ["added", "duplicate", "duplicate"]
    assert lines(world) == [(KETCHUP, 1, "scanner", world.kitchen.id)]


BAD = [
    (b"{nope", "not valid JSON"),
    (json.dumps({"id": "b1", "barcode": "2000000001013"}).encode(), "check digit"),
    (json.dumps({"id": "b2", "barcode": "20000000010"}).encode(), "digits"),
    (json.dumps({"id": "b3", "barcode": "2000A00001012"}).encode(), "other than digits"),
    (json.dumps({"id": "b4", "barcode": "0000000000000"}).encode(), "all zeros"),
    (json.dumps({"id": "b5", "barcode": "01234565"}).encode(), "UPC-E"),
    (json.dumps({"id": "b6", "barcode": "9800000000007"}).encode(), "coupon"),
    (json.dumps({"id": "b7", "barcode": KETCHUP, "qty": 99}).encode(), "between 1 and 20"),
    (json.dumps({"id": "b8"}).encode(), "'barcode' is required"),
    (json.dumps({"id": "b9", "barcode": KETCHUP, "pad": "x" * 3000}).encode(), "limit"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD)
def test_bad_input_gets_an_error_ack_and_changes_nothing(world, kitchen, payload, reason):
    clear(world)
    kitchen.send("scan", payload)
    ack = kitchen.ack()
    assert ack["status"] == "error" and reason in ack["error"], ack
    assert lines(world) == []


def test_unknown_barcode_is_recorded_for_the_chat(world, kitchen):
    code = make_restricted("29", 123_456_789)
    kitchen.send("scan", {"id": "u1", "barcode": code})
    ack = kitchen.ack()
    assert ack["status"] == "error" and "unknown barcode" in ack["error"]
    with world.store.session() as s:
        row = s.execute(select(ScanEvent).where(ScanEvent.event_id == "u1")).scalar_one()
        assert row.barcode == code and row.household_id == 1 and row.status == "error"
        # ... and the assistant will ask the household what it was.
        note = s.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
        assert note.kind == "scan_unknown" and note.household_id == 1
        assert note.payload == {"barcode": code, "device": "kitchen"}


def test_price_check_mode_and_button(world):
    pricer = Device_(world, world.pricer.id, world.pricer.secret)
    pricer.send("scan", {"id": "p1", "barcode": KETCHUP})
    assert pricer.ack()["status"] == "priced" and lines(world, 3) == []
    pricer.close()
    garage = Device_(world, world.garage.id, world.garage.secret)
    garage.send("button", {"id": "btn1"})
    assert garage.ack()["status"] == "added" and len(lines(world, 2)) == 1
    garage.close()


def test_status_messages_update_the_device(world, kitchen):
    kitchen.send("status", b"offline")
    time.sleep(0.5)
    with world.store.session() as s:
        assert s.get(Device, world.kitchen.id).online is False
    kitchen.send("status", b"online")
    time.sleep(0.5)
    with world.store.session() as s:
        device = s.get(Device, world.kitchen.id)
        assert device.online is True and device.last_seen_at is not None


def test_revoked_wrong_password_and_anonymous_are_refused(world):
    assert Device_(world, world.revoked.id, world.revoked.secret).refused
    assert Device_(world, world.kitchen.id, "wrong-secret").refused
    anonymous = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    result = queue.Queue()
    anonymous.on_connect = lambda _c, _u, _f, rc, _p=None: result.put(rc)
    anonymous.connect("127.0.0.1", world.port)
    anonymous.loop_start()
    assert result.get(timeout=10).is_failure
    anonymous.loop_stop()


def test_a_device_cannot_use_another_devices_topics(world, kitchen):
    clear(world, 2)
    # The kitchen device publishes on the garage's scan topic, and listens to its acks.
    spy = Device_(world, world.kitchen.id, world.kitchen.secret, listen_to=world.garage.id)
    spy.send("scan", {"id": "spoof-1", "barcode": KETCHUP}, device_id=world.garage.id)
    garage = Device_(world, world.garage.id, world.garage.secret)
    garage.send("scan", {"id": "real-1", "barcode": KETCHUP})
    assert garage.ack()["id"] == "real-1"
    with pytest.raises(queue.Empty):
        spy.ack(timeout=1.0)  # the garage's ack never reaches the kitchen device
    assert lines(world, 2) == [(KETCHUP, 1, "scanner", world.garage.id)]  # spoof never counted
    spy.close()
    garage.close()


def test_scans_sent_while_the_bridge_is_down_arrive_exactly_once(world, kitchen):
    clear(world)
    world.bridge.stop()
    sent = [str(uuid.uuid4()) for _ in range(30)]
    for event in sent:
        kitchen.send("scan", {"id": event, "barcode": KETCHUP})
    kitchen.send("scan", {"id": sent[0], "barcode": KETCHUP})  # and a repeat
    world.bridge = world.start_bridge()
    acks = [kitchen.ack(timeout=20) for _ in range(31)]
    assert sorted(a["status"] for a in acks).count("added") == 30
    assert {a["id"] for a in acks} == set(sent)
    assert lines(world) == [(KETCHUP, 30, "scanner", world.kitchen.id)]


def test_dash_scan_publishes_like_a_device(world):
    from click.testing import CliRunner

    from shop.cli import cli

    clear(world)
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            world.kitchen.id,
            KETCHUP,
            "--secret",
            world.kitchen.secret,
            "--url",
            f"mqtt://127.0.0.1:{world.port}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "added"
    refused = CliRunner().invoke(
        cli,
        [
            "scan",
            world.kitchen.id,
            KETCHUP,
            "--secret",
            "wrong",
            "--url",
            f"mqtt://127.0.0.1:{world.port}",
        ],
    )
    assert refused.exit_code != 0 and "refused" in refused.output
