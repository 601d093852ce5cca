"""Speakers and messaging apps end to end, against the real Rasa server and action server:

- Home Assistant Assist through the Wyoming handle service (its own process), spoken to with
  the wyoming client the way Home Assistant does;
- Alexa through the custom channel, with requests signed by a test CA the channel trusts;
- Telegram through our channel, with a stand-in for the Bot API on loopback receiving the
  bot's sendMessage calls.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info

from shop import carts
from shop.processes import port_open
from tests.alexa_ca import alexa_request, signed
from tests.conftest import free_port
from tests.voice_world import TG_SECRET

pytestmark = pytest.mark.slow


def cart(doors, household: int) -> list[tuple[str, int, str]]:
    with doors["store"].session() as s:
        return [
            (x.product.category_id, x.quantity, x.source)
            for x in carts.get_cart(s, household).lines
        ]


# --- Home Assistant Assist (Wyoming) ------------------------------------------------------------


async def _wyoming(port: int, event):
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(event.event())
        return await asyncio.wait_for(client.read_event(), timeout=60)


def wyoming(port: int, event):
    return asyncio.run(_wyoming(port, event))


def test_assist_describes_itself_as_a_handle_service(doors):
    info = Info.from_event(wyoming(doors["wyoming"], Describe()))
    assert [p.name for p in info.handle] == ["dash"]
    assert info.handle[0].models[0].languages == ["en"]


def test_assist_orders_by_voice_for_its_household(doors):
    answer = wyoming(
        doors["wyoming"], Transcript("order ketchup", context={"conversation_id": "ha-1"})
    )
    assert Handled.is_type(answer.type)
    handled = Handled.from_event(answer)
    assert "Added" in handled.text and handled.context == {"conversation_id": "ha-1"}
    assert "$" not in handled.text  # prices are spoken ("2 dollars 49"), not written
    assert ("ketchup", 1, "voice") in cart(doors, 1)
    # The same Home Assistant conversation continues: "make it two" refers to the ketchup.
    wyoming(doors["wyoming"], Transcript("make it two", context={"conversation_id": "ha-1"}))
    assert ("ketchup", 2, "voice") in cart(doors, 1)


def test_a_linked_satellite_speaks_for_its_own_household(doors):
    before = cart(doors, 1)
    context = {"conversation_id": "ha-2", "satellite_id": "satellite-bedroom"}
    answer = Handled.from_event(wyoming(doors["wyoming"], Transcript("add milk", context=context)))
    assert "Added" in answer.text
    assert [c for c, _, _ in cart(doors, 2)] == ["milk"] and cart(doors, 1) == before


def test_assist_says_not_handled_when_rasa_is_down(doors, tmp_path):
    from voice.wyoming_service import Assist, serve

    port = free_port()
    assist = Assist(doors["store"], f"http://127.0.0.1:{free_port()}", 1, timeout=3)

    async def run() -> object:
        server = asyncio.create_task(serve(assist, "127.0.0.1", port))
        for _ in range(50):
            if port_open("127.0.0.1", port):
                break
            await asyncio.sleep(0.1)
        try:
            return await _wyoming(port, Transcript("order ketchup"))
        finally:
            server.cancel()

    answer = asyncio.run(run())
    assert NotHandled.is_type(answer.type)
    assert "not reachable" in NotHandled.from_event(answer).text


# --- Alexa ----------------------------------------------------------------------------------


def alexa(doors, payload: dict, headers: dict | None = None, body: bytes | None = None):
    sent_headers, sent_body = signed(doors["ca"], payload)
    req = urllib.request.Request(
        f"{doors['rasa']}/webhooks/alexa/webhook",
        data=body if body is not None else sent_body,
        headers={"Content-Type": "application/json", **(headers or sent_headers)},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def now_request(**kwargs) -> dict:
    return alexa_request(when=datetime.now(timezone.utc), **kwargs)


def test_alexa_launch_and_order_with_a_linked_account(doors):
    token = doors["alexa_token"]
    status, launch = alexa(doors, now_request(kind="LaunchRequest", access_token=token))
    assert status == 200 and launch["response"]["outputSpeech"]["ssml"].startswith("<speak>")
    status, body = alexa(
        doors,
        now_request(intent="OrderIntent", slots={"product": "ketchup"}, access_token=token),
    )
    assert status == 200
    assert "Added" in body["response"]["outputSpeech"]["ssml"]
    assert body["response"]["shouldEndSession"] is True
    assert cart(doors, 3) == [("ketchup", 1, "voice")]
    status, body = alexa(doors, now_request(intent="CheckoutIntent", access_token=token))
    speech = body["response"]
    assert "Shall I place the order?" in speech["outputSpeech"]["ssml"]
    assert speech["shouldEndSession"] is False and "reprompt" in speech
    status, body = alexa(doors, now_request(intent="AMAZON.YesIntent", access_token=token))
    assert "placed" in body["response"]["outputSpeech"]["ssml"]
    assert cart(doors, 3) == []


def test_a_voice_pin_guards_voice_orders(doors):
    """A household that set a PIN orders by voice only after saying it; a TV or a child saying
    "yes" is not enough, and three wrong PINs drop the checkout."""
    from shop.households import get_household, set_voice_pin

    token = doors["alexa_token"]
    with doors["store"].session() as s:
        set_voice_pin(get_household(s, 3), "1234")

    def say(intent: str, **slots) -> dict:
        request = now_request(intent=intent, slots=slots, access_token=token)
        return alexa(doors, request)[1]["response"]

    say("OrderIntent", product="milk")
    say("CheckoutIntent")
    asked = say("AMAZON.YesIntent")
    assert "voice PIN" in asked["outputSpeech"]["ssml"] and asked["shouldEndSession"] is False
    assert "not right" in say("VoicePinIntent", pin="4321")["outputSpeech"]["ssml"]
    assert cart(doors, 3) == [("milk", 1, "voice")]  # nothing ordered yet
    assert "placed" in say("VoicePinIntent", pin="1234")["outputSpeech"]["ssml"]
    assert cart(doors, 3) == []
    say("OrderIntent", product="eggs")
    say("CheckoutIntent")
    say("AMAZON.YesIntent")
    for pin in ("1111", "2222"):
        assert "again" in say("VoicePinIntent", pin=pin)["outputSpeech"]["ssml"]
    assert "won't place" in say("VoicePinIntent", pin="3333")["outputSpeech"]["ssml"]
    assert cart(doors, 3) == [("eggs", 1, "voice")]
    with doors["store"].session() as s:
        set_voice_pin(get_household(s, 3), None)


def test_speech_nobody_should_order_with_never_orders(doors):
    before = cart(doors, 1)
    for text in ("order a dollhouse", "what's the weather like", "buy me a pony"):
        answer = wyoming(doors["wyoming"], Transcript(text, context={"conversation_id": "tv"}))
        assert Handled.is_type(answer.type)
    assert cart(doors, 1) == before


def test_alexa_without_a_linked_account_cannot_order(doors):
    status, body = alexa(doors, now_request(intent="OrderIntent", slots={"product": "ketchup"}))
    assert status == 200 and "link your Dash account" in body["response"]["outputSpeech"]["ssml"]


def test_alexa_refuses_unverified_requests_and_changes_nothing(doors):
    before = cart(doors, 3)
    payload = now_request(
        intent="OrderIntent", slots={"product": "ketchup"}, access_token=doors["alexa_token"]
    )
    headers, body = signed(doors["ca"], payload)
    forged = body.replace(b"ketchup", b"coffee!")
    assert alexa(doors, payload, headers=headers, body=forged)[0] == 400
    assert alexa(doors, payload, headers={"Signature-256": headers["Signature-256"]})[0] == 400
    other_skill = now_request(intent="OrderIntent", skill="amzn1.ask.skill.other")
    assert alexa(doors, other_skill)[0] == 400
    assert cart(doors, 3) == before


def test_alexa_stop_and_session_end(doors):
    status, body = alexa(doors, now_request(intent="AMAZON.StopIntent"))
    assert status == 200 and body["response"]["shouldEndSession"] is True
    status, body = alexa(doors, now_request(kind="SessionEndedRequest"))
    assert status == 200 and body == {"version": "1.0", "response": {}}


# --- Telegram -------------------------------------------------------------------------------


def telegram(doors, update: dict | bytes, secret: str | None = TG_SECRET) -> int:
    data = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(
        f"{doors['rasa']}/webhooks/telegram/webhook", data=data, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status
    except urllib.error.HTTPError as err:
        return err.code


def message(chat: int, text: str, update_id: int = 1) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Sam"},
            "text": text,
        },
    }


def test_telegram_linked_chat_orders_and_gets_the_reply(doors):
    standin = doors["telegram"]
    assert telegram(doors, message(555, "order ketchup")) == 200
    replies = [m["text"] for m in standin.sent(555)]
    assert any("Added" in r for r in replies), replies
    assert cart(doors, 4) == [("ketchup", 1, "chat")]
    assert telegram(doors, message(555, "check out", 2)) == 200
    question = standin.sent(555)[-1]
    assert "Shall I place it?" in question["text"]
    assert "Yes, place it" in question["reply_markup"]  # the bot's buttons, as a keyboard


def test_telegram_unlinked_chat_is_told_its_chat_id(doors):
    assert telegram(doors, message(777, "order ketchup")) == 200
    assert "chat id is 777" in doors["telegram"].sent(777)[-1]["text"]


def test_telegram_refuses_updates_without_the_secret_or_malformed(doors):
    standin = doors["telegram"]
    calls = len(standin.calls)
    assert telegram(doors, message(555, "order coffee"), secret=None) == 403
    assert telegram(doors, message(555, "order coffee"), secret="wrong") == 403
    assert telegram(doors, b"{not json") == 400
    assert telegram(doors, b"[1, 2]") == 400
    assert telegram(doors, {"update_id": 9, "message": {"chat": {"id": 555}}}) == 200  # no text
    assert len(standin.calls) == calls
    assert [c for c, _, _ in cart(doors, 4)] == ["ketchup"]


@pytest.mark.parametrize(
    ("ip", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("127.0.0.53", {}, True),
        ("::1", {}, True),
        ("[::1]", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("10.0.0.5", {}, False),
        ("192.168.1.20", {}, False),
        ("::ffff:10.0.0.5", {}, False),
        ("", {}, False),
        (None, {}, False),
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, False),
        ("127.0.0.1", {"forwarded": "for=203.0.113.9"}, False),
        ("127.0.0.1", {"x-real-ip": "203.0.113.9"}, False),
    ],
)
def test_the_rest_channel_answers_this_machine_only(ip, headers, allowed):
    """REST messages name their household themselves (``bot.channels.rest``): only a direct
    connection from loopback counts; the end-to-end test sends through the real server."""
    from bot.channels.rest import from_this_machine

    assert from_this_machine(ip, headers) is allowed
