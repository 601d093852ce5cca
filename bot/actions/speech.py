"""Saying things two ways: short and speakable for voice, with numbers and buttons for chat."""

from __future__ import annotations

from shop.models import Product

ORDINALS = ["first", "second", "third", "fourth"]


def money(cents: int, voice: bool) -> str:
    if not voice:
        return f"{cents / 100:.2f}"
    dollars, rest = divmod(cents, 100)
    if dollars and rest:
        return f"{dollars} dollars {rest}" if dollars != 1 else f"1 dollar {rest}"
    if dollars:
        return f"{dollars} dollars" if dollars != 1 else "1 dollar"
    return f"{rest} cents"


def product_name(p: Product, voice: bool = False) -> str:
    """'Heinz Tomato Ketchup 20 oz'; for voice, units are spelled out."""
    size = p.size or ""
    if voice:
        for short, long in (
            (" oz", " ounce"),
            (" lb", " pound"),
            (" ct", " count"),
            (" gal", " gallon"),
            (" x ", " times "),
        ):
            size = size.replace(short, long)
    return f"{p.name} {size}".strip()


def quantity_of(qty: int, name: str) -> str:
    return name if qty == 1 else f"{qty} x {name}"


def join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def options_sentence(names: list[str]) -> str:
    """'Heinz 20 oz or Heinz 32 oz?'"""
    if len(names) == 1:
        return f"{names[0]}?"
    return ", ".join(names[:-1]) + " or " + names[-1] + "?"
