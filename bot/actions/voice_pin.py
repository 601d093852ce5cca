"""The voice PIN: a household can require it before anything is ordered by voice, so a child,
a guest or a TV saying "yes" cannot place an order. Three wrong PINs drop the checkout."""

from __future__ import annotations

import re

from bot.actions.base import ShopAction, Turn
from shop.households import check_voice_pin, get_household

MAX_TRIES = 3
WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2",
    "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9",
}  # fmt: skip
CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it|no)\b")


def spoken_digits(text: str) -> str:
    """ "1 2 3 4", "1234", "one two three four" and "my pin is four three two one" -> digits."""
    out = []
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        if token.isdigit():
            out.append(token)
        elif token in WORDS:
            out.append(WORDS[token])
    return "".join(out)


def needs_pin(turn: Turn) -> bool:
    """Voice orders of a household that set a PIN need it (chat and the web do not)."""
    if not turn.who.voice:
        return False
    return bool(get_household(turn.session, turn.who.household_id).voice_pin_hash)


def ask_pin(turn: Turn, checkout: dict) -> None:
    turn.set_pending({"type": "voice_pin", "checkout": checkout, "tries": 0})
    turn.say("To place the order, what is your voice PIN?")


def handle_pin(turn: Turn) -> None:
    """The answer to "say your voice PIN", whatever intent the words were taken for."""
    from bot.actions.orders import place_order

    pending = turn.pending or {}
    if CANCEL.search(turn.text.lower()) and not spoken_digits(turn.text):
        turn.set_pending(None)
        turn.say("OK, I won't place the order.")
        return
    household = get_household(turn.session, turn.who.household_id)
    if check_voice_pin(household, spoken_digits(turn.text)):
        place_order(turn, {**pending["checkout"], "pin_ok": True})
        return
    tries = pending.get("tries", 0) + 1
    if tries >= MAX_TRIES:
        turn.set_pending(None)
        turn.say("That PIN is not right. I won't place the order.")
        return
    turn.set_pending({**pending, "tries": tries})
    turn.say("That PIN is not right. Can you say it again?")


class ActionVoicePin(ShopAction):
    def name(self) -> str:
        return "action_voice_pin"

    def handle(self, turn: Turn) -> None:
        if (turn.pending or {}).get("type") == "voice_pin":
            handle_pin(turn)
        else:
            turn.say("There is nothing waiting for your PIN.")
