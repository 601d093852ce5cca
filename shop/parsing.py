"""Ids and money amounts from what people and devices send: URLs, forms, JSON, chat metadata.

Python is generous where the database is not: ``"²".isdigit()`` is true but ``int("²")``
fails, ``float("inf")`` parses but has no cents, and an id past 2**63 - 1 fits a Python int
but no SQLite INTEGER or PostgreSQL BIGINT (the driver raises ``OverflowError``). Each of those
reached a 500 once; these helpers turn them into "not an id" or "not an amount" instead.
"""

from __future__ import annotations

import math
import re

from werkzeug.routing import IntegerConverter

#: The largest id a database column here can hold (SQLite INTEGER, PostgreSQL BIGINT).
MAX_ID = 2**63 - 1
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")


def parse_id(raw: object) -> int | None:
    """A whole-number id from an int or a string of ASCII digits, or None if it is not one
    (signs, spaces, other scripts' digits, booleans, or past ``MAX_ID``)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        return None
    return value if 0 <= value <= MAX_ID else None


def parse_cents(raw: str) -> int | None:
    """An amount of money typed into a form ("12.50", "$1,200") in cents, or None if it is not
    a finite number ("abc", "nan", "inf", "1e400"). A comma only separates thousands: "2,49"
    (a decimal comma) is refused rather than read as 249 dollars."""
    text = raw.strip().lstrip("$").strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            return None
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value) > MAX_ID / 100:
        return None
    return round(value * 100)


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs, up to ``MAX_ID``: a longer number matches no route (404) instead
    of reaching the database and failing there. The digits are limited in the pattern too: a
    value only the converter's check refuses can get 405 instead of 404 where another method's
    route has the same shape."""

    regex = r"\d{1,19}"

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
