"""Who is typing in the web chat: a ticket the web app signs and the action server checks.

Rasa's socket.io channel lets a browser pick its own session id and send any metadata, so
neither can say which household is talking. The web app, which knows the logged-in household,
hands the page a signed ticket naming the household and its chat session; the page sends it as
message metadata and the actions trust the household only when the signature holds and the
session matches (a ticket copied into another session is worth nothing).
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "dash-chat-ticket"
#: A ticket outlives a day of chatting; the page fetches a fresh one on every load.
MAX_AGE_S = 24 * 3600


def chat_session_id(secret: str, household_id: int) -> str:
    """A stable, unguessable socket.io session for a household: the chat history survives a
    reload, and nobody can join another household's session room without the secret."""
    digest = hmac.new(secret.encode(), f"chat:{household_id}".encode(), hashlib.sha256)
    return f"web-{household_id}-{digest.hexdigest()[:24]}"


def issue_ticket(secret: str, household_id: int) -> str:
    serializer = URLSafeTimedSerializer(secret, salt=SALT)
    return serializer.dumps({"h": household_id, "s": chat_session_id(secret, household_id)})


def verify_ticket(secret: str, ticket: object, sender_id: str) -> int | None:
    """The household a ticket names, or None (no secret, bad signature, expired, or issued for
    another chat session)."""
    if not secret or not isinstance(ticket, str) or not ticket:
        return None
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(ticket, max_age=MAX_AGE_S)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or data.get("s") != sender_id:
        return None
    household = data.get("h")
    return household if isinstance(household, int) else None
