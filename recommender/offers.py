"""Personal offers: products a household is likely to want but has not bought lately.

An offer pays only for what a household would not buy anyway, so every product it bought in
the 8 weeks before the offer date is left out: what it buys every week at full price never
shows up. What remains comes in two kinds:

- "winback": bought before, not lately ("you used to buy this"), the easy hits;
- "discovery": never bought, the "people like you" promise ("households that buy what you buy
  also like this", "popular with households like yours"): on Complete Journey a ranker left to
  itself gives these almost no slots, so ``pick_offers`` reserves ``discovery`` of them.

Candidates come from cheap sources (the household's lapsed products, recent popularity, item
co-purchase, similar households, popularity in its demographic segment, LightFM). A gradient-
boosted classifier (``OfferModel``) trained at an earlier point, with labels "bought within 4
weeks", orders them; a second one, trained on never-bought candidates only, orders discoveries.
Without a model (a new or tiny shop) rules order them: lapsed favourites first, discoveries by
what similar households buy. Offerable products are those sold in the 4 weeks before the offer
date (a shop that sold fewer than ``min_sold`` products in that time offers its whole catalog).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import persist
from recommender.hybrid import HybridModel
from recommender.offer_signals import (
    COLUMNS,
    DAY,
    DISCOVERY_FEATURES,
    FEATURES,
    HORIZON,
    OFFER_RANKER,
    REASONS,
    RECENT,
    CandidateSettings,
    Signals,
    candidates,
    offer_features,
    signals,
)
from recommender.ranker import Ranker, RankerSettings, fit_ranker

__all__ = [
    "COLUMNS",
    "FEATURES",
    "DISCOVERY_FEATURES",
    "HORIZON",
    "REASONS",
    "RECENT",
    "CandidateSettings",
    "Signals",
    "OfferModel",
    "candidates",
    "choose",
    "discovery_list",
    "offer_features",
    "pick_offers",
    "signals",
    "train_offer_model",
]


@dataclass
class OfferModel:
    """Two classifiers of "bought within 4 weeks": over all candidates, and over never-bought
    ones only (discoveries are rare among all candidates: the first barely learns to order them).

    Stored in skops' format (``recommender.persist``: no pickle), as two ``Ranker.state``."""

    model: Ranker
    discovery: Ranker | None = None

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, settings: RankerSettings | None = None, negatives: float = 0.3
    ) -> OfferModel:
        """``frame``: ``offer_features`` rows with a 0/1 ``label`` (ValueError if one-sided).

        Only a seeded ``negatives`` share of the untaken candidates is kept: uniform sampling
        leaves the order of the scores alone and cuts the fit time about threefold."""
        settings = settings or OFFER_RANKER
        keep = np.random.default_rng(settings.random_state).random(len(frame)) < negatives
        frame = frame[keep | (frame["label"].to_numpy() > 0)]
        model = fit_ranker(frame, FEATURES, settings)
        new = frame[frame["is_winback"] == 0]
        try:
            return cls(model, fit_ranker(new, DISCOVERY_FEATURES, settings))
        except ValueError:
            return cls(model)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.score(frame)

    def discovery_score(self, frame: pd.DataFrame) -> np.ndarray:
        return (self.discovery or self.model).score(frame)

    def save(self, path: Path) -> None:
        discovery = None if self.discovery is None else self.discovery.state()
        persist.dump({"model": self.model.state(), "discovery": discovery}, path)

    @classmethod
    def load(cls, path: Path) -> OfferModel:
        doc = persist.load(path)
        discovery = doc.get("discovery")
        return cls(
            Ranker.from_state(doc["model"]),
            None if discovery is None else Ranker.from_state(discovery),
        )


def bought_after(purchases: pd.DataFrame, at: pd.Timestamp, horizon=HORIZON) -> pd.DataFrame:
    """Distinct (household, product) bought in ``[at, at + horizon)``: what an offer hopes for."""
    w = purchases[(purchases["ts"] >= at) & (purchases["ts"] < at + horizon)]
    return w[["household", "product"]].drop_duplicates()


