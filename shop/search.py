"""Fuzzy product search over the catalog with rapidfuzz.

The index is built once from the database and kept by the caller (the Flask app keeps one and
rebuilds it when the catalog changes). A product matches on its own words (brand, name, size,
aliases) or through its category's spoken names, so "tp" finds toilet paper and "ketchap" finds
ketchup; ties go to the products households buy most.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.models import Category, Product, Purchase

#: Scores (0-100) below this are not a match.
MIN_SCORE = 70.0


@dataclass(frozen=True)
class Hit:
    product_id: int
    score: float


@dataclass(frozen=True)
class CatalogVersion:
    products: int
    max_id: int
    categories: int


def catalog_version(session: Session) -> CatalogVersion:
    count, max_id = session.execute(select(func.count(Product.id), func.max(Product.id))).one()
    cats = session.execute(select(func.count(Category.id))).scalar_one()
    return CatalogVersion(count or 0, max_id or 0, cats or 0)


class ProductIndex:
    def __init__(
        self,
        product_ids: list[int],
        product_texts: list[str],
        product_category: list[str],
        category_names: dict[str, list[str]],
        popularity: dict[int, int],
        version: CatalogVersion,
    ) -> None:
        self.product_ids = product_ids
        self.product_texts = product_texts
        self.product_category = product_category
        self.popularity = popularity
        self.version = version
        self._spoken: list[str] = []
        self._spoken_category: list[str] = []
        for cat_id, names in category_names.items():
            for name in names:
                self._spoken.append(utils.default_process(name))
                self._spoken_category.append(cat_id)
        self._by_category: dict[str, list[int]] = {}
        for i, cat_id in enumerate(product_category):
            self._by_category.setdefault(cat_id, []).append(i)

    @classmethod
    def build(cls, session: Session) -> ProductIndex:
        version = catalog_version(session)
        rows = session.execute(
            select(
                Product.id,
                Product.brand,
                Product.name,
                Product.size,
                Product.aliases,
                Product.category_id,
            )
            .where(Product.active.is_(True))
            .order_by(Product.id)
        ).all()
        categories = {
            c.id: sorted({c.name, *(c.spoken_names or [])})
            for c in session.execute(select(Category)).scalars()
        }
        popularity = dict(
            session.execute(
                select(Purchase.product_id, func.count()).group_by(Purchase.product_id)
            ).all()
        )
        texts = [
            utils.default_process(" ".join([r.brand, r.name, r.size, *(r.aliases or [])]))
            for r in rows
        ]
        return cls(
            [r.id for r in rows],
            texts,
            [r.category_id for r in rows],
            categories,
            popularity,
            version,
        )

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        q = utils.default_process(query)
        if not q:
            return []
        scores: dict[int, float] = {}
        for _text, score, idx in process.extract(
            q,
            self.product_texts,
            scorer=fuzz.WRatio,
            processor=None,
            limit=max(limit * 5, 50),
            score_cutoff=MIN_SCORE,
        ):
            scores[idx] = score
        cat_scores: dict[str, float] = {}
        for _name, score, idx in process.extract(
            q,
            self._spoken,
            scorer=fuzz.WRatio,
            processor=None,
            limit=20,
            score_cutoff=MIN_SCORE,
        ):
            cat = self._spoken_category[idx]
            cat_scores[cat] = max(cat_scores.get(cat, 0.0), score)
        for cat, score in cat_scores.items():
            for idx in self._by_category.get(cat, []):
                # A category match is a little weaker than naming the product itself.
                scores[idx] = max(scores.get(idx, 0.0), score - 1.0)
        ranked = sorted(
            scores.items(),
            key=lambda kv: (-kv[1], -self.popularity.get(self.product_ids[kv[0]], 0), kv[0]),
        )
        return [Hit(self.product_ids[i], round(s, 1)) for i, s in ranked[:limit]]
