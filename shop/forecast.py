"""Anticipatory demand: units per category and delivery area per day, for staging stock.

Summed from the households' own predicted purchases (``recommender.forecast``): each regular
(household, category) adds its expected purchases in the coming days, spread over the weekdays
that household shops on, times the units it usually buys; irregular buying adds its recent
average. That is blended half and half with the area's 4-week same-weekday mean. A
household's delivery area (``households.area``) plays the part of the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from recommender import timing
from recommender.forecast import blend, daily_units, forecast_units, moving_average
from shop.models import Category, Household, utcnow
from shop.recommend_data import products_frame, purchases_frame

if TYPE_CHECKING:
    from recommender.timing import TimingModel

NO_AREA = "all"


def demand_forecast(
    session: Session,
    days: int = 7,
    model: TimingModel | None = None,
    now: datetime | None = None,
) -> dict:
    """The forecast from tomorrow on (today is already under way), as plain JSON."""
    now = now or utcnow()
    start = pd.Timestamp(now.date() + timedelta(days=1))
    dates = [(start + pd.Timedelta(days=i)).date().isoformat() for i in range(days)]
    lines = purchases_frame(session)
    lines = lines[lines["ts"] < start]
    report = {
        "as_of": now.date().isoformat(),
        "days": dates,
        "model": "learned" if model is not None else "rule",
        "rows": [],
        "totals": [0.0] * days,
    }
    if lines.empty:
        return report
    products = products_frame(session)
    areas = pd.Series(
        dict(session.execute(select(Household.id, Household.area)).all()), dtype=object
    ).fillna(NO_AREA)
    features = timing.timing_features(lines, products, start, key="type")
    if len(features):
        predicted = model.predict(features) if model is not None else timing.rule_predict(features)
    else:
        predicted = pd.DataFrame(columns=["household", "key", "n7"])
    cycles = forecast_units(lines, products, areas, predicted, start, days=days, key="type")
    past = daily_units(lines, products, areas, start - pd.Timedelta(days=28), start)
    parts = [f for f in (cycles, moving_average(past, start, days)) if len(f)]
    if not parts:
        return report
    # Measured on Complete Journey (type x day), the blend of household cycles and the
    # 4-week same-weekday mean beats either alone (README, "Time-axis and offer evaluation").
    units = blend(parts) if len(parts) == 2 else parts[0]
    names = dict(session.execute(select(Category.id, Category.name)).all())
    units["day"] = pd.to_datetime(units["day"]).dt.date.map(lambda d: d.isoformat())
    table = units.pivot_table(
        index=["store", "type"], columns="day", values="units", aggfunc="sum", fill_value=0.0
    ).reindex(columns=dates, fill_value=0.0)
    table = table[table.sum(axis=1) > 0].sort_values(by=dates, ascending=False)
    for (area, key), row in table.iterrows():
        report["rows"].append(
            {
                "area": str(area),
                "category": names.get(key, str(key)),
                "category_id": str(key),
                "units": [round(float(u), 2) for u in row.to_numpy()],
                "total": round(float(row.sum()), 2),
            }
        )
    report["totals"] = [round(float(u), 2) for u in table.sum(axis=0).to_numpy()]
    report["rows"].sort(key=lambda r: (-r["total"], r["area"], r["category"]))
    return report
