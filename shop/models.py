"""The store's schema: one set of tables that chat, voice, scanners and the web all share.

Money is kept in integer cents and times in naive UTC, so SQLite and PostgreSQL agree exactly.
Changes to this file need an Alembic revision (``make migration m="..."``); a test checks that
the migrations and these models describe the same schema.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING))


def utcnow() -> datetime:
    """Naive UTC 'now': what every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Category(Base):
    """What people ask for ("ketchup"), with the words they use and its usual purchase cycle."""

    __tablename__ = "categories"

    id = Column(String(64), primary_key=True)  # slug, e.g. "paper-towels"
    name = Column(String(120), nullable=False)
    department = Column(String(80), nullable=False, default="grocery")
    spoken_names = Column(JSON, nullable=False, default=list)
    repurchase_days = Column(Integer)
    source = Column(String(16), nullable=False, default="demo")

    products = relationship("Product", back_populates="category")


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    gtin = Column(String(14), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    brand = Column(String(120), nullable=False)
    category_id = Column(ForeignKey("categories.id"), nullable=False, index=True)
    size = Column(String(40), nullable=False, default="")
    size_value = Column(Float)
    size_unit = Column(String(12))
    price_cents = Column(Integer, nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    private_label = Column(Boolean, nullable=False, default=False)
    manufacturer = Column(String(120))
    active = Column(Boolean, nullable=False, default=True)
    external_id = Column(String(40), unique=True)
    source = Column(String(16), nullable=False, default="demo")

    category = relationship("Category", back_populates="products")


class Household(Base):
    __tablename__ = "households"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    external_id = Column(String(40), unique=True)
    segment = Column(String(40))
    household_size = Column(Integer)
    kids = Column(Integer)
    income_band = Column(String(20))
    age_band = Column(String(20))
    homeowner = Column(String(20))
    marital_status = Column(String(20))
    area = Column(String(40))
    spending_limit_cents = Column(Integer)
    voice_pin_hash = Column(String(128))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    members = relationship("Member", back_populates="household", order_by="Member.id")


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("household_id", "name"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(80), nullable=False)
    role = Column(String(16), nullable=False, default="adult")  # adult | child
    created_at = Column(DateTime, nullable=False, default=utcnow)

    household = relationship("Household", back_populates="members")


class ApiToken(Base):
    """Bearer tokens; only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    role = Column(String(16), nullable=False, default="household")  # household | operator
    label = Column(String(80))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime)


class ChannelLink(Base):
    """An outside identity that speaks for a household: a Telegram chat, a Home Assistant
    satellite. Messages from a linked identity act for its household (`dash link`)."""

    __tablename__ = "channel_links"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)  # telegram | assist
    external_id = Column(String(128), nullable=False)
    household_id = Column(
        ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True
    )
    member = Column(String(80))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Cart(Base):
    __tablename__ = "carts"

    id = Column(Integer, primary_key=True)
    household_id = Column(
        ForeignKey("households.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    updated_at = Column(DateTime, nullable=False, default=utcnow)

    lines = relationship(
        "CartLine", back_populates="cart", order_by="CartLine.id", cascade="all, delete-orphan"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("cart_id", "product_id"),)

    id = Column(Integer, primary_key=True)
    cart_id = Column(ForeignKey("carts.id", ondelete="CASCADE"), nullable=False)
    product_id = Column(ForeignKey("products.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_cents = Column(Integer, nullable=False)
    offer_id = Column(ForeignKey("offers.id"))
    source = Column(String(16), nullable=False, default="api")  # chat|voice|scanner|web|api
    added_by = Column(String(80))  # member name or device id
    added_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)

    cart = relationship("Cart", back_populates="lines")
    product = relationship("Product")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_household_placed", "household_id", "placed_at"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(16), nullable=False, default="placed")  # placed|delivered|cancelled
    channel = Column(String(16), nullable=False, default="api")
    total_cents = Column(Integer, nullable=False)
    placed_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime)
    cancelled_at = Column(DateTime)

    lines = relationship(
        "OrderLine", back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(ForeignKey("products.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_cents = Column(Integer, nullable=False)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product")


class Purchase(Base):
    """Purchase history: imported transactions, generated demo history and delivered orders."""

    __tablename__ = "purchases"
    __table_args__ = (
        Index("ix_purchases_household_time", "household_id", "purchased_at"),
        Index("ix_purchases_product", "product_id"),
    )

    id = Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    product_id = Column(ForeignKey("products.id"), nullable=False)
    quantity = Column(Integer, nullable=False, default=1)
    price_paid_cents = Column(Integer, nullable=False)
    discount_cents = Column(Integer, nullable=False, default=0)
    purchased_at = Column(DateTime, nullable=False)
    basket_id = Column(String(40))
    store_id = Column(String(20))
    order_id = Column(ForeignKey("orders.id"))
    source = Column(String(16), nullable=False, default="order")  # order|demo|import|scan


class Preference(Base):
    """An explicit brand or product choice: "from now on get Hunt's ketchup"."""

    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("household_id", "member_id", "category_id"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    member_id = Column(ForeignKey("members.id", ondelete="CASCADE"))
    category_id = Column(ForeignKey("categories.id"), nullable=False)
    brand = Column(String(120))
    product_id = Column(ForeignKey("products.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Device(Base):
    __tablename__ = "devices"

    id = Column(String(40), primary_key=True)
    household_id = Column(
        ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name = Column(String(80), nullable=False)
    secret_hash = Column(String(128), nullable=False)
    mode = Column(String(16), nullable=False, default="cart")  # cart | list | price
    button_product_id = Column(ForeignKey("products.id"))
    online = Column(Boolean, nullable=False, default=False)
    last_seen_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_household_status", "household_id", "status"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"))  # NULL: everyone
    product_id = Column(ForeignKey("products.id"), nullable=False)
    discount_pct = Column(Integer, nullable=False)
    price_cents = Column(Integer, nullable=False)
    reason = Column(String(200), nullable=False, default="")
    status = Column(String(16), nullable=False, default="open")  # open|accepted|declined|expired
    #: winback | discovery | due | bestseller (generic) | manual
    kind = Column(String(16), nullable=False, default="manual")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    starts_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    #: When the assistant last put it to the household (so it is not repeated every turn).
    offered_at = Column(DateTime)
    responded_at = Column(DateTime)

    product = relationship("Product")


class Reminder(Base):
    """What the household said about reminders for one category, and when one was last sent:
    the scheduler never repeats a reminder within the configured interval."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("household_id", "category_id"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    category_id = Column(ForeignKey("categories.id"), nullable=False)
    stopped = Column(Boolean, nullable=False, default=False)
    snoozed_until = Column(DateTime)
    last_sent_at = Column(DateTime)
    last_answer = Column(String(16))  # yes | not_now | later | stop
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class ScanEvent(Base):
    """Every event a device sent, accepted or not; (device, event id) makes it idempotent."""

    __tablename__ = "scan_events"
    __table_args__ = (
        UniqueConstraint("device_id", "event_id"),
        Index("ix_scan_events_device_time", "device_id", "received_at"),
    )

    id = Column(Integer, primary_key=True)
    device_id = Column(String(40), nullable=False)
    event_id = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False)  # scan | button | voice
    barcode = Column(String(32))
    text = Column(Text)
    quantity = Column(Integer)
    status = Column(String(16), nullable=False)  # added | duplicate | error | listed | priced
    error = Column(String(200))
    product_id = Column(ForeignKey("products.id"))
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"))
    received_at = Column(DateTime, nullable=False, default=utcnow)


class OutboxMessage(Base):
    """A notification for the assistant, written in the same transaction as the change it
    reports and sent later (retried until Rasa takes it), so a Rasa outage loses nothing."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id = Column(Integer, primary_key=True)
    household_id = Column(ForeignKey("households.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(32), nullable=False)  # scan_added
    payload = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    attempts = Column(Integer, nullable=False, default=0)
    sent_at = Column(DateTime)
    last_error = Column(String(300))
