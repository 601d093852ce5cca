"""Demand forecast: units per store, product type and day, built up from the households' cycles.

A store's demand for a type is mostly its regular households coming back for it, so the forecast
adds up, per household and type, the expected purchase days in the coming week (the timing
model's ``n7``) spread over the weekdays the household shops on, times the units it usually
buys. What the timing model does not cover (types a household bought on fewer than three days,
new households) comes from the units such "irregular" purchases made in the last four weeks.

The same functions serve the shop: pass its purchases, a household -> store (or delivery area)
mapping and the timing predictions. ``same_weekday_last_week``, ``moving_average`` and ``wape``
are the baselines and the score the evaluation uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from recommender.timing import day_numbers, purchase_days

BASE_DAYS = 28
RECENT_PURCHASES = 5  # units per purchase: the mean of the pair's last five purchase days
WEEKDAY_PRIOR = 7.0  # pseudo shopping days pulling a household's weekdays toward its store's
OUT = ["day", "store", "type", "units"]
COLS = ["day", "store", "key", "units", "purchases"]


def main_store(purchases: pd.DataFrame) -> pd.Series:
    """Each household's store: where it made the most shopping trips (needs a ``store``
    column; the lower store id wins a tie)."""
    trips = purchases.drop_duplicates(["household", "basket"])
    counts = trips.groupby(["household", "store"]).size().rename("n").reset_index()
    counts = counts.sort_values(["household", "n", "store"], ascending=[True, False, True])
    return counts.drop_duplicates("household").set_index("household")["store"]


def line_stores(purchases: pd.DataFrame, stores: pd.Series) -> np.ndarray:
    """The store of each line: its own ``store`` column, else the household's mapped store."""
    if "store" in purchases.columns:
        return purchases["store"].to_numpy()
    return _same_kind(purchases["household"].map(stores), stores).to_numpy()


def _same_kind(mapped: pd.Series, stores: pd.Series) -> pd.Series:
    """Mapped store ids keep the mapping's dtype (int ids turn float once one is missing)."""
    return mapped.astype(pd.Int64Dtype()) if pd.api.types.is_integer_dtype(stores) else mapped


def forecast_units(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    stores: pd.Series,
    predictions: pd.DataFrame,
    start: pd.Timestamp,
    days: int = 7,
    key: str = "type",
    min_days: int = 3,
    point: str = "mean",
) -> pd.DataFrame:
    """Units per ``day``, ``store`` and ``type`` (the ``key`` value) for ``days`` days from
    ``start``'s day, and ``purchases`` (expected purchase days behind them). Reads
    ``purchases`` before ``start`` only.

    ``stores`` maps household -> store; ``predictions`` is ``TimingModel.predict`` output at
    ``start`` (``household``, ``key``, ``n7`` or else ``p7``). ``point``: "mean" (expected
    units: what totals and orders add up) or "median" (per cell, taking the number of purchases
    as Poisson: the forecast with the lowest expected absolute error, so the lowest WAPE; most
    sparse cells become 0)."""
    start = pd.Timestamp(start).normalize()
    dates = pd.date_range(start, periods=days, freq="D")
    before = purchases[purchases["ts"] < start]
    if before.empty:
        return pd.DataFrame(columns=OUT)
    history = purchase_days(before, products, start, key)
    profile = _weekday_profiles(before, stores, start)

    regular = predictions[["household", "key"]].copy()
    regular["n7"] = predictions["n7" if "n7" in predictions else "p7"].to_numpy()
    units = history.groupby(["household", "key"]).tail(RECENT_PURCHASES)
    units = units.groupby(["household", "key"])["units"].mean().rename("per_day")
    regular = regular.join(units, on=["household", "key"]).dropna(subset=["per_day"])
    regular["store"] = _same_kind(regular["household"].map(stores), stores)
    regular = regular.dropna(subset=["store"])
    rows = []
    for date in dates:
        share = profile.reindex(regular["household"])[date.dayofweek].to_numpy()
        events = regular["n7"].to_numpy() * share
        rows.append(
            regular.assign(day=date, purchases=events, units=events * regular["per_day"])[COLS]
        )
    frames = [pd.concat(rows, ignore_index=True)] if rows and len(regular) else []
    frames.append(_irregular(before, products, stores, start, dates, key, min_days))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True)
    if out.empty:
        return pd.DataFrame(columns=OUT)
    out = out.groupby(["day", "store", "key"], as_index=False)[["units", "purchases"]].sum()
    if point == "median":
        events = out["purchases"].to_numpy()
        per = out["units"].to_numpy() / np.maximum(events, 1e-12)
        out["units"] = per * poisson.ppf(0.5, np.maximum(events, 1e-12))
    return out.rename(columns={"key": "type"})[OUT + ["purchases"]]


