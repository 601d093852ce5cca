"""Running custom actions turn by turn against a real (temporary SQLite) store, with the
tracker built from the text as the NLU pipeline would build it (the CatalogMatcher runs on
it). Shared by the action tests; the fixtures are registered in conftest.py."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions.context import ShopContext
from bot.components.catalog_matcher import CatalogMatcher
from shop import carts
from shop.catalog_snapshot import CatalogSnapshot
from shop.models import Product


class Chat:
    """One conversation: runs actions turn by turn and carries the slots between turns."""

    def __init__(self, ctx: ShopContext, matcher: CatalogMatcher, sender: str, **metadata):
        self.ctx, self.matcher, self.sender, self.metadata = ctx, matcher, sender, metadata
        self.slots: dict = {"pending": None, "last_line": None}

    def __call__(self, action_cls, text: str, entities: list[dict] | None = None) -> list[dict]:
        message = Message(data={"text": text})
        self.matcher.process([message])
        latest = {
            "text": text,
            "entities": message.get("entities", []) + (entities or []),
            "metadata": self.metadata,
            "intent": {},
        }
        events = [
            {"event": "user", "text": text, "input_channel": "rest", "metadata": self.metadata}
        ]
        tracker = Tracker(self.sender, dict(self.slots), latest, events, False, None, {}, None)
        dispatcher = CollectingDispatcher()
        for e in action_cls(self.ctx).run(dispatcher, tracker, {}):
            if e.get("event") == "slot":
                self.slots[e["name"]] = e["value"]
        self.last = dispatcher.messages
        return dispatcher.messages

    def say(self, action_cls, text: str, entities: list[dict] | None = None) -> str:
        return " | ".join(m.get("text") or "" for m in self(action_cls, text, entities))


@pytest.fixture
def ctx(sqlite_demo_store):
    return ShopContext(sqlite_demo_store)


@pytest.fixture
def matcher(sqlite_demo_store, tmp_path):
    with sqlite_demo_store.session() as s:
        CatalogSnapshot.from_session(s).to_json(tmp_path / "catalog.json")
    return CatalogMatcher({"catalog_path": str(tmp_path / "catalog.json")})


@pytest.fixture
def chat(ctx, matcher):
    return Chat(ctx, matcher, "1")


def cart_of(ctx, household=1):
    with ctx.store.session() as s:
        return [
            (x.product.category_id, x.product.brand, x.quantity, x.source)
            for x in carts.get_cart(s, household).lines
        ]


def usual(ctx, household, category):
    """The household's most bought product in a category (the generator's favourite)."""
    from sqlalchemy import func

    from shop.models import Purchase

    with ctx.store.session() as s:
        return s.execute(
            select(Product)
            .join(Purchase, Purchase.product_id == Product.id)
            .where(Purchase.household_id == household, Product.category_id == category)
            .group_by(Product.id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one_or_none()
