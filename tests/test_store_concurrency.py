"""Changes that read before they write, made at the same moment from several workers (the API's
threads, the action server, a second click), on both backends: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from shop import carts, orders, preferences
from shop.errors import Conflict
from shop.models import Order, Preference, Product


def _at_once(work: Callable[[int], object], workers: int) -> tuple[list, list[Exception]]:
    """Run ``work(i)`` in ``workers`` threads released together; their results and errors."""
    start = threading.Barrier(workers)
    results: list = []
    errors: list[Exception] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results.append(work(i))
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def _product_id(store, category: str) -> int:
    with store.session() as s:
        return (
            s.execute(
                select(Product.id).where(Product.category_id == category).order_by(Product.id)
            )
            .scalars()
            .first()
        )


def test_concurrent_adds_lose_no_units(demo_store):
    """Eight workers adding one unit five times each, the first of them creating the line."""
    product = _product_id(demo_store, "ketchup")

    def add(_: int) -> None:
        for _ in range(5):
            with demo_store.session() as s:
                carts.add_item(s, 2, product, 1, source="api")

    _, errors = _at_once(add, 8)
    assert errors == []
    with demo_store.session() as s:
        lines = [x for x in carts.get_cart(s, 2).lines if x.product_id == product]
        assert [x.quantity for x in lines] == [40]


def test_a_double_submitted_checkout_places_one_order(demo_store):
    with demo_store.session() as s:
        carts.add_item(s, 4, _product_id(demo_store, "coffee"), 2)
        before = s.execute(select(func.count(Order.id)).where(Order.household_id == 4))
        before = before.scalar_one()

    def checkout(_: int) -> int:
        with demo_store.session() as s:
            return orders.checkout(s, 4, default_limit_cents=30_000).id

    placed, errors = _at_once(checkout, 4)
    assert len(placed) == 1
    assert len(errors) == 3 and all(isinstance(e, Conflict) for e in errors), errors
    with demo_store.session() as s:
        after = s.execute(select(func.count(Order.id)).where(Order.household_id == 4))
        assert after.scalar_one() == before + 1


def test_a_preference_submitted_twice_at_once_is_one_row(demo_store):
    """Without a member, the unique key cannot stop a second row (NULLs differ): the
    household lock has to, or every later change of that preference fails."""
    for category in ("ketchup", "coffee", "sugar"):
        with demo_store.session() as s:
            brand = s.execute(
                select(Product.brand).where(Product.category_id == category).limit(1)
            ).scalar_one()

        def choose(_: int, category=category, brand=brand) -> None:
            with demo_store.session() as s:
                preferences.set_preference(s, 5, category, brand=brand)

        _, errors = _at_once(choose, 6)
        assert errors == []
        with demo_store.session() as s:
            rows = s.execute(
                select(func.count(Preference.id)).where(
                    Preference.household_id == 5, Preference.category_id == category
                )
            ).scalar_one()
            assert rows == 1
            preferences.set_preference(s, 5, category, brand=brand)  # still changeable


def test_a_personal_offer_accepted_twice_at_once_is_used_once(demo_store):
    from datetime import timedelta

    from shop import offers
    from shop.errors import InvalidInput
    from shop.models import Offer, utcnow

    product = _product_id(demo_store, "sugar")
    with demo_store.session() as s:
        offer = Offer(
            household_id=6,
            product_id=product,
            discount_pct=20,
            price_cents=100,
            expires_at=utcnow() + timedelta(days=3),
        )
        s.add(offer)
        s.flush()
        offer_id = offer.id

    def accept(_: int) -> None:
        with demo_store.session() as s:
            offers.accept(s, 6, offer_id)

    _, errors = _at_once(accept, 4)
    assert len(errors) == 3 and all(isinstance(e, InvalidInput) for e in errors), errors
    with demo_store.session() as s:
        lines = [x for x in carts.get_cart(s, 6).lines if x.product_id == product]
        assert [(x.quantity, x.unit_price_cents) for x in lines] == [(1, 100)]


def test_bridge_workers_with_mixed_batches_do_not_deadlock(demo_store):
    """Two workers, each a batch of a scan for one household and a button press for the other,
    in opposite orders: the button's add holds its household, the scan locks a cart line, and
    on PostgreSQL the two deadlocked (the database broke it after a second and the bridge
    retried). Each batch now holds its households up front, in id order."""
    from mqtt_bridge.handler import EventHandler, HandlerOptions
    from mqtt_bridge.protocol import DeviceEvent
    from shop.devices import add_device
    from shop.models import Device

    with demo_store.session() as s:
        products = s.execute(
            select(Product.id, Product.gtin).where(Product.gtin.isnot(None)).limit(2)
        ).all()
        scanners, buttons = {}, {}
        for household in (7, 8):
            scanners[household] = add_device(s, household, "kitchen").id
            buttons[household] = add_device(s, household, "button").id
            for pid, _ in products:  # the carts and their lines exist already
                carts.add_item(s, household, pid, 1)
        s.flush()
        for household in (7, 8):
            s.get(Device, buttons[household]).button_product_id = products[1][0]
    after_scan = threading.Barrier(2)

    def batch(i: int) -> list[str]:
        scan_for, press_for = (7, 8) if i == 0 else (8, 7)
        handler = EventHandler(demo_store, HandlerOptions(max_events_per_minute=1000))
        scan = handler.fast.scan

        def scan_then_wait(conn, event, seen):  # noqa: ANN001, ANN202
            ack = scan(conn, event, seen)
            try:  # both workers hold their scan's locks before either presses the button
                after_scan.wait(timeout=1)
            except threading.BrokenBarrierError:  # the other one is waiting for our lock
                pass
            return ack

        handler.fast.scan = scan_then_wait
        acks = handler.handle_batch(
            [
                DeviceEvent(scanners[scan_for], "scan", f"s{i}", barcode=products[0][1]),
                DeviceEvent(buttons[press_for], "button", f"b{i}"),
            ]
        )
        return [a.status for a in acks]

    results, errors = _at_once(batch, 2)
    assert errors == []
    assert results == [["added", "added"], ["added", "added"]]
