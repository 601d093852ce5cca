"""The landing page and the chat page. The page talks to Rasa's socket.io channel directly;
a logged-in household's page carries a signed ticket (shop.chat_tickets) so the actions know
who is typing, and its cart panel follows the live cart feed."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template

from shop import offers, serialize
from shop.chat_tickets import chat_session_id, issue_ticket
from shop.web.access import home_for, store, viewer
from shop.web.household import cart_json

bp = Blueprint("chat", __name__)


@bp.get("/")
def index():
    who = viewer()
    if who is not None:
        return redirect(home_for(who))
    with store().session() as s:
        deals = offers.current_offers(s, None) or offers.refresh_generic(s)
        return render_template("index.html", deals=[serialize.offer(o) for o in deals[:8]])


@bp.get("/chat")
def chat():
    """Anyone may chat; only a logged-in household can order (the ticket says who it is)."""
    who = viewer()
    secret = current_app.extensions["dash.secret"]
    household_id = who.household_id if who is not None and not who.operator else None
    return render_template(
        "chat.html",
        rasa_url=current_app.extensions["dash.settings"].rasa_public_url,
        household_id=household_id,
        session_id=chat_session_id(secret, household_id) if household_id else "",
        ticket=issue_ticket(secret, household_id) if household_id else "",
        cart=cart_json(household_id) if household_id else None,
    )
