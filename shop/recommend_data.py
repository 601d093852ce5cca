"""The store's purchases, products and households in the recommender's shape
(``recommender.data``): what `dash train` learns from and what a live resolve reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from recommender.data import DEMOGRAPHICS, RetailData
from shop.models import Category, Household, Offer, Product, Purchase

_PURCHASE_COLUMNS = (
    Purchase.id,
    Purchase.household_id,
    Purchase.product_id,
    Purchase.basket_id,
    Purchase.purchased_at,
    Purchase.quantity,
    Purchase.price_paid_cents,
    Purchase.discount_cents,
)


def purchases_frame(
    session: Session,
    household_id: int | None = None,
    *,
    product_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """All purchases, one row per line; or one household's, or of some products, bought in
    [``since``, ``until``)."""
    query = select(*_PURCHASE_COLUMNS)
    if household_id is not None:
        query = query.where(Purchase.household_id == household_id)
    if product_ids is not None:
        query = query.where(Purchase.product_id.in_(list(product_ids)))
    if since is not None:
        query = query.where(Purchase.purchased_at >= since)
    if until is not None:
        query = query.where(Purchase.purchased_at < until)
    rows = session.execute(query).all()
    raw = pd.DataFrame(
        rows,
        columns=["id", "household", "product", "basket_id", "ts", "quantity", "paid", "discount"],
    )
    # A line without a basket id is its own trip.
    basket_key = raw["basket_id"].fillna("line-" + raw["id"].astype(str))
    basket_key = raw["household"].astype(str) + "/" + basket_key.astype(str)
    return pd.DataFrame(
        {
            "household": raw["household"].astype("int64"),
            "product": raw["product"].astype("int64"),
            "basket": pd.factorize(basket_key)[0].astype("int64"),
            "ts": pd.to_datetime(raw["ts"]),
            "quantity": raw["quantity"].astype("int64"),
            "paid": raw["paid"].astype("float64") / 100.0,
            "discount": raw["discount"].astype("float64") / 100.0,
        }
    )


def products_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(
            Product.id,
            Product.category_id,
            Category.name,
            Category.department,
            Product.manufacturer,
            Product.brand,
            Product.private_label,
            Product.size,
            Product.price_cents,
        ).join(Category, Category.id == Product.category_id)
    ).all()
    raw = pd.DataFrame(
        rows,
        columns=[
            "product",
            "type",
            "category",
            "department",
            "mfr",
            "brand",
            "private",
            "size",
            "price",
        ],
    ).set_index("product")
    return pd.DataFrame(
        {
            "type": raw["type"],
            "category": raw["category"],
            "department": raw["department"],
            "manufacturer": raw["mfr"].fillna(raw["brand"]).astype(str),
            "private_label": raw["private"].astype(bool),
            "size": raw["size"].fillna("").astype(str),
            "price": raw["price"].astype("float64") / 100.0,
        }
    )


def household_row(h: Household) -> dict[str, object]:
    """A household's demographics under the recommender's names."""
    return {
        "age": h.age_band,
        "income": h.income_band,
        "home_ownership": h.homeowner,
        "marital_status": h.marital_status,
        "household_size": str(h.household_size) if h.household_size else None,
        "household_comp": h.segment,
        "kids_count": str(h.kids) if h.kids is not None else None,
    }


def households_frame(session: Session) -> pd.DataFrame:
    rows = {h.id: household_row(h) for h in session.execute(select(Household)).scalars()}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(DEMOGRAPHICS))
    frame.index.name = "household"
    return frame.astype(object)


def promotions_frame(session: Session) -> pd.DataFrame | None:
    """The store's own promotion calendar, from its offers to everyone: each product and the
    Monday of every week in which such an offer ran, as Complete Journey's weekly mailer
    (``recommender.data``). A personal offer is the household's, not the shelf's: it reaches
    the rankers as that week's discount only, in training (the discount on its lines) and
    live alike. None when the store never ran one."""
    rows = session.execute(
        select(Offer.product_id, Offer.starts_at, Offer.expires_at).where(
            Offer.household_id.is_(None)
        )
    ).all()
    weeks = [
        (int(pid), monday)
        for pid, start, end in rows
        for monday in pd.date_range(_monday(start), end, freq="W-MON", inclusive="left")
    ]
    if not weeks:
        return None
    frame = pd.DataFrame(weeks, columns=["product", "week"]).drop_duplicates()
    return frame.assign(display=False, mailer=True).reset_index(drop=True)


def _monday(when: datetime) -> pd.Timestamp:
    day = pd.Timestamp(when).normalize()
    return day - pd.Timedelta(days=day.weekday())


def store_data(session: Session) -> RetailData:
    return RetailData(
        purchases_frame(session),
        products_frame(session),
        households_frame(session),
        promotions_frame(session),
    )


def train_from_store(session: Session, directory: Path, *, progress: bool = True) -> dict:
    """`dash train`: retrain the recommender on everything the store knows."""
    from recommender.training import TrainSettings, train_models

    data = store_data(session)
    return train_models(data, directory, settings=TrainSettings(progress=progress))
