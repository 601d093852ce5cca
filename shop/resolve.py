"""From words to the exact product: the mention matcher finds the category, the recommender's
resolver picks this household's product in it. Used by the HTTP API and the bot's actions."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender.live import LiveModels, ModelWatcher
from recommender.resolver import (
    REASON_HISTORY,
    REASON_USUAL,
    Candidate,
    Preference,
    Resolution,
    Signals,
    filter_candidates,
    resolve,
)
from recommender.sales import WINDOWS_DAYS as SALES_WINDOWS_DAYS
from shop.mentions import Match, MentionMatcher
from shop.models import Category, Household, Member, Offer, Product, Purchase, utcnow
from shop.models import Preference as PreferenceRow
from shop.recommend_data import household_row, products_frame, purchases_frame
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


REASON_LEARNED_COLD = "households like yours pick it"
REASON_LEARNED = "picked for you"


@dataclass
class LearnedContext:
    """What the learned ranker needs from the store, besides the household's own lines."""

    models: LiveModels
    products: pd.DataFrame


class ProductResolver:
    """Keeps one matcher per process, rebuilt when the catalog changes, and the trained
    recommender models of ``models_dir`` (reloaded when `dash train` rewrites them, in the
    background: requests go on with the previous models while the new ones load)."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self._matcher: MentionMatcher | None = None
        self._version: CatalogVersion | None = None
        self._lock = threading.Lock()
        self._watcher = ModelWatcher(models_dir, background=True) if models_dir else None
        self._products: pd.DataFrame | None = None
        self._products_version: CatalogVersion | None = None

    def models(self) -> LiveModels | None:
        """The trained models (brand and cold rankers, timing, offers), if `dash train` ran."""
        return self._watcher.current() if self._watcher else None

    def settle(self) -> None:
        """Wait for a retraining being loaded in the background, if any."""
        if self._watcher:
            self._watcher.settle()

    def learned(self, session: Session) -> LearnedContext | None:
        models = self.models()
        if models is None:
            return None
        version = catalog_version(session)
        with self._lock:
            if self._products is None or version != self._products_version:
                self._products = products_frame(session)
                self._products_version = version
            return LearnedContext(models, self._products)

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
                rest = choose(
                    session,
                    category,
                    household_id,
                    member=member,
                    now=now,
                    learned=self.learned(session),
                )
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
            learned=self.learned(session) if household_id is not None else None,
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
    learned: LearnedContext | None = None,
) -> ProductChoice:
    """This household's product in ``category`` (anonymous when ``household_id`` is None).

    Explicit preferences always win. Otherwise, with trained models, the learned ranker
    orders the candidates; without them (a fresh shop before `dash train`) the rules do."""
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
    now = now or utcnow()
    result = resolve(candidates, signals, now, member=member)
    from_preference = result.reason.endswith("preference")  # set by the household: obeyed
    if learned is not None and household_id is not None and candidates and not from_preference:
        result = _learned(session, learned, category, household_id, candidates, now) or result
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


def _offers_now(
    session: Session, household_id: int, product_ids: list[int], now: datetime
) -> tuple[dict[int, float], set[int]]:
    """Offers open now for everyone or for this household: product -> discount share, and
    the products on the store's own promotion (offered to everyone)."""
    rows = session.execute(
        select(Offer.product_id, Offer.discount_pct, Offer.household_id).where(
            Offer.product_id.in_(product_ids),
            Offer.status == "open",
            Offer.starts_at <= now,
            Offer.expires_at > now,
            (Offer.household_id.is_(None)) | (Offer.household_id == household_id),
        )
    ).all()
    out: dict[int, float] = {}
    for pid, pct, _ in rows:
        out[pid] = max(out.get(pid, 0.0), pct / 100.0)
    return out, {pid for pid, _, who in rows if who is None}


def _recent_sales(session: Session, product_ids: list[int], now: datetime) -> pd.DataFrame:
    """Every household's lines of these products in the weeks before ``now``: what the shelf
    is selling lately (``recommender.sales``)."""
    since = now - timedelta(days=max(SALES_WINDOWS_DAYS))
    return purchases_frame(session, product_ids=product_ids, since=since, until=now)


def _learned(
    session: Session,
    learned: LearnedContext,
    category: Category,
    household_id: int,
    candidates: list[Candidate],
    now: datetime,
) -> Resolution | None:
    household = session.get(Household, household_id)
    if household is None:
        return None
    ids = [c.product_id for c in candidates]
    discounts, promoted = _offers_now(session, household_id, ids, now)
    ranking = learned.models.rank(
        household_id,
        household_row(household),
        purchases_frame(session, household_id),
        learned.products,
        category.id,
        [c.product_id for c in candidates],
        pd.Timestamp(now),
        offers=discounts,
        recent=_recent_sales(session, ids, now),
        promoted=promoted,
    )
    if ranking is None:
        return None
    probs = ranking.probabilities
    share = probs[0] / max(sum(probs[:3]), 1e-9)
    second = probs[1] / max(sum(probs[:3]), 1e-9) if len(probs) > 1 else 0.0
    bought = ranking.own_baskets[0]
    if ranking.kind == "brand" and bought >= 2 and share >= 0.5:
        reason = REASON_USUAL
    elif bought:
        reason = REASON_HISTORY
    else:
        reason = REASON_LEARNED if ranking.kind == "brand" else REASON_LEARNED_COLD
    return Resolution(
        ranking.product_ids[0],
        ranking.product_ids[1:4],
        reason,
        round(min(0.95, 0.35 + 0.6 * probs[0]), 3),
        ambiguous=share - second < 0.15,
    )
