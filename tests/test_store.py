"""Store behaviour on both backends (SQLite and PostgreSQL)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from shop import carts, orders
from shop.errors import Conflict, InvalidInput, LimitExceeded, NotFound, Unauthorized
from shop.households import authenticate, issue_token, revoke_token
from shop.models import Base, Household, Order, Product, Purchase


def _product(s, category: str, index: int = 0) -> Product:
    return (
        s.execute(select(Product).where(Product.category_id == category).order_by(Product.id))
        .scalars()
        .all()[index]
    )


def test_migrations_match_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_uses_wal(store):
    if not store.settings.is_sqlite:
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_add_merges_same_product_and_keeps_channel(demo_store):
    with demo_store.session() as s:
        ketchup = _product(s, "ketchup")
        first = carts.add_item(s, 1, ketchup.id, 1, source="scanner", added_by="kitchen")
        second = carts.add_item(s, 1, ketchup.id, 2, source="chat")
        assert not first.merged and second.merged
        assert second.line.id == first.line.id and second.line.quantity == 3
        assert second.line.source == "scanner" and second.line.added_by == "kitchen"
    with demo_store.session() as s:
        cart = carts.get_cart(s, 1)
        assert [(line.product.category_id, line.quantity) for line in cart.lines] == [
            ("ketchup", 3)
        ]
        assert carts.cart_total_cents(cart) == 3 * ketchup.price_cents


@pytest.mark.parametrize("qty", [0, -1, 51, 1.5, "2", True, None])
def test_add_rejects_bad_quantities(demo_store, qty):
    with demo_store.session() as s:
        with pytest.raises(InvalidInput):
            carts.add_item(s, 1, _product(s, "milk").id, qty)


def test_add_rejects_unknown_product_and_household(demo_store):
    with demo_store.session() as s:
        with pytest.raises(NotFound):
            carts.add_item(s, 1, 999_999, 1)
        with pytest.raises(NotFound):
            carts.add_item(s, 424_242, _product(s, "milk").id, 1)


def test_set_quantity_and_remove(demo_store):
    with demo_store.session() as s:
        line = carts.add_item(s, 2, _product(s, "eggs").id, 1).line
        assert carts.set_quantity(s, 2, line.id, 4).quantity == 4
        assert carts.set_quantity(s, 2, line.id, 0) is None
        line = carts.add_item(s, 2, _product(s, "bread").id, 1).line
        carts.remove_line(s, 2, line.id)
        assert carts.get_cart(s, 2).lines == []
        with pytest.raises(NotFound):
            carts.remove_line(s, 2, line.id)


def test_line_of_another_household_is_not_found(demo_store):
    with demo_store.session() as s:
        line = carts.add_item(s, 1, _product(s, "tea").id, 1).line
    with demo_store.session() as s:
        with pytest.raises(NotFound):
            carts.remove_line(s, 2, line.id)
    with demo_store.session() as s:
        assert len(carts.get_cart(s, 1).lines) == 1


def test_checkout_places_order_and_records_history(demo_store):
    with demo_store.session() as s:
        before = s.execute(select(func.count(Purchase.id))).scalar_one()
        coffee = _product(s, "coffee")
        carts.add_item(s, 3, coffee.id, 2, source="voice")
        carts.add_item(s, 3, _product(s, "sugar").id, 1)
    with demo_store.session() as s:
        order = orders.checkout(s, 3, channel="voice", default_limit_cents=30_000)
        assert order.status == "placed" and len(order.lines) == 2
        assert order.total_cents == sum(x.quantity * x.unit_price_cents for x in order.lines)
    with demo_store.session() as s:
        assert carts.get_cart(s, 3).lines == []
        after = s.execute(select(func.count(Purchase.id))).scalar_one()
        assert after == before + 2
        assert [o.id for o in orders.list_orders(s, 3)] == [order.id]


def test_checkout_refuses_empty_cart_and_over_limit_without_changes(demo_store):
    with demo_store.session() as s:
        with pytest.raises(Conflict):
            orders.checkout(s, 4, default_limit_cents=30_000)
        s.get(Household, 4).spending_limit_cents = 2_000
        carts.add_item(s, 4, _product(s, "dog-food").id, 1)  # 49.99
    with pytest.raises(LimitExceeded) as err:
        with demo_store.session() as s:
            orders.checkout(s, 4, default_limit_cents=30_000)
    assert err.value.details["limit_cents"] == 2_000
    with demo_store.session() as s:
        assert len(carts.get_cart(s, 4).lines) == 1
        assert s.execute(select(func.count(Order.id))).scalar_one() == 0


def test_cancel_removes_purchases_once(demo_store):
    with demo_store.session() as s:
        carts.add_item(s, 5, _product(s, "rice").id, 1)
        order = orders.checkout(s, 5, default_limit_cents=30_000)
    with demo_store.session() as s:
        assert orders.cancel_order(s, 5, order.id).status == "cancelled"
        assert (
            s.execute(
                select(func.count(Purchase.id)).where(Purchase.order_id == order.id)
            ).scalar_one()
            == 0
        )
    with demo_store.session() as s:
        with pytest.raises(Conflict):
            orders.cancel_order(s, 5, order.id)
        with pytest.raises(NotFound):
            orders.cancel_order(s, 6, order.id)


def test_tokens_are_hashed_and_revocable(demo_store):
    with demo_store.session() as s:
        tok = issue_token(s, 1)
        assert authenticate(s, tok).household_id == 1
        assert tok not in {
            row for row in s.execute(text("SELECT token_hash FROM api_tokens")).scalars()
        }
        revoke_token(s, tok)
    with demo_store.session() as s:
        with pytest.raises(Unauthorized):
            authenticate(s, tok)
        with pytest.raises(NotFound):
            issue_token(s, 999_999)


def test_new_households_get_fresh_ids_after_seeding(demo_store):
    with demo_store.session() as s:
        h = Household(name="new")
        s.add(h)
        s.flush()
        assert h.id > 12


def test_failed_unit_of_work_rolls_back(demo_store):
    with pytest.raises(RuntimeError):
        with demo_store.session() as s:
            carts.add_item(s, 7, _product(s, "butter").id, 1)
            raise RuntimeError("boom")
    with demo_store.session() as s:
        assert carts.get_cart(s, 7).lines == []
