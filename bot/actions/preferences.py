"""Remembering brands: "from now on get Hunt's ketchup", "Tom likes Folgers"."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.actions.base import ShopAction, Turn
from shop.models import Category, Member, Product
from shop.preferences import set_preference


class ActionSetPreference(ShopAction):
    def name(self) -> str:
        return "action_set_preference"

    def handle(self, turn: Turn) -> None:
        household = turn.who.household_id
        matches = [m for m in turn.matches() if m.category_id]
        if not matches or not (matches[0].brand or matches[0].product_id):
            turn.say('Which brand and product? Say for example "from now on get Hunt\'s ketchup".')
            return
        m = matches[0]
        category = turn.session.get(Category, m.category_id)
        product = turn.session.get(Product, m.product_id) if m.product_id else None
        brand = product.brand if product else m.brand
        words = set(re.findall(r"[a-z]+", turn.text.lower()))
        members = (
            turn.session.execute(select(Member).where(Member.household_id == household))
            .scalars()
            .all()
        )
        member = next((x for x in members if x.name.lower() in words), None)
        if member is None and turn.who.member and re.search(r"\b(i|me|my)\b", turn.text.lower()):
            member = next((x for x in members if x.name == turn.who.member), None)
        set_preference(
            turn.session,
            household,
            category.id,
            brand=brand,
            product_id=product.id if product else None,
            member_id=member.id if member else None,
        )
        who = f" for {member.name}" if member else ""
        turn.say(f"Got it: from now on I'll get {brand} {category.name}{who}.")
