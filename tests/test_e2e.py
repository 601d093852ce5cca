"""End to end: the real Rasa server, action server and store API as processes on loopback.
A household chats through the REST webhook; the result is checked through the HTTP API."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from bot.runtime import Assistant
from shop import carts
from shop.api import create_app
from shop.config import Settings
from shop.households import issue_token
from shop.store import Store
from tests.conftest import free_port, start_assistant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assistant(trained_model, assistant_db, tmp_path_factory):
    running = start_assistant(trained_model, assistant_db, tmp_path_factory.mktemp("e2e"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(assistant_db):
    from werkzeug.serving import make_server

    store = Store(Settings(database_url=assistant_db))
    server = make_server("127.0.0.1", free_port(), create_app(store=store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with store.session() as s:
        token = issue_token(s, 1, label="e2e")
    yield f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()
    store.dispose()


def post(url: str, body: dict) -> list | dict:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def chat(assistant: Assistant, sender: str, text: str) -> str:
    replies = post(assistant.webhook, {"sender": sender, "message": text})
    return " | ".join(r.get("text", "") for r in replies)


def test_order_by_chat_lands_in_the_store(assistant, api):
    base, token = api
    assert "Added" in chat(assistant, "1", "order ketchup")
    assert "2 x" in chat(assistant, "1", "make it two")
    cart = get(f"{base}/api/households/1/cart", token)
    assert [(x["category"]["id"], x["quantity"], x["source"]) for x in cart["lines"]] == [
        ("ketchup", 2, "chat")
    ]
    assert "Total" in chat(assistant, "1", "what's in my cart")
    assert "Shall I place it?" in chat(assistant, "1", "check out")
    assert get(f"{base}/api/households/1/orders", token)["orders"] == []  # not without a yes
    assert "placed" in chat(assistant, "1", "yes")
    # The order ends the conversation session (Rasa re-reads a session every turn, so long
    # conversations would slow down): the tracker's last events are a fresh session.
    url = f"{assistant.url}/conversations/1/tracker?token={assistant.cfg.auth_token}"
    with urllib.request.urlopen(url, timeout=10) as res:
        events = [e["event"] for e in json.load(res)["events"]]
    assert events[-3:] == ["action", "session_started", "action"], events[-6:]
    orders = get(f"{base}/api/households/1/orders", token)["orders"]
    assert len(orders) == 1 and orders[0]["lines"][0]["quantity"] == 2
    assert orders[0]["lines"][0]["product"]["category"]["id"] == "ketchup"
    assert get(f"{base}/api/households/1/cart", token)["lines"] == []


def test_out_of_scope_and_unknown_never_order(assistant, api):
    base, token = api
    assert "shopping" in chat(assistant, "1", "play some jazz")
    assert "dollhouse" in chat(assistant, "1", "order a dollhouse")
    assert get(f"{base}/api/households/1/cart", token)["lines"] == []


def test_rest_answers_only_this_machines_own_processes(assistant, api):
    """A REST message names its household itself, so the channel refuses what a proxy
    forwards from elsewhere (403) and ignores a claimed ``input_channel``."""
    base, token = api
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        req = urllib.request.Request(
            assistant.webhook,
            data=json.dumps({"sender": "1", "message": "order ketchup"}).encode(),
            headers={"Content-Type": "application/json", header: "203.0.113.9"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 403
    assert get(f"{base}/api/households/1/cart", token)["lines"] == []
    body = {"sender": "1", "message": "what's in my cart", "input_channel": "telegram"}
    replies = post(assistant.webhook, body)  # as REST: household 1 (a linked chat would not be)
    assert "empty" in " | ".join(r.get("text", "") for r in replies).lower()


def test_rasa_http_api_needs_the_token(assistant):
    url = f"http://127.0.0.1:{assistant.cfg.rasa_port}/conversations/1/tracker"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code in (401, 403)
    ok = urllib.request.urlopen(f"{url}?token={assistant.cfg.auth_token}", timeout=10)
    assert ok.status == 200


def test_scan_follow_up_reaches_the_conversation_and_survives_a_rasa_outage(
    assistant, assistant_db
):
    """The bridge's outbox tells Rasa about a scan (trigger_intent); while Rasa is down the
    notification waits and is retried."""
    from sqlalchemy import select

    from mqtt_bridge.followup import FollowupOptions, OutboxSender
    from shop.models import OutboxMessage, utcnow

    store = Store(Settings(database_url=assistant_db))
    with store.session() as s:
        s.add(
            OutboxMessage(
                household_id=2,
                kind="scan_added",
                payload={"product": "Heinz Tomato Ketchup", "device": "kitchen"},
            )
        )
    down = OutboxSender(store, FollowupOptions(rasa_url=f"http://127.0.0.1:{free_port()}"))
    assert down.send_due() == 0
    with store.session() as s:
        row = s.execute(select(OutboxMessage)).scalars().one()
        assert row.sent_at is None and row.attempts == 1 and row.last_error
        assert row.next_attempt_at > utcnow()
        row.next_attempt_at = utcnow()  # pretend the retry delay has passed
    up = OutboxSender(
        store,
        FollowupOptions(
            rasa_url=f"http://127.0.0.1:{assistant.cfg.rasa_port}", token=assistant.cfg.auth_token
        ),
    )
    assert up.send_due() == 1
    assert up.send_due() == 0  # sent once
    with store.session() as s:
        assert s.execute(select(OutboxMessage)).scalars().one().sent_at is not None
    tracker_url = (
        f"http://127.0.0.1:{assistant.cfg.rasa_port}/conversations/2/tracker"
        f"?token={assistant.cfg.auth_token}"
    )
    with urllib.request.urlopen(tracker_url, timeout=10) as res:
        events = json.load(res)["events"]
    said = [e.get("text") or "" for e in events if e["event"] == "bot"]
    assert any("kitchen scanner added Heinz Tomato Ketchup" in t for t in said), said
    store.dispose()


def test_reminder_reaches_the_conversation_and_yes_adds_the_usual(assistant, api, assistant_db):
    """A queued reminder goes out through the outbox as EXTERNAL_reminder; the household
    answers in the same conversation and the usual product lands in the cart."""
    from mqtt_bridge.followup import FollowupOptions, OutboxSender
    from shop.models import OutboxMessage
    from shop.replenishment import cycles

    base, token = api
    store = Store(Settings(database_url=assistant_db))
    with store.session() as s:
        cycle = next(c for c in cycles(s, 3) if c.usual_product_id)
        s.add(
            OutboxMessage(
                household_id=3,
                kind="reminder",
                payload={"category": cycle.category_id, "product": cycle.usual_product},
            )
        )
    sender = OutboxSender(
        store,
        FollowupOptions(
            rasa_url=f"http://127.0.0.1:{assistant.cfg.rasa_port}", token=assistant.cfg.auth_token
        ),
    )
    assert sender.send_due() == 1
    tracker_url = (
        f"http://127.0.0.1:{assistant.cfg.rasa_port}/conversations/3/tracker"
        f"?token={assistant.cfg.auth_token}"
    )
    with urllib.request.urlopen(tracker_url, timeout=10) as res:
        said = [e.get("text") or "" for e in json.load(res)["events"] if e["event"] == "bot"]
    assert any(f"You usually buy {cycle.category} every" in t for t in said), said
    assert "Added" in chat(assistant, "3", "yes please")
    with store.session() as s:
        raw = issue_token(s, 3, label="e2e")
    lines = get(f"{base}/api/households/3/cart", raw)["lines"]
    assert [x["product"]["id"] for x in lines] == [cycle.usual_product_id]
    store.dispose()


def test_time_axis_and_deals_by_chat(assistant):
    last = chat(assistant, "4", "when did I last buy coffee?")
    assert "You last bought coffee" in last or "no coffee" in last
    low = chat(assistant, "4", "what am I running low on?")
    assert "running low" in low or "Nothing looks due" in low
    deals = chat(assistant, "4", "any deals for me?")
    assert "Deals for you" in deals or "bestseller deals" in deals
    assert "no more reminders about coffee" in chat(
        assistant, "4", "stop reminding me about coffee"
    )
    assert "Remind you about what?" in chat(assistant, "4", "remind me tomorrow")


def test_an_unknown_scan_is_asked_about_and_identified(assistant, assistant_db):
    """A barcode the catalog lacks: the bridge's outbox note makes the assistant ask what it
    was; the household's answer adds the product and is recorded on the scan."""
    from sqlalchemy import select

    from mqtt_bridge.followup import FollowupOptions, OutboxSender
    from shop.devices import add_device
    from shop.models import OutboxMessage, ScanEvent

    store = Store(Settings(database_url=assistant_db))
    with store.session() as s:
        device = add_device(s, 6, "pantry")
        s.add(
            ScanEvent(
                device_id=device.id,
                event_id="e2e-unknown",
                kind="scan",
                barcode="2912345678908",
                quantity=1,
                status="error",
                error="unknown barcode 2912345678908; ask the assistant to identify it",
                household_id=6,
            )
        )
        s.add(
            OutboxMessage(
                household_id=6,
                kind="scan_unknown",
                payload={"barcode": "2912345678908", "device": "pantry"},
            )
        )
    sender = OutboxSender(
        store, FollowupOptions(rasa_url=assistant.url, token=assistant.cfg.auth_token)
    )
    assert sender.send_due() >= 1
    tracker_url = f"{assistant.url}/conversations/6/tracker?token={assistant.cfg.auth_token}"
    with urllib.request.urlopen(tracker_url, timeout=10) as res:
        said = [e.get("text") or "" for e in json.load(res)["events"] if e["event"] == "bot"]
    assert any("pantry scanner read a barcode I don't know" in t for t in said), said
    reply = chat(assistant, "6", "it was milk")
    assert "for the scan at" in reply, reply
    with store.session() as s:
        scan = s.execute(select(ScanEvent).where(ScanEvent.event_id == "e2e-unknown")).scalar_one()
        assert scan.product_id is not None and scan.product_id == (
            carts.get_cart(s, 6).lines[0].product_id
        )
    store.dispose()