def _weekday_profiles(lines: pd.DataFrame, stores: pd.Series, start: pd.Timestamp) -> pd.DataFrame:
    """Share of each household's shopping days per weekday (columns 0 = Monday .. 6) over the
    last 16 weeks, pulled toward its store's shares (a household with few trips says little)."""
    recent = lines[lines["ts"] >= start - pd.Timedelta(weeks=16)]
    trips = pd.DataFrame(
        {"household": recent["household"].to_numpy(), "day": day_numbers(recent["ts"])}
    ).drop_duplicates()
    trips["weekday"] = (trips["day"] + 3) % 7  # 1970-01-01 was a Thursday
    own = pd.crosstab(trips["household"], trips["weekday"]).reindex(columns=range(7), fill_value=0)
    everyone = own.sum() + 1.0
    overall = everyone / everyone.sum()
    store = own.groupby(own.index.map(stores)).sum() if len(own) else own
    store = (store + WEEKDAY_PRIOR * overall).div(store.sum(axis=1) + WEEKDAY_PRIOR, axis=0)
    prior = store.reindex(own.index.map(stores)).fillna(overall).set_axis(own.index)
    shares = (own + WEEKDAY_PRIOR * prior).div(own.sum(axis=1) + WEEKDAY_PRIOR, axis=0)
    households = pd.Index(lines["household"].unique())
    missing = households.difference(shares.index)
    if missing.empty:
        return shares
    filler = pd.DataFrame([overall.to_numpy()] * len(missing), index=missing, columns=range(7))
    return pd.concat([shares, filler]) if len(shares) else filler


def _irregular(before, products, stores, start, dates, key, min_days) -> pd.DataFrame:
    """Units of the last ``BASE_DAYS`` days that the timing model does not cover: purchase days
    that were among a (household, key)'s first ``min_days``. Per store and key, their daily
    mean times 7 x the store's share of trips on that weekday."""
    window_start = start - pd.Timedelta(days=BASE_DAYS)
    days = purchase_days(before, products, start, key)
    days["rank"] = days.groupby(["household", "key"]).cumcount()
    first_day = int(day_numbers([window_start])[0])
    early = days[(days["rank"] < min_days) & (days["day"] >= first_day)]
    if early.empty:
        return pd.DataFrame(columns=COLS)
    recent = before[before["ts"] >= window_start]
    line_store = pd.DataFrame(
        {
            "household": recent["household"].to_numpy(),
            "key": products[key].reindex(recent["product"].to_numpy()).to_numpy(),
            "day": day_numbers(recent["ts"]),
            "store": line_stores(recent, stores),
        }
    ).drop_duplicates(["household", "key", "day"])
    early = early.merge(line_store, on=["household", "key", "day"], how="left")
    early = early.dropna(subset=["store"])
    per_store = early.groupby(["store", "key"])["units"].agg(["sum", "size"]) / BASE_DAYS
    trips = line_store.drop_duplicates(["household", "day"])
    weekday = pd.crosstab(trips["store"], (trips["day"] + 3) % 7).reindex(
        columns=range(7), fill_value=0
    )
    weekday = (weekday + 1.0).div(weekday.sum(axis=1) + 7.0, axis=0)
    rows = []
    base = per_store.reset_index()
    for date in dates:
        share = 7.0 * weekday.reindex(base["store"])[date.dayofweek].fillna(1 / 7).to_numpy()
        rows.append(
            base.assign(day=date, units=base["sum"] * share, purchases=base["size"] * share)
        )
    return pd.concat(rows, ignore_index=True)[COLS]


