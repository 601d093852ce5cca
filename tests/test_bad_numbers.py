"""Numbers Python accepts and the database or the arithmetic does not: ids past 2**63 - 1,
digits of other scripts ("²".isdigit() is true, int("²") fails), infinite amounts, and JSON
nested past the decoder's depth. Each reached a 500, an unanswered chat turn or a bridge error
once; each now gets the door's usual answer for a bad value, and changes nothing."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from sqlalchemy import func, select

from bot.actions.context import identify
from mqtt_bridge.protocol import BadEvent, parse_event
from shop.households import issue_token
from shop.models import Preference
from shop.parsing import MAX_ID, parse_cents, parse_id
from tests.web_helpers import csrf, logged_in, web  # noqa: F401 - the ``web`` fixture

HUGE = "9" * 20  # > 2**63 - 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (7, 7),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (MAX_ID + 1, None),
        (str(MAX_ID + 1), None),
        (HUGE, None),
        ("\u00b2", None),  # superscript two
        ("\u0663", None),  # Arabic-Indic three: int() takes it, an id in a URL does not
        ("-1", None),
        (-1, None),
        (" 1", None),
        ("", None),
        (True, None),
        (1.0, None),
        (None, None),
    ],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.50", 1250),
        ("$1,200", 120000),
        (" 3 ", 300),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
        ("1e400", None),
        ("", None),
        ("1,200.50", 120050),
        ("12.", 1200),
        ("2,49", None),  # a decimal comma: refused, not 249 dollars
        ("1,20", None),
    ],
)
def test_parse_cents(raw, expected):
    assert parse_cents(raw) == expected


@pytest.fixture
def operator(app) -> dict[str, str]:
    with app.extensions["dash.store"].session() as s:
        return {"Authorization": f"Bearer {issue_token(s, None, role='operator')}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/households/{HUGE}/cart"),
        ("patch", f"/api/households/1/cart/lines/{HUGE}"),
        ("delete", f"/api/households/1/cart/lines/{HUGE}"),
        ("post", f"/api/households/1/orders/{HUGE}/cancel"),
        ("post", f"/api/households/1/offers/{HUGE}/accept"),
        ("post", f"/api/households/1/offers/{HUGE}/decline"),
    ],
)
def test_ids_past_the_database_range_are_not_found(client, operator, method, path):
    res = getattr(client, method)(path, json={"quantity": 1}, headers=operator)
    assert res.status_code == 404
    assert res.get_json()["error"]["code"] == "not_found"
    # 19 digits, one past the range: refused by the converter's check, which werkzeug answers
    # with 404 or, where another method's route has the same shape, 405; never the database.
    res = getattr(client, method)(path.replace(HUGE, str(MAX_ID + 1)), headers=operator)
    assert res.status_code in (404, 405)


@pytest.mark.parametrize(
    "path",
    [
        "/api/households/1/replenishment?days=\u00b2",
        "/api/forecast?days=\u00b2",
        f"/api/forecast?days={HUGE}",
        "/api/products/resolve?q=ketchup&household=\u00b2",
        f"/api/products/resolve?q=ketchup&household={HUGE}",
    ],
)
def test_odd_digits_in_arguments_are_a_400(client, operator, path):
    res = client.get(path, headers=operator)
    assert res.status_code == 400
    assert res.get_json()["error"]["code"] == "invalid_input"


def test_a_member_id_past_the_range_saves_no_preference(web):  # noqa: F811 - fixture
    app, store, tokens = web
    client = logged_in(app, tokens[1])
    token = csrf(client.get("/households/1").text)

    def members_preferences() -> int:
        with store.session() as s:
            return s.execute(
                select(func.count(Preference.id)).where(
                    Preference.household_id == 1, Preference.member_id.isnot(None)
                )
            ).scalar_one()

    before = members_preferences()
    res = client.post(
        "/households/1/preferences",
        data={"csrf": token, "category": "ketchup", "brand": "Heinz", "member": HUGE},
    )
    assert res.status_code == 302  # not a member id: the household's own preference
    assert members_preferences() == before


@pytest.mark.parametrize("raw", ["\u00b2", HUGE, "-1", True])
def test_a_chat_naming_no_real_household_is_a_visitor(sqlite_demo_store, raw):
    """REST metadata names the household; one that is no id is a visitor, not a crashed
    action (the user got no answer at all)."""
    latest = {"text": "hi", "entities": [], "intent": {}, "metadata": {"household_id": raw}}
    events = [{"event": "user", "text": "hi", "input_channel": "rest", "metadata": {}}]
    tracker = Tracker("someone", {}, latest, events, False, None, {}, None)
    with sqlite_demo_store.session() as s:
        assert identify(tracker, s).household_id is None
        latest["metadata"] = {"household_id": "1"}
        assert identify(tracker, s).household_id == 1


@pytest.mark.parametrize("payload", [b"[" * 1500, b'{"id": "e1", "barcode": ' + b"[" * 1500])
def test_a_scan_nested_past_the_decoders_depth_is_a_bad_event(payload):
    """Under the 2 KB limit, yet deep enough to raise RecursionError, which the bridge did not
    expect: one such message from any scanner failed its whole batch."""
    with pytest.raises(BadEvent, match="not valid JSON"):
        parse_event("dash/kitchen-1/scan", payload)
