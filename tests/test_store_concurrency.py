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
