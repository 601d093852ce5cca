"""Catalog: loading the demo catalog, looking products up by id or barcode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop import gtin as gtins
from shop.errors import InvalidInput, NotFound
from shop.models import Category, Product

DEMO_CATALOG = Path(__file__).parent / "demo" / "catalog.yml"

_SIZE = re.compile(
    r"^(?:(?P<count>\d+)\s*x\s*)?(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[a-z. ]+?)\s*$", re.I
)


def parse_size(size: str) -> tuple[float | None, str | None]:
    """'24 x 16.9 oz' -> (405.6, 'oz'); '12 mega rolls' -> (12.0, 'mega rolls')."""
    m = _SIZE.match(size.strip())
    if not m:
        return None, None
    value = float(m["value"]) * (int(m["count"]) if m["count"] else 1)
    return round(value, 3), m["unit"].strip().lower()


def to_cents(price: float | str | Decimal) -> int:
    cents = (Decimal(str(price)) * 100).quantize(Decimal("1"))
    return int(cents)


@dataclass(frozen=True)
class CatalogStats:
    categories: int
    products: int


def load_catalog_file(session: Session, path: Path = DEMO_CATALOG) -> CatalogStats:
    """Insert or update the categories and products of a catalog YAML file (idempotent)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    n_products = 0
    for cat in data["categories"]:
        category = session.get(Category, cat["id"]) or Category(id=cat["id"])
        category.name = cat["name"]
        category.department = cat.get("department", "grocery")
        category.spoken_names = list(cat.get("spoken", []))
        category.repurchase_days = cat.get("repurchase_days")
        category.source = "demo"
        session.add(category)
        for item in cat["products"]:
            code = gtins.normalize(str(item["gtin"]))
            if not gtins.is_restricted(code):
                raise InvalidInput(f"demo GTIN {code} is outside the restricted range 20-29")
            product = session.execute(
                select(Product).where(Product.gtin == code)
            ).scalar_one_or_none() or Product(gtin=code)
            value, unit = parse_size(str(item.get("size", "")))
            product.name = item["name"]
            product.brand = item["brand"]
            product.category_id = category.id
            product.size = str(item.get("size", ""))
            product.size_value, product.size_unit = value, unit
            product.price_cents = to_cents(item["price"])
            product.aliases = list(item.get("aliases", []))
            product.private_label = bool(item.get("private_label", False))
            product.manufacturer = item.get("manufacturer", item["brand"])
            product.source = "demo"
            session.add(product)
            n_products += 1
    session.flush()
    return CatalogStats(categories=len(data["categories"]), products=n_products)


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or not product.active:
        raise NotFound(f"no product with id {product_id}")
    return product


def product_by_gtin(session: Session, code: str) -> Product:
    """Look a product up by any GTIN form; raises InvalidInput or NotFound."""
    normalized = gtins.normalize(code)
    product = session.execute(
        select(Product).where(Product.gtin == normalized, Product.active.is_(True))
    ).scalar_one_or_none()
    if product is None:
        raise NotFound(f"no product with barcode {normalized}")
    return product


def demo_snapshot(path: Path = DEMO_CATALOG):  # noqa: ANN201 - avoids an import cycle
    """The demo catalog as a matcher snapshot, straight from the YAML (no database): product
    ids are given in file order, as a fresh store assigns them."""
    from shop.catalog_snapshot import CatalogSnapshot, SnapshotCategory, SnapshotProduct

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cats, prods = [], []
    for c in data["categories"]:
        cats.append(SnapshotCategory(c["id"], c["name"], list(c["spoken"])))
        for p in c["products"]:
            prods.append(
                SnapshotProduct(
                    len(prods) + 1,
                    c["id"],
                    p["brand"],
                    p["name"],
                    str(p["size"]),
                    list(p.get("aliases", [])),
                )
            )
    return CatalogSnapshot(cats, prods)


#: The most a product may cost when an operator adds it by hand (cents).
MAX_PRICE_CENTS = 100_000


def add_product(
    session: Session,
    code: str,
    *,
    name: str,
    brand: str,
    category_id: str,
    price_cents: int,
    size: str = "",
) -> Product:
    """Add one product by hand, e.g. a barcode households scanned that the catalog lacked;
    later scans of it land in carts (the bridge looks misses up again)."""
    gtin = gtins.normalize(code)
    if session.execute(select(Product.id).where(Product.gtin == gtin)).first():
        raise InvalidInput(f"barcode {gtin} is already in the catalog")
    if session.get(Category, category_id) is None:
        raise NotFound(f"no category {category_id!r}")
    name, brand, size = name.strip(), brand.strip(), size.strip()
    if not name or not brand:
        raise InvalidInput("a product needs a name and a brand")
    if not 0 < price_cents <= MAX_PRICE_CENTS:
        raise InvalidInput(f"the price must be between $0.01 and ${MAX_PRICE_CENTS // 100:,}")
    size_value, size_unit = parse_size(size)
    product = Product(
        gtin=gtin,
        name=name[:200],
        brand=brand[:120],
        category_id=category_id,
        size=size[:40],
        size_value=size_value,
        size_unit=size_unit,
        price_cents=price_cents,
        source="operator",
    )
    session.add(product)
    session.flush()
    return product
