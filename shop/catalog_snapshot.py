"""What the mention matcher needs to know about the catalog, as a JSON file.

`dash train` writes it from the database (models/catalog/catalog.json); the Rasa component reads
it at start and again whenever it changes; the API builds one from the database directly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SnapshotCategory:
    id: str
    name: str
    spoken_names: list[str]


@dataclass(frozen=True)
class SnapshotProduct:
    id: int
    category_id: str
    brand: str
    name: str
    size: str
    aliases: list[str] = field(default_factory=list)


@dataclass
class CatalogSnapshot:
    """What the matcher needs to know about the catalog; JSON-serializable."""

    categories: list[SnapshotCategory]
    products: list[SnapshotProduct]

    def to_json_text(self) -> str:
        data = {
            "categories": [asdict(c) for c in self.categories],
            "products": [asdict(p) for p in self.products],
        }
        return json.dumps(data)

    def to_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json_text(), encoding="utf-8")

    @classmethod
    def from_json(cls, path: Path) -> CatalogSnapshot:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            [SnapshotCategory(**c) for c in data["categories"]],
            [SnapshotProduct(**p) for p in data["products"]],
        )

    @classmethod
    def from_session(cls, session) -> CatalogSnapshot:  # noqa: ANN001 - a SQLAlchemy Session
        from sqlalchemy import select

        from shop.models import Category, Product

        cats = [
            SnapshotCategory(c.id, c.name, list(c.spoken_names or []))
            for c in session.execute(select(Category).order_by(Category.id)).scalars()
        ]
        prods = [
            SnapshotProduct(p.id, p.category_id, p.brand, p.name, p.size, list(p.aliases or []))
            for p in session.execute(
                select(Product).where(Product.active.is_(True)).order_by(Product.id)
            ).scalars()
        ]
        return cls(cats, prods)
