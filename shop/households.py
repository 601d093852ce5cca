"""Households, their members and the API tokens that act for them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from shop.errors import InvalidInput, NotFound, Unauthorized
from shop.models import ApiToken, Household, utcnow


def get_household(session: Session, household_id: int) -> Household:
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound(f"no household with id {household_id}")
    return household


def lock_households(session: Session, household_ids: Iterable[int]) -> None:
    """Hold several households at once (``lock_household`` for each), always in id order: two
    holders of overlapping sets then queue instead of each waiting for the other (the scanner
    bridge's batches, which change several households' carts in one transaction). Households
    this transaction already holds are not locked again (a checkout calls this twice)."""
    held = _held(session)
    ids = sorted(set(household_ids) - held)
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE households SET id = id WHERE 0"))  # the database's lock
    else:
        session.execute(
            select(Household.id)
            .where(Household.id.in_(ids))
            .order_by(Household.id)
            .with_for_update()
        ).all()
    held.update(ids)


def lock_household(session: Session, household_id: int) -> Household:
    """The household, held until the unit of work ends: changes to its cart, orders and
    preferences that read before they write (add to a line, check out, create a preference)
    take this first, so two at once run one after the other instead of both reading the same
    state (a double-clicked checkout placing two orders, concurrent adds losing units).

    PostgreSQL: a row lock on the household (``FOR UPDATE``), which always exists, unlike the
    cart or preference row about to be created. SQLite has no row locks, and pysqlite reads
    outside any transaction until the first write: a write that changes nothing takes the
    database's write lock first, so what is read after it is the latest, and stays so."""
    lock_households(session, [household_id])
    household = session.get(Household, household_id, populate_existing=True)
    if household is None:
        raise NotFound(f"no household with id {household_id}")
    return household


def _held(session: Session) -> set[int]:
    """The households locked in the session's current transaction (forgotten with it)."""
    session.connection()  # begins the transaction if nothing has yet
    transaction = session.get_transaction()
    mark = session.info.get("dash.held_households")
    if mark is None or mark[0] is not transaction:
        mark = session.info["dash.held_households"] = (transaction, set())
    return mark[1]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, household_id: int | None, role: str = "household", label: str = ""
) -> str:
    """Create a bearer token and return it; only its hash is stored, so it is shown once."""
    if household_id is not None:
        get_household(session, household_id)
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(token_hash=_hash(token), household_id=household_id, role=role, label=label)
    )
    session.flush()
    return token


def authenticate(session: Session, token: str) -> ApiToken:
    """Return the live token record for a bearer token or raise Unauthorized."""
    record = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _hash(token))
    ).scalar_one_or_none()
    if record is None or record.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    return record


def revoke_token(session: Session, token: str) -> None:
    record = authenticate(session, token)
    record.revoked_at = utcnow()


def spending_limit_cents(household: Household, default_cents: int) -> int:
    return household.spending_limit_cents or default_cents


#: Largest spending limit a household can set on the web page (cents).
MAX_SPENDING_LIMIT_CENTS = 1_000_000


def set_spending_limit(household: Household, cents: int | None) -> None:
    """``None`` falls back to the store's default limit."""
    if cents is not None and not 0 < cents <= MAX_SPENDING_LIMIT_CENTS:
        raise InvalidInput(
            f"the spending limit must be between $0.01 and ${MAX_SPENDING_LIMIT_CENTS // 100:,}"
        )
    household.spending_limit_cents = cents


def set_voice_pin(household: Household, pin: str | None) -> None:
    """A 4 to 8 digit PIN that voice checkout asks for; ``None`` removes it. Only a salted
    hash is kept."""
    if pin is None:
        household.voice_pin_hash = None
        return
    if not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 8:
        raise InvalidInput("the voice PIN must be 4 to 8 digits")
    household.voice_pin_hash = generate_password_hash(pin)


def check_voice_pin(household: Household, pin: str) -> bool:
    return bool(household.voice_pin_hash) and check_password_hash(household.voice_pin_hash, pin)
