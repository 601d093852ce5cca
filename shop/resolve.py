"""From words to the exact product: the mention matcher finds the category, the recommender's
resolver picks this household's product in it. Used by the HTTP API and the bot's actions."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender.resolver import Candidate, Preference, Signals, filter_candidates, resolve
from shop.mentions import Match, MentionMatcher
from shop.models import Category, Household, Member, Product, Purchase, utcnow
from shop.models import Preference as PreferenceRow
from shop.search import CatalogVersion, catalog_version


@dataclass
class ProductChoice:
    match: Match
    category: Category | None = None
    product: Product | None = None
    alternatives: list[Product] = field(default_factory=list)
    reason: str = ""
    confidence: float = 0.0
    ambiguous: bool = False


class ProductResolver:
    """Keeps one matcher per process, rebuilt when the catalog changes."""

    def __init__(self) -> None:
        self._matcher: MentionMatcher | None = None
        self._version: CatalogVersion | None = None
        self._lock = threading.Lock()

    def matcher(self, session: Session) -> MentionMatcher:
        version = catalog_version(session)
        with self._lock:
            if self._matcher is None or version != self._version:
                self._matcher = MentionMatcher.from_session(session)
                self._version = version
            return self._matcher

    def resolve_text(
        self, session: Session, text: str, household_id: int | None = None, **kwargs
    ) -> ProductChoice:
        match = self.matcher(session).match(text)
        return self.resolve_match(session, match, household_id, **kwargs)

    def resolve_match(
        self,
        session: Session,
        match: Match,
        household_id: int | None = None,
        *,
        member: str | None = None,
        brand: str | None = None,
        size: str | None = None,
        now: datetime | None = None,
    ) -> ProductChoice:
        if match.category_id is None:
            return ProductChoice(match)
        category = session.get(Category, match.category_id)
        size = size or match.size
        if match.product_id is not None and not size:
            named = session.get(Product, match.product_id)
            if named is not None and named.active:
                rest = choose(session, category, household_id, member=member, now=now)
                alts = [p for p in [rest.product, *rest.alternatives] if p and p.id != named.id]
                return ProductChoice(
                    match, category, named, alts[:3], "you asked for it", confidence=0.95
                )
        choice = choose(
            session,
            category,
            household_id,
            member=member,
            brand=brand or match.brand,
            size=size,
            now=now,
        )
        choice.match = match
        return choice


def choose(
    session: Session,
    category: Category,
    household_id: int | None,
    *,
    member: str | None = None,
    brand: str | None = None,
    size: str | None = None,
    now: datetime | None = None,
) -> ProductChoice:
    """This household's product in ``category`` (anonymous when ``household_id`` is None)."""
    products = {
        p.id: p
        for p in session.execute(
            select(Product).where(Product.category_id == category.id, Product.active.is_(True))
        ).scalars()
    }
    candidates = filter_candidates(
        [Candidate(p.id, p.brand, p.size, p.size_value, p.price_cents) for p in products.values()],
        brand=brand,
        size=size,
    )
    signals = _signals(session, category.id, household_id, list(products))
    result = resolve(candidates, signals, now or utcnow(), member=member)
    return ProductChoice(
        Match(category.id, 100.0, category.name),
        category,
        products.get(result.product_id) if result.product_id else None,
        [products[p] for p in result.alternatives],
        result.reason,
        result.confidence,
        result.ambiguous,
    )


def _signals(
    session: Session, category_id: str, household_id: int | None, product_ids: list[int]
) -> Signals:
    in_category = Purchase.product_id.in_(product_ids)
    popularity = dict(
        session.execute(
            select(Purchase.product_id, func.count())
            .where(in_category)
            .group_by(Purchase.product_id)
        ).all()
    )
    if household_id is None:
        return Signals(popularity=popularity)
    history: dict[int, list[datetime]] = {}
    for pid, when in session.execute(
        select(Purchase.product_id, Purchase.purchased_at).where(
            Purchase.household_id == household_id, in_category
        )
    ):
        history.setdefault(pid, []).append(when)
    prefs = [
        Preference(product_id=row.product_id, brand=row.brand, member=name)
        for row, name in session.execute(
            select(PreferenceRow, Member.name)
            .outerjoin(Member, Member.id == PreferenceRow.member_id)
            .where(
                PreferenceRow.household_id == household_id,
                PreferenceRow.category_id == category_id,
            )
        )
    ]
    segment = session.execute(
        select(Household.segment).where(Household.id == household_id)
    ).scalar_one_or_none()
    segment_popularity: dict[int, float] = {}
    if segment:
        segment_popularity = dict(
            session.execute(
                select(Purchase.product_id, func.count())
                .join(Household, Household.id == Purchase.household_id)
                .where(
                    in_category, Household.segment == segment, Purchase.household_id != household_id
                )
                .group_by(Purchase.product_id)
            ).all()
        )
    return Signals(
        history=history,
        preferences=prefs,
        segment_popularity=segment_popularity,
        popularity=popularity,
    )