def daily_units(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    stores: pd.Series,
    start: pd.Timestamp,
    stop: pd.Timestamp,
    key: str = "type",
) -> pd.DataFrame:
    """Units sold per ``day``, ``store`` and ``type`` in [``start``, ``stop``)."""
    lines = purchases[(purchases["ts"] >= start) & (purchases["ts"] < stop)]
    frame = pd.DataFrame(
        {
            "day": lines["ts"].dt.normalize().to_numpy(),
            "store": line_stores(lines, stores),
            "type": products[key].reindex(lines["product"].to_numpy()).to_numpy(),
            "units": lines["quantity"].to_numpy(dtype=np.float64),
        }
    ).dropna(subset=["store", "type"])
    return frame.groupby(["day", "store", "type"], as_index=False)["units"].sum()


def same_weekday_last_week(history: pd.DataFrame, start: pd.Timestamp, days: int = 7):
    """Baseline: each day's units are the same store, type and weekday one week earlier."""
    return moving_average(history, start, days, weeks=1)


def moving_average(
    history: pd.DataFrame, start: pd.Timestamp, days: int = 7, weeks: int = 4, weekday=True
) -> pd.DataFrame:
    """Baseline over ``daily_units`` ``history``: the mean of the same weekday over the last
    ``weeks`` weeks, or (``weekday=False``) the daily mean of the last ``7 * weeks`` days."""
    start = pd.Timestamp(start).normalize()
    window = history[
        (history["day"] >= start - pd.Timedelta(weeks=weeks)) & (history["day"] < start)
    ]
    rows = []
    for date in pd.date_range(start, periods=days, freq="D"):
        same = window[window["day"].dt.dayofweek == date.dayofweek] if weekday else window
        total = same.groupby(["store", "type"], as_index=False)["units"].sum()
        total["units"] /= weeks if weekday else 7 * weeks
        rows.append(total.assign(day=date))
    return pd.concat(rows, ignore_index=True)[OUT]


def blend(forecasts: list[pd.DataFrame], weights: list[float] | None = None) -> pd.DataFrame:
    """The weighted sum per (day, store, type) of several forecasts (equal weights by default):
    household cycles know who is due, a store's recent average knows what the cycles miss
    (new households, irregular buying, the store's own rhythm)."""
    weights = weights or [1.0 / len(forecasts)] * len(forecasts)
    parts = [f[OUT].assign(units=f["units"] * w) for f, w in zip(forecasts, weights, strict=True)]
    out = pd.concat(parts, ignore_index=True).groupby(["day", "store", "type"], as_index=False)
    return out["units"].sum()[OUT]


def wape(forecast: pd.DataFrame, actual: pd.DataFrame) -> tuple[float, int]:
    """sum |forecast - actual| / sum actual over every (day, store, type) cell either has, and
    the number of such cells (a cell missing on one side counts as zero there)."""
    cells = ["day", "store", "type"]
    both = (
        forecast.groupby(cells)["units"]
        .sum()
        .to_frame("f")
        .join(actual.groupby(cells)["units"].sum().to_frame("a"), how="outer")
    )
    both = both.fillna(0.0)
    both = both[(both["f"] > 0) | (both["a"] > 0)]
    total = both["a"].sum()
    return (float(np.abs(both["f"] - both["a"]).sum() / total) if total else float("nan")), len(
        both
    )