def training_frame(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    hybrid: HybridModel | None = None,
    settings: CandidateSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Candidates at ``at`` (history before it) labelled by purchases in the 4 weeks after it.

    ``hybrid`` must be fitted on purchases before ``at`` only, or its score carries the labels."""
    sig = signals(
        purchases, products, households, at, hybrid, settings=settings, promotions=promotions
    )
    frame = offer_features(sig, candidates(sig, settings=settings))
    truth = bought_after(purchases, pd.Timestamp(at)).assign(label=1.0)
    frame = frame.merge(truth, on=["household", "product"], how="left")
    return frame.assign(label=frame["label"].fillna(0.0))


def train_offer_model(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    hybrid: HybridModel | None = None,
    windows: int = 3,
    settings: RankerSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> OfferModel | None:
    """An ``OfferModel`` learned from up to ``windows`` consecutive 4-week windows from ``at`` on
    (history before each, labels in it), as many as ``purchases`` hold to their end.

    ``hybrid`` must be fitted on purchases before ``at`` only, or its scores carry the labels;
    the live scorer then uses one fitted on everything. None when the history is too thin (no
    window with 8 weeks of history before it and both outcomes in it): the rules then serve."""
    frame = training_frames(purchases, products, households, at, hybrid, windows, promotions)
    return fit_offer_model(frame, settings)


def training_frames(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    hybrid: HybridModel | None = None,
    windows: int = 3,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame | None:
    """The rows ``train_offer_model`` learns from (None when no window fits)."""
    if purchases.empty:
        return None
    at, ts = pd.Timestamp(at), purchases["ts"]
    points = [at + k * HORIZON for k in reversed(range(windows))]  # latest first
    points = [q for q in points if q - RECENT > ts.min() and q + HORIZON <= ts.max() + DAY]
    frames = [
        training_frame(purchases, products, households, q, hybrid, promotions=promotions)
        for q in points
    ]
    return pd.concat(frames, ignore_index=True) if frames else None


def fit_offer_model(
    frame: pd.DataFrame | None, settings: RankerSettings | None = None
) -> OfferModel | None:
    """``OfferModel.fit``, or None for no rows or labels of one kind only."""
    try:
        return OfferModel.fit(frame, settings) if frame is not None else None
    except ValueError:
        return None


def without_calendar(frame: pd.DataFrame) -> pd.DataFrame:
    """Offer rows as they would be built with no promotion calendar: the calendar reaches the
    rows only through these two columns (candidates never read it), so this equals building
    them again without one, at no cost."""
    return frame.assign(promo_display=0.0, promo_mailer=0.0)


def rule_scores(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(score, discovery score) without a model: lapsed favourites by baskets bought, in
    (0.5, 1); discoveries by similar households' and the segment's recent buying, in (0, 0.5)."""
    pop = frame["pop_4w"].to_numpy(float)
    pop = pop / (1.0 + pop.max(initial=0.0))
    won = 1.0 - 0.5 / (1.0 + frame["own_baskets"].to_numpy(float) + 0.5 * pop)
    taste = (frame["neigh"].fillna(0) + frame["segment_pop"].fillna(0)).to_numpy(float)
    new = 0.25 * taste / (1.0 + taste) + 0.2 * pop
    return np.where(frame["is_winback"].to_numpy() > 0, won, new), new


def _reasons(frame: pd.DataFrame) -> np.ndarray:
    """The winback reason, or for a discovery the stronger of its two stories: what similar
    households and co-purchase say, or what the household's segment buys (ranks per household)."""
    g = frame.groupby("household")
    taste = pd.concat(
        [g[c].rank(pct=True) for c in ("item_cf", "neigh", "lfm") if c in frame], axis=1
    ).max(axis=1)
    seg = g["segment_pop"].rank(pct=True)
    return np.where(
        frame["is_winback"] > 0,
        REASONS["winback"],
        np.where(seg > taste.fillna(0), REASONS["segment"], REASONS["similar"]),
    )


def choose(frame: pd.DataFrame, model: OfferModel | None, n: int = 5, discovery: int = 1):
    """The ``n`` offers per household: the ``discovery`` best never-bought candidates (by the
    discovery score), then the best of the rest (by the overall score)."""
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    if model is None:
        score, dscore = rule_scores(frame)
    else:
        score, dscore = model.score(frame), model.discovery_score(frame)
    f = frame.assign(score=score, _d=dscore, reason=_reasons(frame))
    f["kind"] = np.where(f["is_winback"] > 0, "winback", "discovery")
    new = f[f["kind"] == "discovery"].sort_values(["household", "_d", "product"],
                                                  ascending=[True, False, True])  # fmt: skip
    first = new.groupby("household").head(min(discovery, n)).assign(score=lambda d: d["_d"])
    rest = f.drop(index=first.index).sort_values(
        ["household", "score", "product"], ascending=[True, False, True]
    )
    room = n - first.groupby("household").size().reindex(rest["household"]).fillna(0).to_numpy()
    rest = rest[rest.groupby("household").cumcount().to_numpy() < room]
    out = pd.concat([first, rest]).sort_values(["household", "score"], ascending=[True, False])
    return out[COLUMNS].reset_index(drop=True)


def offer_frame(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    hybrid: HybridModel | None = None,
    only: Iterable[int] | None = None,
    settings: CandidateSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Candidates with features at ``at`` for ``only`` these households (default: all)."""
    extra = list(only) if only is not None else []
    sig = signals(purchases, products, households, at, hybrid, extra, settings, promotions)
    return offer_features(sig, candidates(sig, only, settings))


def pick_offers(
    model: OfferModel | None,
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    n: int = 5,
    discovery: int = 1,
    hybrid: HybridModel | None = None,
    only: Iterable[int] | None = None,
    settings: CandidateSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``n`` offers for each household (``only`` these, if given; households without history
    get discoveries only): DataFrame of household, product, kind, score, reason."""
    frame = offer_frame(purchases, products, households, at, hybrid, only, settings, promotions)
    return choose(frame, model, n, discovery)


def discovery_list(
    model: OfferModel | None,
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    households: pd.DataFrame,
    at: pd.Timestamp,
    n: int = 5,
    hybrid: HybridModel | None = None,
    only: Iterable[int] | None = None,
    settings: CandidateSettings | None = None,
    promotions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Like ``pick_offers`` but never-bought products only ("people like you")."""
    frame = offer_frame(purchases, products, households, at, hybrid, only, settings, promotions)
    return choose(frame[frame["is_winback"] == 0], model, n, n)
