"""What a household is running low on: its purchase cycles per category, predicted.

The store's purchases (orders, scans, imported history) go through the recommender's timing
model (``recommender.timing.TimingModel``: gradient-boosted trees when `dash train` fitted
them, else ``recommender.timing.rule_predict``, the household interval shrunk toward the
category's typical cycle with a lognormal spread), so every new order or scan
moves the prediction at the next call. The cycle table pools the whole shop (0.5 s on the demo
store); long-running processes keep it in a ``CycleCache``, which reuses it only while the
purchases before ``now``, the catalog, the day and the model are unchanged.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender import timing
from shop.models import Category, Product, Purchase, utcnow
from shop.recommend_data import products_frame, purchases_frame

if TYPE_CHECKING:
    from recommender.timing import TimingModel

#: A category is listed once its predicted date is at most this many days away.
HORIZON_DAYS = 7
#: Three usual intervals overdue: the household most likely stopped buying it here.
LAPSED_RATIO = 3.0


@dataclass(frozen=True)
class Cycle:
    """One category's cycle for one household, with the prediction."""

    category_id: str
    category: str
    purchases: int  # distinct purchase days
    last_bought: date
    days_since: int
    interval_days: float  # the usual interval (shrunk toward the category's cycle)
    predicted: date  # expected next purchase
    earliest: date  # uncertainty: a likely range for the next purchase
    latest: date
    p7: float  # probability of buying within 7 days
    usual_product_id: int | None
    usual_product: str | None

    @property
    def due_in_days(self) -> int:
        return (self.predicted - (self.last_bought + timedelta(days=self.days_since))).days

    @property
    def cycle_over(self) -> bool:
        """The usual interval has (nearly) passed: what the household itself would call due,
        even where the model expects a late household to wait a few more days."""
        return self.days_since >= 0.9 * self.interval_days

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("last_bought", "predicted", "earliest", "latest"):
            out[key] = out[key].isoformat()
        out["interval_days"] = round(self.interval_days, 1)
        out["p7"] = round(self.p7, 3)
        out["due_in_days"] = self.due_in_days
        out["cycle_over"] = self.cycle_over
        return out


def cycle_table(
    session: Session,
    now: datetime | None = None,
    model: TimingModel | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Timing features and predictions of every (household, category) bought on 3+ days.

    The whole shop goes in because each category's typical cycle (what a household with few
    purchases is shrunk toward) is pooled over every household; a reminder pass computes this
    once and reads every household from it."""
    at = pd.Timestamp(now or utcnow())
    lines = purchases_frame(session)
    lines = lines[lines["ts"] < at]
    if lines.empty:
        return pd.DataFrame()
    products = products if products is not None else products_frame(session)
    features = timing.timing_features(lines, products, at, key="type")
    if features.empty:
        return pd.DataFrame()
    predicted = model.predict(features) if model is not None else timing.rule_predict(features)
    keep = ["p7", "p14", "days", "low", "high"]
    return pd.concat(
        [features.reset_index(drop=True), predicted[keep].reset_index(drop=True)], axis=1
    )


class CycleCache:
    """The last ``cycle_table``, for processes that answer many households (web app, action
    server). Reused while the key holds: purchases before ``now`` (count, newest id and sums
    of ids, products and quantities: a cancelled order deletes its lines, and SQLite may hand
    the freed ids to the next ones), products (count and newest id), the day (every feature is
    in whole days) and the very model object (a retrained model is a new one). Checking the key
    is two aggregate queries, a few milliseconds; a new order or scan rebuilds the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._model: object = None
        self._table: pd.DataFrame | None = None
        self.builds = 0

    def table(
        self, session: Session, now: datetime | None = None, model: TimingModel | None = None
    ) -> pd.DataFrame:
        at = pd.Timestamp(now or utcnow())
        bought = session.execute(
            select(
                func.count(Purchase.id),
                func.max(Purchase.id),
                func.sum(Purchase.id),
                func.sum(Purchase.product_id),
                func.sum(Purchase.quantity),
            ).where(Purchase.purchased_at < at.to_pydatetime())
        ).one()
        catalog = session.execute(select(func.count(Product.id), func.max(Product.id))).one()
        key = (tuple(bought), tuple(catalog), at.date())
        with self._lock:
            if self._table is not None and key == self._key and model is self._model:
                return self._table
        table = cycle_table(session, at.to_pydatetime(), model)
        with self._lock:
            self._key, self._model, self._table = key, model, table
            self.builds += 1
        return table


def cycles(
    session: Session,
    household_id: int,
    now: datetime | None = None,
    model: TimingModel | None = None,
    table: pd.DataFrame | None = None,
) -> list[Cycle]:
    """Every category the household buys regularly (3+ purchase days), soonest due first."""
    now = now or utcnow()
    table = cycle_table(session, now, model) if table is None else table
    if table.empty:
        return []
    rows = table[table["household"] == household_id]
    if rows.empty:
        return []
    usual = _usual_products(session, household_id)
    names = dict(session.execute(select(Category.id, Category.name)).all())
    today = now.date()
    out = []
    for f in rows.to_dict("records"):
        key = str(f["key"])
        product = usual.get(key)
        out.append(
            Cycle(
                category_id=key,
                category=names.get(key, key),
                purchases=int(f["n_days"]),
                last_bought=pd.Timestamp(f["last"]).date(),
                days_since=int(f["days_since"]),
                interval_days=float(f["shrunk_interval"]),
                predicted=today + timedelta(days=round(float(f["days"]))),
                earliest=today + timedelta(days=round(float(f["low"]))),
                latest=today + timedelta(days=round(float(f["high"]))),
                p7=float(f["p7"]),
                usual_product_id=product.id if product else None,
                usual_product=product.name if product else None,
            )
        )
    return sorted(out, key=lambda c: (c.predicted, -c.p7, c.category_id))


def running_low(
    session: Session,
    household_id: int,
    now: datetime | None = None,
    model: TimingModel | None = None,
    horizon_days: int = HORIZON_DAYS,
    table: pd.DataFrame | None = None,
) -> list[Cycle]:
    """Categories due within ``horizon_days`` and not lapsed (a household three cycles past
    its usual interval has most likely stopped buying there: reminding it would nag)."""
    now = now or utcnow()
    limit = now.date() + timedelta(days=horizon_days)
    return [
        c
        for c in cycles(session, household_id, now, model, table)
        if c.predicted <= limit and c.days_since <= LAPSED_RATIO * max(c.interval_days, 1.0)
    ]


def last_purchase(
    session: Session, household_id: int, category_id: str
) -> tuple[datetime, Product] | None:

    row = session.execute(
        select(Purchase.purchased_at, Product)
        .join(Product, Product.id == Purchase.product_id)
        .where(Purchase.household_id == household_id, Product.category_id == category_id)
        .order_by(Purchase.purchased_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _usual_products(session: Session, household_id: int) -> dict[str, Product]:
    """The household's most bought product per category (its "usual")."""
    rows = session.execute(
        select(Product, Purchase.quantity)
        .join(Product, Product.id == Purchase.product_id)
        .where(Purchase.household_id == household_id)
    ).all()
    counts: dict[int, int] = {}
    by_id: dict[int, Product] = {}
    for product, qty in rows:
        counts[product.id] = counts.get(product.id, 0) + max(int(qty or 1), 1)
        by_id[product.id] = product
    best: dict[str, Product] = {}
    for pid, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        best.setdefault(by_id[pid].category_id, by_id[pid])
    return best
