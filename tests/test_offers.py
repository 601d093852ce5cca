"""Personal offers in the store, the API and the conversation: picked by the engine with a
reason, priced within a budget, accepted at the offered price, declined for a while, expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.actions.cart import ActionAddToCart, ActionAffirm, ActionDeny
from bot.actions.context import ShopContext
from bot.actions.offers import ActionDeals
from bot.components.catalog_matcher import CatalogMatcher
from shop import carts, offer_engine, offers
from shop.catalog_snapshot import CatalogSnapshot
from shop.errors import InvalidInput, NotFound
from shop.households import issue_token
from shop.models import Offer, Product, utcnow
from tests.chat_helpers import Chat


@pytest.fixture
def store(recent_store):
    return recent_store


def _refresh(store, households=None, **settings):
    cfg = store.settings.with_(**settings) if settings else store.settings
    with store.session() as s:
        made = offer_engine.refresh(s, cfg, None, households)
        return {h: [(o.id, o.product_id, o.kind, o.reason, o.discount_pct) for o in v]
                for h, v in made.items()}  # fmt: skip


def _cost(store, household) -> int:
    with store.session() as s:
        return offers.spent_in_period(s, household, utcnow(), store.settings)


def test_engine_gives_each_household_a_few_offers_with_reasons(store):
    made = _refresh(store)
    assert len(made) == 24
    per = store.settings.offers_per_household
    assert all(1 <= len(v) <= per for v in made.values())
    kinds = {k for v in made.values() for _, _, k, _, _ in v}
    assert {"winback", "discovery"} <= kinds
    for v in made.values():
        for _, _, kind, reason, pct in v:
            assert reason and pct == offers.DISCOUNT_PCT[kind]
    for h in made:
        assert _cost(store, h) <= store.settings.offer_budget_cents


def test_offers_skip_what_was_bought_in_the_last_eight_weeks(store):
    from shop.models import Purchase

    made = _refresh(store)
    since = utcnow() - timedelta(weeks=8)
    with store.session() as s:
        for h, items in made.items():
            recent = set(
                s.execute(
                    select(Purchase.product_id).where(
                        Purchase.household_id == h, Purchase.purchased_at >= since
                    )
                ).scalars()
            )
            offered = {pid for _, pid, kind, _, _ in items if kind != "due"}
            assert not offered & recent


def test_budget_caps_the_discount_money(store):
    made = _refresh(store, [1, 2, 3], offer_budget_cents=60)
    for h in made:
        assert _cost(store, h) <= 60
    assert sum(len(v) for v in made.values()) < 9


def test_accept_adds_at_the_offered_price_once(store):
    (offer_id, product_id, *_), *_ = _refresh(store, [1])[1]
    with store.session() as s:
        result = offers.accept(s, 1, offer_id, source="chat")
        offer = s.get(Offer, offer_id)
        assert result.line.unit_price_cents == offer.price_cents < offer.product.price_cents
        assert result.line.offer_id == offer_id and offer.status == "accepted"
    with store.session() as s, pytest.raises(InvalidInput, match="no longer available"):
        offers.accept(s, 1, offer_id)
    with store.session() as s, pytest.raises(NotFound):
        offers.accept(s, 2, offer_id)  # not household 2's offer


def test_decline_suppresses_the_product_and_offers_expire(store):
    first = _refresh(store, [2])[2]
    offer_id, product_id = first[0][0], first[0][1]
    with store.session() as s:
        offers.decline(s, 2, offer_id)
    again = _refresh(store, [2])[2]
    assert product_id not in {pid for _, pid, *_ in again}
    later = utcnow() + timedelta(days=8)
    with store.session() as s:
        assert offers.expire(s, later) >= 1
        assert [o for o in offers.current_offers(s, 2, later) if o.household_id] == []


def test_visitors_get_generic_bestseller_deals(store):
    with store.session() as s:
        deals = offers.refresh_generic(s)
        assert len(deals) == offers.GENERIC_DEALS
        assert all(o.household_id is None and o.kind == "bestseller" for o in deals)
        assert offers.current_offers(s, None) == deals


def test_offers_api(store):
    from shop.api import create_app

    _refresh(store, [1])
    with store.session() as s:
        auth = {"Authorization": f"Bearer {issue_token(s, 1, label='t')}"}
    client = create_app(store=store).test_client()
    body = client.get("/api/households/1/offers", headers=auth).get_json()
    personal = [o for o in body["offers"] if o["personal"]]
    assert (
        personal and personal[0]["reason"] and personal[0]["price"] < personal[0]["regular_price"]
    )
    res = client.post(f"/api/households/1/offers/{personal[0]['id']}/accept", headers=auth)
    assert res.status_code == 201 and res.get_json()["unit_price"] == personal[0]["price"]
    again = client.post(f"/api/households/1/offers/{personal[0]['id']}/accept", headers=auth)
    assert again.status_code == 400
    assert client.get("/api/households/2/offers", headers=auth).status_code == 403
    generic = client.get("/api/offers").get_json()["offers"]
    assert generic and not any(o["personal"] for o in generic)


@pytest.fixture
def chat(store, tmp_path):
    with store.session() as s:
        CatalogSnapshot.from_session(s).to_json(tmp_path / "catalog.json")
    matcher = CatalogMatcher({"catalog_path": str(tmp_path / "catalog.json")})
    return Chat(ShopContext(store), matcher, "1")


def test_bot_offers_one_after_an_add_and_yes_takes_it(store, chat):
    _refresh(store, [1])
    reply = chat.say(ActionAddToCart, "add toothpaste")
    assert "% off for you this week" in reply and reply.endswith("Add it?")
    pending = chat.slots["pending"]
    assert pending["type"] == "offer"
    assert "% off" in chat.say(ActionAffirm, "yes")
    with store.session() as s:
        line = next(x for x in carts.get_cart(s, 1).lines if x.offer_id == pending["offer_id"])
        assert line.unit_price_cents == s.get(Offer, pending["offer_id"]).price_cents
    # the next add does not repeat the same offer
    follow = chat.say(ActionAddToCart, "add paper towels")
    assert str(pending["offer_id"]) not in str(chat.slots["pending"] or {})
    assert "Added" in follow


def test_bot_no_declines_the_offer(store, chat):
    _refresh(store, [1])
    chat.say(ActionAddToCart, "add toothpaste")
    offer_id = chat.slots["pending"]["offer_id"]
    assert "won't offer it again" in chat.say(ActionDeny, "no thanks")
    with store.session() as s:
        assert s.get(Offer, offer_id).status == "declined"


def test_any_deals_runs_the_engine_for_the_household(store, chat):
    reply = chat.say(ActionDeals, "any deals for me")
    assert reply.startswith("Deals for you:") and "%" in reply
    assert chat.slots["pending"]["type"] == "offer"
    with store.session() as s:
        product = s.get(Offer, chat.slots["pending"]["offer_id"]).product
        assert isinstance(product, Product)
    assert "Added" in chat.say(ActionAffirm, "yes")
