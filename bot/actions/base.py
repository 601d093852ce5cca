"""The shared shape of every shop action: open a unit of work, identify the speaker, handle the
turn, and turn store errors into something the user can act on. Abstract, so rasa_sdk's
executor does not register it as an action itself."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from bot.actions.context import ShopContext, Who, identify
from shop.errors import DomainError, StoreUnavailable
from shop.mentions import Match

log = logging.getLogger(__name__)

LINK_FIRST = (
    "To order I need to know your household. Log in on the web chat to link your account (in "
    "the demo's REST channel, chat with your household number as the sender)."
)


def link_first(channel: str, sender_id: str) -> str:
    """How to link an account, said the way each channel links one."""
    if channel == "telegram":
        return (
            "To order I need to know your household. Ask your store to link this chat: "
            f"its chat id is {sender_id}."
        )
    if channel == "alexa":
        return "To order, link your Dash account in the Alexa app first."
    return LINK_FIRST


@dataclass
class Turn:
    ctx: ShopContext
    session: Session
    who: Who
    tracker: Tracker
    dispatcher: CollectingDispatcher
    events: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: str, voice: str | None = None, buttons: list[dict] | None = None) -> None:
        if self.who.voice:
            self.dispatcher.utter_message(text=voice or text)
        else:
            self.dispatcher.utter_message(text=text, buttons=buttons or [])

    @property
    def text(self) -> str:
        return self.tracker.latest_message.get("text") or ""

    def entities(self, name: str) -> list[dict]:
        return [e for e in self.tracker.latest_message.get("entities", []) if e["entity"] == name]

    def matches(self) -> list[Match]:
        """Product mentions as the catalog matcher read them (see CatalogMatcher)."""
        out = []
        for e in self.entities("product"):
            out.append(
                Match(
                    e.get("category_id"),
                    float(e.get("score") or 0.0),
                    str(e.get("value", "")),
                    brand=e.get("brand"),
                    product_id=e.get("product_id"),
                    candidates=tuple((c[0], c[1]) for c in e.get("candidates") or []),
                    size=e.get("size"),
                )
            )
        return out

    def quantity(self) -> int | None:
        for e in self.entities("quantity"):
            try:
                return int(e["value"])
            except (TypeError, ValueError):
                continue
        return None

    @property
    def pending(self) -> dict | None:
        value = self.tracker.get_slot("pending")
        return value if isinstance(value, dict) else None

    def set_pending(self, value: dict | None) -> None:
        self.events.append(SlotSet("pending", value))

    def set_last_line(self, line_id: int | None) -> None:
        self.events.append(SlotSet("last_line", line_id))


def answer_pending(turn: Turn) -> bool:
    """While the assistant waits for a voice PIN or for what an unknown scan was, the next
    utterance answers that, whatever intent it was taken for ("four three two one", "paper
    towels"). False: nothing such is pending, or the turn moved on; handle it as usual."""
    kind = (turn.pending or {}).get("type")
    if kind == "voice_pin":
        from bot.actions.voice_pin import handle_pin

        handle_pin(turn)
        return True
    if kind == "identify_scan":
        from bot.actions.scans import identify_scan

        return identify_scan(turn, turn.pending)
    return False


class ShopAction(Action, ABC):
    #: Actions that change a household's cart or orders need to know the household.
    needs_household = True

    def __init__(self, context: ShopContext | None = None) -> None:
        self._context = context

    @property
    def context(self) -> ShopContext:
        return self._context or ShopContext.default()

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        ctx = self.context
        try:
            with ctx.store.session() as session:
                turn = Turn(
                    ctx,
                    session,
                    identify(tracker, session, ctx.settings.secret_key),
                    tracker,
                    dispatcher,
                )
                if self.needs_household and turn.who.household_id is None:
                    turn.say(link_first(turn.who.channel, tracker.sender_id))
                    return []
                if turn.who.household_id and answer_pending(turn):
                    return turn.events
                self.handle(turn)
                return turn.events
        except StoreUnavailable:
            dispatcher.utter_message(
                text="The store is unavailable right now; nothing was changed. Please try again."
            )
        except DomainError as exc:
            dispatcher.utter_message(text=exc.message[0].upper() + exc.message[1:] + ".")
        return [SlotSet("pending", None)]

    @abstractmethod
    def handle(self, turn: Turn) -> None:
        """Do the work of this turn; say things with ``turn.say``, add events to ``turn.events``."""
