"""The time axis in the store: predicted run-outs, reminders with their rules, and the
conversation around them, on a seeded demo history that ends today."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from bot.actions.cart import ActionAddToCart, ActionAffirm, ActionDeny
from bot.actions.context import ShopContext
from bot.actions.replenishment import (
    ActionLastBought,
    ActionRemind,
    ActionRemindLater,
    ActionRunningLow,
    ActionStopReminding,
)
from bot.components.catalog_matcher import CatalogMatcher
from recommender import timing
from shop import carts, reminders
from shop.catalog_snapshot import CatalogSnapshot
from shop.households import issue_token
from shop.models import OutboxMessage, Purchase, Reminder, utcnow
from shop.replenishment import CycleCache, cycle_table, cycles, running_low
from tests.chat_helpers import Chat

TODAY = utcnow().date()
#: Noon today: outside the default quiet hours (21-8 UTC).
NOON = datetime(TODAY.year, TODAY.month, TODAY.day, 12)


@pytest.fixture
def store(recent_store):
    return recent_store


@pytest.fixture
def due_households(store) -> list[int]:
    """Households with something due by tomorrow (so a reminder pass picks them)."""
    with store.session() as s:
        table = cycle_table(s, NOON)
        return [h for h in range(1, 25) if reminders.reminder_due(s, h, NOON, table=table)]


@pytest.fixture
def chat_for(store, tmp_path):
    with store.session() as s:
        CatalogSnapshot.from_session(s).to_json(tmp_path / "catalog.json")
    matcher = CatalogMatcher({"catalog_path": str(tmp_path / "catalog.json")})
    ctx = ShopContext(store)
    return lambda household: Chat(ctx, matcher, str(household))


def test_cycles_predict_dates_with_a_range(store):
    with store.session() as s:
        items = cycles(s, 1, NOON)
    assert len(items) >= 5
    for c in items:
        assert c.earliest <= c.predicted <= c.latest
        assert 0.0 <= c.p7 <= 1.0 and c.interval_days > 0
        assert c.last_bought < TODAY and c.usual_product
    assert [c.predicted for c in items] == sorted(c.predicted for c in items)


def test_a_new_purchase_moves_the_prediction(store):
    """It learns from orders and scans as they arrive: buying the item resets its cycle."""
    with store.session() as s:
        due = running_low(s, 2, NOON)
        assert due, "the seeded household should have something due within a week"
        target = due[0]
        s.add(
            Purchase(
                household_id=2,
                product_id=target.usual_product_id,
                quantity=1,
                price_paid_cents=100,
                purchased_at=NOON - timedelta(hours=1),
                source="scan",
            )
        )
        s.flush()
        after = next(c for c in cycles(s, 2, NOON) if c.category_id == target.category_id)
        assert after.days_since == 0 and after.predicted > target.predicted
        s.rollback()


class _RulesModel:
    """Stands in for a retrained TimingModel: the rules, as a new object."""

    def predict(self, features):  # noqa: ANN001, ANN201
        return timing.rule_predict(features)


def test_the_cycle_cache_reuses_the_table_until_something_changes(store):
    """Web app and action server keep the shop-wide table; a purchase, another day or a
    retrained model rebuilds it, and what it serves equals a fresh computation."""
    cache = CycleCache()
    with store.session() as s:
        first = cache.table(s, NOON)
        assert cache.table(s, NOON + timedelta(hours=2)) is first and cache.builds == 1
        pd.testing.assert_frame_equal(first, cycle_table(s, NOON))
        due = running_low(s, 2, NOON, table=cache.table(s, NOON))
        assert due and due == running_low(s, 2, NOON)
        bought = Purchase(
            household_id=2,
            product_id=due[0].usual_product_id,
            quantity=1,
            price_paid_cents=100,
            purchased_at=NOON - timedelta(hours=1),
            source="scan",
        )
        s.add(bought)
        s.flush()
        after = cache.table(s, NOON)
        assert cache.builds == 2 and after is not first
        moved = cycles(s, 2, NOON, table=after)
        assert next(c for c in moved if c.category_id == due[0].category_id).days_since == 0
        cache.table(s, NOON + timedelta(days=1))
        assert cache.builds == 3
        retrained = _RulesModel()
        cache.table(s, NOON + timedelta(days=1), model=retrained)
        cache.table(s, NOON + timedelta(days=1), model=retrained)
        assert cache.builds == 4
        # a cancelled order's line replaced by another (SQLite may reuse the freed id)
        s.delete(bought)
        s.flush()
        s.add(
            Purchase(
                household_id=2,
                product_id=due[0].usual_product_id + 1,
                quantity=1,
                price_paid_cents=100,
                purchased_at=NOON - timedelta(hours=1),
                source="scan",
            )
        )
        s.flush()
        cache.table(s, NOON + timedelta(days=1), model=retrained)
        assert cache.builds == 5
        s.rollback()


def test_replenishment_api(app_for, store):
    client, token = app_for(store, 1)
    res = client.get("/api/households/1/replenishment", headers=token)
    assert res.status_code == 200
    body = res.get_json()
    assert body["model"] == "rule" and body["items"]
    item = body["items"][0]
    assert {"category", "predicted", "earliest", "latest", "p7", "usual_product"} <= set(item)
    full = client.get("/api/households/1/replenishment?all=1", headers=token).get_json()
    assert len(full["items"]) >= len(body["items"])
    assert client.get("/api/households/2/replenishment", headers=token).status_code == 403
    assert client.get("/api/households/1/replenishment").status_code == 401
    bad = client.get("/api/households/1/replenishment?days=zero", headers=token)
    assert bad.status_code == 400 and "days" in bad.get_json()["error"]["message"]


@pytest.fixture
def app_for():
    from shop.api import create_app

    def make(store, household):
        with store.session() as s:
            raw = issue_token(s, household, label="test")
        return create_app(store=store).test_client(), {"Authorization": f"Bearer {raw}"}

    return make


def _queued(store) -> list[tuple[int, str]]:
    with store.session() as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).scalars()
        return [(r.household_id, r.payload["category"]) for r in rows]


def test_reminders_once_per_household_and_never_repeated_within_the_interval(store):
    settings = store.settings
    with store.session() as s:
        first = reminders.queue_due(s, settings, NOON)
    assert first and len({x.household_id for x in first}) == len(first)
    assert sorted(_queued(store)) == sorted((x.household_id, x.cycle.category_id) for x in first)
    with store.session() as s:
        again = reminders.queue_due(s, settings, NOON + timedelta(hours=1))
    repeated = {(x.household_id, x.cycle.category_id) for x in again} & {
        (x.household_id, x.cycle.category_id) for x in first
    }
    assert not repeated
    later = NOON + timedelta(hours=settings.reminder_interval_hours + 1)
    with store.session() as s:
        due_again = reminders.queue_due(s, settings, later, households=[first[0].household_id])
    assert due_again, "past the interval the same household is reminded again"


def test_quiet_hours_send_nothing(store):
    settings = store.settings.with_(quiet_start=21, quiet_end=8)
    night = NOON.replace(hour=23)
    assert reminders.in_quiet_hours(night, settings)
    assert reminders.in_quiet_hours(NOON.replace(hour=7), settings)
    assert not reminders.in_quiet_hours(NOON, settings)
    with store.session() as s:
        assert reminders.queue_due(s, settings, night) == []
    tz = settings.with_(timezone="Asia/Seoul")  # noon UTC is 21:00 in Seoul
    assert reminders.in_quiet_hours(NOON, tz)


def _categories(sent) -> set[str]:
    return {x.cycle.category_id for x in sent}


def test_stop_is_for_good(store, due_households):
    settings, h = store.settings, due_households[0]
    with store.session() as s:
        (sent,) = reminders.queue_due(s, settings, NOON, households=[h])
        reminders.answer(s, h, sent.cycle.category_id, "stop", settings, NOON)
    with store.session() as s:
        for days in (4, 8, 12):  # past the repeat interval, the item still (over)due
            at = NOON + timedelta(days=days)
            assert sent.cycle.category_id not in _categories(
                reminders.queue_due(s, settings, at, households=[h])
            )


def test_remind_me_tomorrow_snoozes_until_tomorrow_morning(store, due_households):
    settings, h = store.settings, due_households[1]
    with store.session() as s:
        (sent,) = reminders.queue_due(s, settings, NOON, households=[h])
        row = reminders.answer(s, h, sent.cycle.category_id, "later", settings, NOON)
        wake = row.snoozed_until
    assert wake == (NOON + timedelta(days=1)).replace(hour=settings.quiet_end)
    with store.session() as s:
        assert sent.cycle.category_id not in _categories(
            reminders.queue_due(s, settings, wake - timedelta(hours=1), households=[h])
        )
    with store.session() as s:  # tomorrow morning it comes back, before the 72 h interval
        back = reminders.queue_due(s, settings, wake + timedelta(minutes=5), households=[h])
    assert sent.cycle.category_id in _categories(back)


def test_nothing_in_the_cart_is_reminded(store, due_households):
    settings, h = store.settings, due_households[2]
    with store.session() as s:
        due = reminders.reminder_due(s, h, NOON)
        for c in due:
            carts.add_item(s, h, c.usual_product_id, 1)
    with store.session() as s:
        assert reminders.queue_due(s, settings, NOON, households=[h]) == []


def test_reminder_conversation_yes_adds_the_usual(store, chat_for, due_households):
    h = due_households[3]
    with store.session() as s:
        (sent,) = reminders.queue_due(s, store.settings, NOON, households=[h])
    chat = chat_for(h)
    category = sent.cycle.category_id
    reply = chat(ActionRemind, "", entities=[{"entity": "category", "value": category}])
    text = reply[0]["text"]
    assert f"You usually buy {sent.cycle.category} every" in text and "Add your usual" in text
    titles = [b["title"] for b in reply[0]["buttons"]]
    assert titles[:3] == ["Yes", "Not now", "Remind me tomorrow"]
    assert titles[3] == f"Stop reminding me about {sent.cycle.category}"
    assert "Added" in chat.say(ActionAffirm, "yes")
    with store.session() as s:
        lines = carts.get_cart(s, h).lines
        assert [x.product_id for x in lines] == [sent.cycle.usual_product_id]


def test_reminder_answers_not_now_later_and_stop(store, chat_for, due_households):
    h = due_households[4]
    with store.session() as s:
        (sent,) = reminders.queue_due(s, store.settings, NOON, households=[h])
    category, name = sent.cycle.category_id, sent.cycle.category
    chat = chat_for(h)
    chat(ActionRemind, "", entities=[{"entity": "category", "value": category}])
    assert "not now" in chat.say(ActionDeny, "not now").lower()
    chat(ActionRemind, "", entities=[{"entity": "category", "value": category}])
    assert f"remind you about {name} tomorrow" in chat.say(ActionRemindLater, "remind me tomorrow")
    assert f"no more reminders about {name}" in chat.say(
        ActionStopReminding, f"stop reminding me about {name}"
    )
    with store.session() as s:
        row = s.execute(
            select(Reminder).where(Reminder.household_id == h, Reminder.category_id == category)
        ).scalar_one()
        assert row.stopped and row.last_answer == "stop"


def test_running_low_and_last_bought_in_chat(store, chat_for):
    chat = chat_for(1)
    assert "Which item" in chat.say(ActionLastBought, "when did I last buy it")
    low = chat.say(ActionRunningLow, "what am I running low on")
    assert "You may be running low on" in low and "every" in low
    reply = chat.say(ActionLastBought, "when did I last buy coffee")
    assert "You last bought coffee" in reply or "no coffee" in reply
    if "You last bought" in reply:
        assert "usually buy it every" in reply
    # "what am I running low on" leaves a question open: yes adds the first one
    assert "Added" in chat.say(ActionAffirm, "yes")


def test_order_flow_unchanged_without_offers(store, chat_for):
    chat = chat_for(8)
    reply = chat.say(ActionAddToCart, "add milk")
    assert "Added" in reply and "% off" not in reply and chat.slots["pending"] is None


def test_dash_train_fits_timing_and_offer_models_that_the_shop_uses(store, app_for):
    from recommender.live import ModelWatcher
    from shop import offer_engine
    from shop.recommend_data import train_from_store

    with store.session() as s:
        summary = train_from_store(s, store.settings.models_dir, progress=False)
    assert {"p7", "p14", "days"} <= set(summary["timing"]["fitted"])
    assert isinstance(summary["offers"], dict)
    models = ModelWatcher(store.settings.models_dir).current()
    assert models.timing is not None and models.offers is not None
    client, token = app_for(store, 1)
    body = client.get("/api/households/1/replenishment", headers=token).get_json()
    assert body["model"] == "learned" and body["items"]
    with store.session() as s:
        learned = cycles(s, 1, NOON, models.timing)
        rule = cycles(s, 1, NOON)
        assert {c.category_id for c in learned} == {c.category_id for c in rule}
        assert [c.p7 for c in learned] != [c.p7 for c in rule]
        made = offer_engine.refresh(s, store.settings, models, [1, 2])
        assert all(made[h] for h in (1, 2))
