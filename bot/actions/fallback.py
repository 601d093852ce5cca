"""When the intent is unclear: a request that looks like an order for something we cannot place
gets "we don't sell that" (never an order); anything else gets the help hint."""

from __future__ import annotations

import re

from bot.actions.adding import say_unknown
from bot.actions.base import ShopAction, Turn
from shop.mentions import FILLER, normalize

_ORDER_WORDS = re.compile(r"^(?:please\s+)?(?:order|add|buy|get|i need|we need|i want|grab)\b")


class ActionNotUnderstood(ShopAction):
    needs_household = False

    def name(self) -> str:
        return "action_not_understood"

    def handle(self, turn: Turn) -> None:
        text = normalize(turn.text)
        if _ORDER_WORDS.match(text):
            rest = " ".join(w for w in _ORDER_WORDS.sub("", text).split() if w not in FILLER)
            if rest:
                say_unknown(turn, rest)
                return
        turn.dispatcher.utter_message(response="utter_default")
