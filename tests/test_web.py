"""The web pages through Flask's test client: login, who may see what (pages and API), the
household page's forms, the live cart feed, and the chat tickets that tell the action server
which household is typing (the dashboard: tests/test_dashboard.py)."""

from __future__ import annotations

import json
import re

import pytest
from rasa_sdk import Tracker

from bot.actions.context import identify
from shop import carts
from shop.api import create_app
from shop.chat_tickets import chat_session_id, issue_ticket, verify_ticket
from shop.devices import add_device
from shop.households import check_voice_pin, issue_token, revoke_token
from shop.models import Household, Preference
from shop.offer_engine import refresh
from tests.web_helpers import SECRET, csrf, logged_in, login

# --- login and access ------------------------------------------------------------------------


def test_pages_need_a_login(web):
    app, _, _ = web
    client = app.test_client()
    for path in ("/households/1", "/households/1/cart.json", "/dashboard"):
        res = client.get(path)
        assert res.status_code == 302 and res.location.startswith("/login?next=")


def test_login_lands_on_the_viewers_home(web):
    app, _, tokens = web
    assert login(app.test_client(), tokens[1]).location == "/households/1"
    assert login(app.test_client(), tokens["operator"]).location == "/dashboard"
    assert login(app.test_client(), tokens[1], "/chat").location == "/chat"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_never_redirects_off_site(web, target):
    app, _, tokens = web
    assert login(app.test_client(), tokens[1], target).location == "/households/1"


def test_bad_token_and_missing_csrf_are_refused(web):
    app, _, tokens = web
    client = app.test_client()
    res = login(client, "not-a-token")
    assert res.status_code == 401 and "not valid" in res.text
    res = client.post("/login", data={"token": tokens[1]})  # no CSRF token
    assert res.status_code == 400
    assert client.get("/households/1").status_code == 302  # still logged out


