"""Running the recommender's offer engine over the store: who gets which discount, and why.

``recommender.offers`` ranks products a household is likely to want but has not bought in the
last 8 weeks (win-backs and discoveries, with the LightFM hybrid among its signals); this adds
the shop's own case, "your usual is due" for rarely bought items, and hands the list to
``shop.offers`` for pricing, budget and persistence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from recommender.live import LiveModels
from recommender.offers import pick_offers
from shop import offers
from shop.config import Settings
from shop.models import Offer, utcnow
from shop.recommend_data import store_data
from shop.replenishment import cycle_table, running_low

#: Only rarely bought usuals get a "due" discount: a weekly staple sells at full price anyway.
DUE_OFFER_MIN_INTERVAL = 28


def suggestions(
    session: Session,
    household_ids: Iterable[int],
    now: datetime,
    models: LiveModels | None,
    per_household: int,
) -> dict[int, list[offers.Suggestion]]:
    ids = list(household_ids)
    data = store_data(session)
    picks = pick_offers(
        getattr(models, "offers", None),
        data.purchases,
        data.products,
        data.households,
        pd.Timestamp(now),
        n=per_household * 2,
        discovery=1,
        hybrid=models.hybrid if models else None,
        only=ids,
        promotions=data.promotions,  # the features the ranker learned from, when the store has them
    )
    out: dict[int, list[offers.Suggestion]] = {h: [] for h in ids}
    for row in picks.itertuples(index=False):
        if int(row.household) in out:
            out[int(row.household)].append(
                offers.Suggestion(int(row.product), str(row.kind), str(row.reason), row.score)
            )
    for items in out.values():
        # Keep one discovery near the top: win-backs score higher, but "people like you" is
        # the promise of personal offers and the engine's discovery list earns its place.
        first = next((i for i, s in enumerate(items) if s.kind == "discovery"), None)
        if first is not None and first > 1:
            items.insert(1, items.pop(first))
    timing = getattr(models, "timing", None)
    table = cycle_table(session, now, timing)  # once: it pools every household's purchases
    for h in ids:
        for cycle in running_low(session, h, now, timing, horizon_days=3, table=table):
            if cycle.interval_days >= DUE_OFFER_MIN_INTERVAL and cycle.usual_product_id:
                due = offers.Suggestion(cycle.usual_product_id, "due", "your usual is due")
                out[h].insert(1, due)
                break
    return out


def refresh(
    session: Session,
    settings: Settings,
    models: LiveModels | None,
    household_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> dict[int, list[Offer]]:
    """Expire old offers, then top every household (or these) up to its count and budget."""
    now = now or utcnow()
    offers.expire(session, now)
    ids = list(household_ids) if household_ids is not None else offers.household_ids(session)
    # Households whose offers are all still open need no new suggestions (a restart of the
    # demo computes none, instead of ranking the whole shop again).
    open_counts = offers.open_counts(session)
    ids = [h for h in ids if open_counts.get(h, 0) < settings.offers_per_household]
    made: dict[int, list[Offer]] = {h: [] for h in ids}
    if not ids:
        offers.refresh_generic(session, now)
        return made
    for h, items in suggestions(session, ids, now, models, settings.offers_per_household).items():
        made[h] = offers.create_offers(session, h, items, settings, now)
    offers.refresh_generic(session, now)
    return made
