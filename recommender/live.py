"""The trained models inside a running assistant: load, rank one household's choice, reload.

``ModelWatcher.current()`` checks the manifest's modification time (one ``stat`` per call) and
loads the new models when `dash train` has written them, so the API and the action server pick
up a retrained model without a restart (in a thread, serving the previous models meanwhile). A
broken or half-written directory keeps the models already loaded.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recommender import pairs
from recommender.data import DEMOGRAPHICS
from recommender.history import build_history
from recommender.hybrid import HybridModel
from recommender.neighbours import FILE as NEIGHBOURS_FILE
from recommender.neighbours import Neighbours
from recommender.ranker import Ranker
from recommender.sales import RecentSales
from recommender.training import COLD_CANDIDATES, MANIFEST, OFFERS_FILE, load_ranker

if TYPE_CHECKING:
    from recommender.offers import OfferModel
    from recommender.timing import TimingModel

log = logging.getLogger(__name__)
MAX_CANDIDATES = 60


@dataclass(frozen=True)
class Ranking:
    product_ids: tuple[int, ...]
    probabilities: tuple[float, ...]
    kind: str  # "brand" (type bought before) or "cold" (never bought)
    own_baskets: tuple[int, ...]  # how often the household bought each, same order


@dataclass
class LiveModels:
    hybrid: HybridModel
    items: pd.DataFrame
    brand: Ranker | None
    cold: Ranker | None
    manifest: dict
    timing: TimingModel | None = None
    offers: OfferModel | None = None
    neighbours: Neighbours | None = None

    @classmethod
    def load(cls, directory: Path) -> LiveModels:
        from recommender import timing
        from recommender.offers import OfferModel

        manifest = json.loads((directory / MANIFEST).read_text())
        offers = directory / OFFERS_FILE
        for old in sorted(directory.glob("*.joblib")):  # an older Dash's pickles: never loaded
            log.warning("%s is pickle, which Dash no longer loads: run `dash train`", old)
        return cls(
            HybridModel.load(directory),
            pd.read_parquet(directory / "items.parquet"),
            load_ranker(directory, "brand"),
            load_ranker(directory, "cold"),
            manifest,
            timing.TimingModel.load(directory) if (directory / timing.FILE).exists() else None,
            OfferModel.load(offers) if offers.exists() else None,
            Neighbours.load(directory) if (directory / NEIGHBOURS_FILE).exists() else None,
        )

    def rank(
        self,
        household_id: int,
        demographics: Mapping[str, object],
        lines: pd.DataFrame,
        products: pd.DataFrame,
        category: str,
        candidate_ids: Sequence[int],
        now: pd.Timestamp,
        offers: Mapping[int, float] | None = None,
        recent: pd.DataFrame | None = None,
        promoted: Collection[int] = (),
    ) -> Ranking | None:
        """Order ``candidate_ids`` (products of ``category``) for the household.

        ``lines`` are the household's own purchases; ``products`` describes at least the
        candidates and the products in ``lines``; ``offers`` maps products on offer now to
        their discount (0.2 for 20% off): this week's price to the rankers; ``promoted`` are
        those on the store's own promotion (offers to everyone), this week's mailer, as
        ``shop.recommend_data.promotions_frame`` gives them to training;
        ``recent`` are every household's lines (``product``, ``basket``, ``ts``) of the
        category in the last weeks (``recommender.sales``). None when no ranker fits."""
        if lines.empty:
            # Nothing bought yet. Measured on Complete Journey, LightFM from demographics alone
            # (0.064 Recall@10) loses to popularity (0.092) and to popularity among households
            # of the same composition (0.093): the rules serve the latter.
            return None
        items = self._items_for(products)
        history = build_history(lines, products, now, popularity=items)
        warm = not history.own_type[history.own_type["type"] == category].empty
        ranker = self.brand if warm else self.cold
        if ranker is None or not candidate_ids:
            return None
        households = pd.DataFrame(
            [{c: demographics.get(c) for c in DEMOGRAPHICS}], index=[household_id], dtype=object
        )
        query = pd.DataFrame(
            {"qid": [0], "household": [household_id], "type": [category], "qtime": [now]}
        )
        cands = self._shortlist(history, candidate_ids, recent).assign(qid=0)
        promotions, prices = _offer_frames(offers or {}, set(promoted), now)
        sales = RecentSales.from_purchases(recent, products) if recent is not None else None
        frame = pairs.features(
            history,
            cands.merge(query, on="qid"),
            self.hybrid,
            households,
            promotions,
            prices,
            sales=sales,
            neighbours=self.neighbours,
            own_products={household_id: pd.Index(lines["product"].unique())},
        )
        chances = ranker.chances(frame)
        order = np.argsort(-chances, kind="stable")
        return Ranking(
            tuple(int(frame["product"].iloc[i]) for i in order),
            tuple(round(float(chances[i]), 4) for i in order),
            "brand" if warm else "cold",
            tuple(int(frame["own_baskets"].iloc[i]) for i in order),
        )

    def _items_for(self, products: pd.DataFrame) -> pd.DataFrame:
        """Saved item statistics, with current catalog attributes and new products as zeros
        (cached for the last catalog frame: the resolver keeps one per catalog version)."""
        cached = self.__dict__.get("_items_cache")
        if cached is not None and cached[0] is products:
            return cached[1]
        items = self._merge_items(products)
        self.__dict__["_items_cache"] = (products, items)
        return items

    def _merge_items(self, products: pd.DataFrame) -> pd.DataFrame:
        items = self.items.reindex(products.index)
        for col in ("type", "category", "manufacturer", "size", "price"):
            items[col] = products[col]
        items["private_label"] = products["private_label"].astype(float)
        items["rel_price"] = products["price"] / products.groupby("type")["price"].transform(
            "median"
        )
        return items.fillna(
            {c: 0.0 for c in items.columns if c not in ("type", "category", "manufacturer", "size")}
        )

    def _shortlist(self, history, candidate_ids: Sequence[int], recent: pd.DataFrame | None):
        """All candidates in small categories; else the household's own, what sold lately
        (``recent``) and the best sellers at training time, in that order."""
        ids = pd.Index(list(dict.fromkeys(int(c) for c in candidate_ids)))
        if len(ids) > MAX_CANDIDATES:
            own = history.own.loc[history.own["product"].isin(ids), "product"]
            sold: list[int] = []
            if recent is not None:
                lines = recent[recent["product"].isin(ids)]
                counts = lines.drop_duplicates(["product", "basket"])["product"].value_counts()
                sold = list(counts.index[: COLD_CANDIDATES["popular"]])
            popular = history.popularity.reindex(ids)["recent"].sort_values(ascending=False)
            keep = list(dict.fromkeys([*own, *sold, *popular.index]))[:MAX_CANDIDATES]
            ids = pd.Index(keep)
        return pd.DataFrame({"product": ids.to_numpy()})


def _offer_frames(offers: Mapping[int, float], promoted: set[int], now: pd.Timestamp) -> tuple:
    """The shop's current offers in the shape of Complete Journey's promotions and prices."""
    if not offers and not promoted:
        return None, None
    ids = list(offers)
    on_show = sorted(promoted)
    promotions = pd.DataFrame(
        {"product": on_show, "week": now.normalize(), "display": False, "mailer": True}
    )
    if not ids:
        return promotions, None
    prices = pd.DataFrame(
        {
            "product": ids,
            "week": now.to_period("W").start_time,
            "ts": now - pd.Timedelta(seconds=1),
            "cum_discount": [float(offers[p]) for p in ids],
            "cum_gross": 1.0,
        }
    )
    return promotions, prices


class ModelWatcher:
    """The current models of one directory, reloaded when its manifest changes.

    The manifest is replaced, not rewritten, by each training (``train_models``), so a new
    one is a new file: its inode tells it apart even where the clock is too coarse for the
    modification time to.

    ``background``: once models are loaded, a new training is loaded in a thread while every
    caller goes on with the previous models, swapped in whole when ready. Loading the full
    Complete Journey's models takes 2-3 s (the timing model's 1,800 trees most of it), which
    a serving process should not put in front of the requests that arrive meanwhile; a
    command that wants the newest models at once keeps the default."""

    def __init__(self, directory: Path, *, background: bool = False) -> None:
        self.directory = directory
        self.background = background
        self._models: LiveModels | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None

    def current(self) -> LiveModels | None:
        try:
            info = (self.directory / MANIFEST).stat()
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
        except OSError:
            return self._models
        if stamp == self._stamp:
            return self._models
        with self._lock:
            models = self._models
            if stamp == self._stamp or self._loading is not None:
                return models
            if self.background and models is not None:
                self._loading = threading.Thread(
                    target=self._load, args=(stamp,), name="models-reload", daemon=True
                )
                try:
                    self._loading.start()
                    return models
                except RuntimeError:  # no thread to be had: load here, as without background
                    self._loading = None
            self._load(stamp)
            return self._models

    def settle(self) -> None:
        """Wait for a load running in the background, if any."""
        loading = self._loading
        if loading is not None:
            loading.join()

    def _load(self, stamp: tuple[int, int, int]) -> None:
        try:
            self._models = LiveModels.load(self.directory)
            log.info("recommender models loaded from %s", self.directory)
        except Exception:  # keep serving the previous models, until the next training
            log.exception("could not load recommender models from %s", self.directory)
        finally:
            self._stamp = stamp
            if threading.current_thread() is self._loading:
                self._loading = None
