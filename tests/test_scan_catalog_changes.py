"""The scanner path keeps products in a cache (the hot path of every scan); catalog changes
still reach scans: a new price or a withdrawn product within ``PRODUCT_TTL_S``, a product
added for an unknown barcode at once. No broker needed: the handler is called directly."""

from __future__ import annotations

from sqlalchemy import select, update

from mqtt_bridge.fastpath import PRODUCT_TTL_S
from mqtt_bridge.handler import EventHandler, HandlerOptions
from mqtt_bridge.protocol import DeviceEvent
from shop.catalog import add_product
from shop.devices import add_device
from shop.gtin import make_restricted
from shop.models import Cart, CartLine, Product
from tests.mqtt_world import KETCHUP


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _handler(store) -> tuple[EventHandler, Clock, str]:
    with store.session() as s:
        device = add_device(s, 1, "kitchen")
    handler = EventHandler(store, HandlerOptions(max_events_per_minute=1000))
    clock = Clock()
    handler.fast.clock = clock
    return handler, clock, device.id


def _scan(handler: EventHandler, device: str, n: int, code: str = KETCHUP):
    return handler.handle(DeviceEvent(device, "scan", f"e{n}", barcode=code))


def _line_prices(store) -> list[int]:
    with store.session() as s:
        return list(
            s.execute(
                select(CartLine.unit_price_cents)
                .join(Cart)
                .join(Product, Product.id == CartLine.product_id)
                .where(Cart.household_id == 1, Product.gtin == KETCHUP)
            ).scalars()
        )


def test_a_new_price_and_a_withdrawal_reach_scans(sqlite_demo_store):
    store = sqlite_demo_store
    handler, clock, device = _handler(store)
    assert _scan(handler, device, 1).status == "added"
    with store.session() as s:
        s.execute(
            CartLine.__table__.delete().where(
                CartLine.product_id.in_(select(Product.id).where(Product.gtin == KETCHUP))
            )
        )
        s.execute(update(Product).where(Product.gtin == KETCHUP).values(price_cents=999))
    clock.now += PRODUCT_TTL_S + 1
    ack = _scan(handler, device, 2)
    assert ack.status == "added" and ack.price == 9.99
    assert _line_prices(store) == [999]
    with store.session() as s:
        s.execute(update(Product).where(Product.gtin == KETCHUP).values(active=False))
    assert _scan(handler, device, 3).status == "added"  # within the cache's time: still known
    clock.now += PRODUCT_TTL_S + 1
    ack = _scan(handler, device, 4)
    assert ack.status == "error" and "unknown barcode" in ack.error


def test_a_product_added_for_an_unknown_barcode_is_found_on_the_next_scan(sqlite_demo_store):
    store = sqlite_demo_store
    handler, _, device = _handler(store)
    code = make_restricted("29", 4_242_424)
    assert _scan(handler, device, 1, code).status == "error"
    with store.session() as s:
        add_product(s, code, name="Oat Drink", brand="Oatly", category_id="milk", price_cents=329)
    ack = _scan(handler, device, 2, code)
    assert ack.status == "added" and ack.product and "Oat Drink" in ack.product
