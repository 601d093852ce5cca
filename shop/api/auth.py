"""Bearer-token authentication: a household token acts only for its own household."""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from shop.errors import Forbidden, Unauthorized
from shop.households import authenticate
from shop.models import ApiToken


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_household(session: Session, household_id: int) -> ApiToken:
    """The request's token must belong to ``household_id`` (operators may act for anyone)."""
    token = bearer_token()
    if token is None:
        raise Unauthorized(
            "send 'Authorization: Bearer <token>'; `dash token HOUSEHOLD` prints one"
        )
    record = authenticate(session, token)
    if record.role != "operator" and record.household_id != household_id:
        raise Forbidden("this token may not act for that household")
    return record


def require_operator(session: Session) -> ApiToken:
    """Store-wide data (forecasts, the fleet) needs an operator token."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("send 'Authorization: Bearer <operator token>'")
    record = authenticate(session, token)
    if record.role != "operator":
        raise Forbidden("this needs an operator token (`dash token --operator`)")
    return record
