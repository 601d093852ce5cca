"""Train everything the live shop uses and write it to one directory.

Layout of ``models/recommender/``: ``hybrid.npz`` + ``hybrid.json`` (LightFM, no pickle),
``brand.joblib`` and ``cold.joblib`` (the rankers), ``items.parquet`` (item-side statistics at
training time) and ``manifest.json``, written last: a running assistant reloads when the
manifest changes (``recommender.live``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recommender import pairs
from recommender.data import RetailData
from recommender.history import History, build_history
from recommender.hybrid import HybridModel, HybridSettings, train_hybrid
from recommender.ranker import Ranker, RankerSettings, fit_ranker, label

TRAIN_WINDOW = pd.Timedelta(days=56)
MANIFEST = "manifest.json"
COLD_PAIR_FEATURES = [
    f
    for f in pairs.FEATURES
    if not f.startswith(("own_", "type_", "is_", "in_last"))
    and f
    not in {"switch_rate", "mfr_share", "same_mfr_as_last", "same_size_as_usual", "price_vs_usual"}
]


@dataclass
class TrainSettings:
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    ranker: RankerSettings = field(default_factory=RankerSettings)
    window: pd.Timedelta = TRAIN_WINDOW
    progress: bool = True


def pair_frames(
    data: RetailData,
    hist: History,
    window: pd.DataFrame,
    hybrid: HybridModel | None,
    prices: pd.DataFrame | None,
) -> tuple[tuple, tuple, pd.DataFrame]:
    """Warm and cold (queries, labelled candidates) for the first purchases in ``window``."""
    warm_q, cold_q, truth = pairs.pair_queries(hist, window, data.products)
    out = []
    for queries, n_pop, n_hyb in ((warm_q, 5, 5), (cold_q, 10, 10)):
        cands = pairs.candidates(
            hist,
            queries,
            hybrid,
            data.households,
            data.promotions,
            popular=n_pop,
            from_hybrid=n_hyb,
        )
        feats = pairs.features(hist, cands, hybrid, data.households, data.promotions, prices)
        out.append((queries, label(feats, truth, "qid")))
    return out[0], out[1], truth


def train_models(
    data: RetailData,
    directory: Path,
    now: pd.Timestamp | None = None,
    settings: TrainSettings | None = None,
) -> dict:
    """LightFM on everything before ``now``; rankers on the last ``window`` of history."""
    settings = settings or TrainSettings()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    p = data.purchases
    if p.empty:
        raise ValueError("no purchases to learn from")
    now = now or (p["ts"].max() + pd.Timedelta(seconds=1))
    fit_point = now - settings.window
    prices = pairs.week_prices(p)
    summary: dict = {
        "trained_at": str(pd.Timestamp.now("UTC").tz_localize(None)),
        "history_until": str(now),
        "lines": int(len(p)),
        "households": int(p["household"].nunique()),
        "rankers": {},
    }

    early = p[p["ts"] < fit_point]
    hybrid_fit = None
    if not early.empty:
        hybrid_fit = train_hybrid(
            early, data.products, data.households, settings.hybrid, progress=settings.progress
        )
        hist_fit = build_history(p, data.products, fit_point)
        window = p[(p["ts"] >= fit_point) & (p["ts"] < now)]
        warm, cold, _ = pair_frames(data, hist_fit, window, hybrid_fit, prices)
        for name, (_, frame), feats in (
            ("brand", warm, pairs.FEATURES),
            ("cold", cold, COLD_PAIR_FEATURES),
        ):
            try:
                ranker = fit_ranker(frame, feats, settings.ranker)
            except ValueError as exc:  # too little history for this ranker: rules serve it
                summary["rankers"][name] = f"not trained: {exc}"
                (directory / f"{name}.joblib").unlink(missing_ok=True)
                continue
            ranker.save(directory / f"{name}.joblib")
            summary["rankers"][name] = {
                "rows": int(len(frame)),
                "queries": int(frame["qid"].nunique()),
            }

    hybrid = train_hybrid(
        p[p["ts"] < now],
        data.products,
        data.households,
        settings.hybrid,
        progress=settings.progress,
    )
    hybrid.save(directory)
    items = build_history(p, data.products, now).popularity
    items.to_parquet(directory / "items.parquet")
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (directory / MANIFEST).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load_ranker(directory: Path, name: str) -> Ranker | None:
    path = directory / f"{name}.joblib"
    return Ranker.load(path) if path.exists() else None