def test_a_household_sees_only_its_own_pages(web):
    app, _, tokens = web
    client = logged_in(app, tokens[1])
    assert client.get("/households/1").status_code == 200
    for path in (
        "/households/2",
        "/households/2/cart.json",
        "/households/2/cart/stream",
        "/dashboard",
        "/dashboard/forecast.json",
        "/dashboard/scans.json",
        "/dashboard/plots/brand_resolution.png",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf(client.get("/households/1").text)
    for path in (
        "/households/2/preferences",
        "/households/2/settings",
        "/households/2/offers/1/accept",
    ):
        assert client.post(path, data={"csrf": token, "spending_limit": "1"}).status_code == 403


def test_a_household_token_reads_no_other_households_api_data(web):
    app, _, tokens = web
    client = app.test_client()
    auth = {"Authorization": f"Bearer {tokens[1]}"}
    for path in (
        "/api/households/2/cart",
        "/api/households/2/orders",
        "/api/households/2/replenishment",
        "/api/households/2/offers",
        "/api/forecast",
    ):
        assert client.get(path, headers=auth).status_code == 403, path
    assert client.post("/api/households/2/orders", headers=auth, json={}).status_code == 403
    assert client.get("/api/households/1/cart", headers=auth).status_code == 200


def test_a_web_login_does_not_open_the_api(web):
    """The API takes bearer tokens only: a logged-in browser (cookie) gets no API access, so
    another site cannot ride the cookie into the API."""
    app, _, tokens = web
    client = logged_in(app, tokens[1])
    assert client.get("/api/households/1/cart").status_code == 401


def test_revoking_the_token_ends_the_browser_session(web):
    app, store, tokens = web
    client = logged_in(app, tokens[1])
    with store.session() as s:
        revoke_token(s, tokens[1])
    assert client.get("/households/1").status_code == 302


def test_operator_sees_any_household_and_logs_out(web):
    app, _, tokens = web
    client = logged_in(app, tokens["operator"])
    assert client.get("/households/2").status_code == 200
    page = client.get("/dashboard").text
    assert client.post("/logout", data={"csrf": csrf(page)}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_error_pages_are_html_and_api_errors_json(web):
    app, _, tokens = web
    client = logged_in(app, tokens[1])
    res = client.get("/households/2")
    assert res.mimetype == "text/html" and "another household" in res.text
    assert client.get("/api/nope").mimetype == "application/json"


# --- the household page ----------------------------------------------------------------------


def test_household_page_shows_cart_orders_devices_and_preferences(web):
    app, store, tokens = web
    with store.session() as s:
        carts.add_item(s, 1, 1, 2, source="scanner", added_by="kitchen")
        add_device(s, 1, "fridge door")
    page = logged_in(app, tokens[1]).get("/households/1").text
    for section in ('id="cart"', 'id="low"', 'id="offers"', 'id="orders"', 'id="devices"'):
        assert section in page
    assert "fridge door" in page and "offline" in page
    assert "scanner · kitchen" in page
    assert 'data-stream="/households/1/cart/stream"' in page


def test_preferences_are_editable(web):
    app, store, tokens = web
    client = logged_in(app, tokens[1])
    token = csrf(client.get("/households/1").text)
    res = client.post(
        "/households/1/preferences", data={"csrf": token, "category": "ketchup", "brand": "Hunt's"}
    )
    assert res.status_code == 302
    with store.session() as s:
        pref = s.query(Preference).filter_by(household_id=1, category_id="ketchup").one()
        assert pref.brand == "Hunt's" and pref.member_id is None
        pref_id = pref.id
    assert "Hunt&#39;s" in client.get("/households/1").text
    # A brand the category does not carry is refused with a message, and nothing changes.
    client.post(
        "/households/1/preferences", data={"csrf": token, "category": "ketchup", "brand": "Tide"}
    )
    assert "no Tide in ketchup" in client.get("/households/1").text
    client.post(f"/households/1/preferences/{pref_id}/delete", data={"csrf": token})
    with store.session() as s:
        assert s.query(Preference).filter_by(household_id=1, category_id="ketchup").count() == 0


def test_spending_limit_and_voice_pin(web):
    app, store, tokens = web
    client = logged_in(app, tokens[1])
    token = csrf(client.get("/households/1").text)
    client.post(
        "/households/1/settings",
        data={"csrf": token, "spending_limit": "$120.50", "voice_pin": "4321"},
    )
    with store.session() as s:
        home = s.get(Household, 1)
        assert home.spending_limit_cents == 12050
        assert check_voice_pin(home, "4321") and not check_voice_pin(home, "1234")
        assert "4321" not in home.voice_pin_hash
    bad_posts = (
        {"spending_limit": "lots"},
        *({"spending_limit": x} for x in ("inf", "1e400", "nan", "-inf")),  # inf was a 500
        {"voice_pin": "12a"},
        {"voice_pin": "12"},
        {"voice_pin": "\u00b2\u00b2\u00b2\u00b2"},  # "²²²²": digits to isdigit(), not to a keypad
    )
    for bad in bad_posts:
        res = client.post(
            "/households/1/settings", data={"csrf": token, "spending_limit": "5", **bad}
        )
        assert res.status_code == 302, bad
    with store.session() as s:
        assert s.get(Household, 1).spending_limit_cents == 12050  # each bad post changed nothing
    assert "4 to 8 digits" in client.get("/households/1").text
    client.post("/households/1/settings", data={"csrf": token, "clear_pin": "1"})
    with store.session() as s:
        assert s.get(Household, 1).voice_pin_hash is None
        assert s.get(Household, 1).spending_limit_cents is None  # empty: the store default


def test_offers_with_reasons_can_be_taken_on_the_page(recent_store):
    store = recent_store
    store.settings = store.settings.with_(secret_key=SECRET)
    app = create_app(store=store)
    with store.session() as s:
        made = refresh(s, store.settings, None, [1])
        token = issue_token(s, 1)
    assert made[1], "the engine made no offer for household 1"
    client = logged_in(app, token)
    page = client.get("/households/1").text
    first = made[1][0]
    assert first.reason.replace("'", "&#39;") in page
    res = client.post(f"/households/1/offers/{first.id}/accept", data={"csrf": csrf(page)})
    assert res.status_code == 302
    cart = client.get("/households/1/cart.json").json
    assert [line["unit_price"] for line in cart["lines"]] == [first.price_cents / 100]
    assert "Running low" in page and "Nothing is due this week" not in page


def test_live_cart_feed_sends_the_cart_when_it_changes(web):
    app, store, tokens = web
    app.config.update(CART_POLL_S=0.1, CART_STREAM_S=2.0)
    client = logged_in(app, tokens[1])
    res = client.get("/households/1/cart/stream", buffered=False)
    assert res.mimetype == "text/event-stream"
    # The generator, read event by event: the first cart, then a change, then the next one.
    chunks = (c.decode() for c in res.response)
    assert next(chunks).startswith("retry:")
    first = next(chunks)
    assert (
        first.startswith("event: cart") and json.loads(first.split("data: ", 1)[1])["lines"] == []
    )
    with store.session() as s:
        carts.add_item(s, 1, 1, 1, source="scanner")
    second = next(chunks)
    assert json.loads(second.split("data: ", 1)[1])["item_count"] == 1
    res.close()


# --- chat tickets ----------------------------------------------------------------------------


def test_chat_page_carries_a_ticket_only_for_a_household(web):
    app, _, tokens = web
    page = logged_in(app, tokens[1]).get("/chat").text
    ticket = re.search(r'data-ticket="([^"]*)"', page).group(1)
    session = re.search(r'data-session="([^"]*)"', page).group(1)
    assert verify_ticket(SECRET, ticket, session) == 1
    visitor = app.test_client().get("/chat").text
    assert 'data-ticket=""' in visitor and "log in</a> to order" in visitor


def test_tickets_bind_household_and_session():
    ticket = issue_ticket(SECRET, 1)
    session = chat_session_id(SECRET, 1)
    assert verify_ticket(SECRET, ticket, session) == 1
    assert verify_ticket(SECRET, ticket, chat_session_id(SECRET, 2)) is None  # another room
    assert verify_ticket(SECRET, ticket, "1") is None
    assert verify_ticket("other-secret", ticket, session) is None
    assert verify_ticket("", ticket, session) is None
    # Tamper with the signature's first character: all six of its bits count. Replacing the
    # last two with "xx" verified once in CI: the last character has two spare bits, so a
    # signature ending in "x" then w, x, y or z decodes the same (about 1 in 1,000 tickets).
    at = ticket.rindex(".") + 1
    forged = ticket[:at] + ("A" if ticket[at] != "A" else "B") + ticket[at + 1 :]
    assert verify_ticket(SECRET, forged, session) is None
    assert verify_ticket(SECRET, None, session) is None
    assert chat_session_id(SECRET, 1) != chat_session_id("other-secret", 1)


def _tracker(sender: str, channel: str, metadata: dict) -> Tracker:
    message = {"text": "order ketchup", "metadata": metadata, "intent": {}, "entities": []}
    events = [{"event": "user", "text": "hi", "input_channel": channel, "metadata": metadata}]
    return Tracker(sender, {}, message, events, False, None, {}, "action_listen")


def test_the_web_chat_trusts_only_a_ticket(sqlite_demo_store):
    web_sender = chat_session_id(SECRET, 2)
    with sqlite_demo_store.session() as s:
        signed = _tracker(web_sender, "socketio", {"ticket": issue_ticket(SECRET, 2)})
        assert identify(signed, s, SECRET).household_id == 2
        for sender, metadata in (
            ("1", {}),  # a socket.io session named like a household
            (web_sender, {"household_id": 2}),  # metadata the browser made up
            (web_sender, {"ticket": issue_ticket(SECRET, 1)}),  # someone else's ticket
            (web_sender, {"ticket": issue_ticket("wrong", 2)}),
        ):
            assert identify(_tracker(sender, "socketio", metadata), s, SECRET).household_id is None
        # The REST channel keeps the demo's rule (sender = household id).
        assert identify(_tracker("1", "rest", {}), s, SECRET).household_id == 1
