"""Train everything the live shop uses and write it to one directory.

Layout of ``models/recommender/``: ``hybrid.npz`` + ``hybrid.json`` (LightFM, no pickle),
``brand.json`` and ``cold.json`` (the rankers: LightGBM's text models, no pickle),
``offers.skops`` and ``timing.skops`` (scikit-learn's trees in skops' format, no pickle:
``recommender.persist``), ``neighbours.npz`` (who bought what, for similar households'
picks), ``items.parquet`` (item-side statistics at training time) and ``manifest.json``,
written last: a running assistant reloads when the manifest changes (``recommender.live``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from rich.console import Console

from recommender import pairs
from recommender.data import RetailData
from recommender.history import History, build_history, item_popularity
from recommender.hybrid import HybridModel, HybridSettings, HybridTrainer
from recommender.machine import describe
from recommender.neighbours import Neighbours
from recommender.ranker import Ranker, RankerSettings, fit_ranker, label
from recommender.sales import RecentSales
from recommender.steps import Steps

TRAIN_WINDOW = pd.Timedelta(days=56)
BRAND_WINDOWS = 2
QID_STRIDE = 10_000_000
MANIFEST = "manifest.json"
#: LightFM loses to plain history on households' own types (FIELD-NOTES; `dash evaluate`
#: shows it again), so the brand ranker leaves its score out and learns from more windows.
#: Nor the neighbours' share: measured, it adds nothing where the household's own history speaks.
BRAND_FEATURES = [f for f in pairs.FEATURES if not f.startswith("lfm_") and f != "similar_share"]
COLD_PAIR_FEATURES = [
    f
    for f in pairs.FEATURES
    if not f.startswith(("own_", "type_", "is_", "in_last"))
    and f
    not in {"switch_rate", "mfr_share", "same_mfr_as_last", "same_size_as_usual", "price_vs_usual"}
]


OFFERS_FILE = "offers.skops"
#: Candidates per query from the type's best sellers (at the history's end and in the 28 days
#: before the query) and from LightFM. A type the household never bought has no own products
#: to offer, so it takes more: 20 best sellers lift the cold pairs' candidate coverage from
#: 0.74 to 0.81 on Complete Journey (10: 0.74, history's best sellers only: 0.67).
WARM_CANDIDATES = {"popular": 5, "from_hybrid": 5}
COLD_CANDIDATES = {"popular": 20, "from_hybrid": 10}
#: The brand ranker: binary trees grown by LightGBM (top-1 0.4442 on Complete Journey in 24 s;
#: scikit-learn's 0.4440 in 37 s). LambdaRank matched them there (0.443-0.446) but its picks for
#: the demo store's 60 households swung between 0.918 and 0.948 with its settings, against the
#: rules' 0.945 and these trees' 0.960 (`python -m bench --only resolution`). Half as many
#: trees at twice the pace: top-1 0.4448 against 0.4447 for 200 at 0.1, in 47 s against 71 s
#: on one thread of a slow machine (the largest step of `dash train` after LightFM); the demo
#: store 0.957 against 0.959 on that machine. One thread: it fits beside LightFM.
BRAND_RANKER = RankerSettings(library="lightgbm", iterations=100, learning_rate=0.2, threads=1)
#: Cold pairs: LambdaRank, slower trees (0.2712 on saved frames against 0.2698 at the brand
#: pace and 0.2705 for binary trees).
COLD_RANKER = RankerSettings(
    objective="lambdarank", iterations=300, learning_rate=0.05, leaves=15, min_leaf=50, l2=0.0
)


@dataclass
class TrainSettings:
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    brand_ranker: RankerSettings = field(default_factory=lambda: replace(BRAND_RANKER))
    cold_ranker: RankerSettings = field(default_factory=lambda: replace(COLD_RANKER))
    window: pd.Timedelta = TRAIN_WINDOW
    progress: bool = True


def pair_frame(
    data: RetailData,
    hist: History,
    queries: pd.DataFrame,
    truth: pd.DataFrame,
    hybrid: HybridModel | None,
    prices: pd.DataFrame | None,
    *,
    popular: int,
    from_hybrid: int,
    sales: RecentSales | None = None,
    neighbours: Neighbours | None = None,
) -> pd.DataFrame:
    """Labelled candidates with features for ``queries``."""
    cands = pairs.candidates(
        hist,
        queries,
        hybrid,
        data.households,
        data.promotions,
        popular=popular,
        from_hybrid=from_hybrid,
        sales=sales,
    )
    feats = pairs.features(
        hist,
        cands,
        hybrid,
        data.households,
        data.promotions,
        prices,
        sales=sales,
        neighbours=neighbours,
        store_promotions=data.store_promotions,
    )
    return label(feats, truth, "qid")


@dataclass
class LastWindow:
    """The last training window's start, history and cold-pair queries: what the cold-pair
    frame needs once the first LightFM model is there (``cold_frame``)."""

    point: pd.Timestamp
    hist: History
    cold_queries: pd.DataFrame
    truth: pd.DataFrame


def brand_frame(
    data: RetailData,
    fit_point: pd.Timestamp,
    end: pd.Timestamp,
    prices: pd.DataFrame | None,
    *,
    span: pd.Timedelta = TRAIN_WINDOW,
    windows: int = BRAND_WINDOWS,
    sales: RecentSales | None = None,
) -> tuple[pd.DataFrame, LastWindow | None]:
    """What the brand ranker learns from, and the last window for the cold-pair frame.

    The brand ranker reads no LightFM score, so it can learn from ``windows`` consecutive
    windows (``span`` each, the last one ending at ``end``): more examples of households
    switching. Needing no LightFM, this runs while LightFM trains (``train_models``)."""
    p = data.purchases
    frames, last = [], None
    for i in range(windows):
        point = fit_point - i * span
        stop = end if i == 0 else point + span
        if p.empty or point <= p["ts"].min():
            break
        hist = build_history(p, data.products, point)
        window = p[(p["ts"] >= point) & (p["ts"] < stop)]
        warm_q, cold_q, truth = pairs.pair_queries(hist, window, data.products)
        warm = pair_frame(
            data,
            hist,
            warm_q,
            truth,
            None,
            prices,
            popular=WARM_CANDIDATES["popular"],
            from_hybrid=0,  # the brand ranker reads no LightFM score
            sales=sales,
        )
        frames.append(warm.assign(qid=warm["qid"] + i * QID_STRIDE))
        if i == 0:
            last = LastWindow(point, hist, cold_q, truth)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), last


def cold_frame(
    data: RetailData,
    last: LastWindow,
    hybrid_fit: HybridModel | None,
    prices: pd.DataFrame | None,
    *,
    sales: RecentSales | None = None,
) -> pd.DataFrame:
    """What the cold-pair ranker learns from: the last window only, since it reads LightFM
    scores from a model fitted before that window (and the neighbours of that point)."""
    p = data.purchases
    return pair_frame(
        data,
        last.hist,
        last.cold_queries,
        last.truth,
        hybrid_fit,
        prices,
        sales=sales,
        neighbours=Neighbours.from_purchases(p[p["ts"] < last.point], data.products),
        **COLD_CANDIDATES,
    )


def training_frames(
    data: RetailData,
    fit_point: pd.Timestamp,
    end: pd.Timestamp,
    hybrid_fit: HybridModel | None,
    prices: pd.DataFrame | None,
    *,
    span: pd.Timedelta = TRAIN_WINDOW,
    windows: int = BRAND_WINDOWS,
    sales: RecentSales | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both pair rankers' frames (``brand_frame`` and ``cold_frame``) one after the other."""
    warm, last = brand_frame(data, fit_point, end, prices, span=span, windows=windows, sales=sales)
    if last is None:
        return warm, pd.DataFrame()
    return warm, cold_frame(data, last, hybrid_fit, prices, sales=sales)


def train_models(
    data: RetailData,
    directory: Path,
    now: pd.Timestamp | None = None,
    settings: TrainSettings | None = None,
) -> dict:
    """LightFM on everything before ``now`` (continuing the model fitted before the rankers'
    window); rankers on the last ``window`` of history."""
    settings = settings or TrainSettings()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    p = data.purchases
    if p.empty:
        raise ValueError("no purchases to learn from")
    now = now or (p["ts"].max() + pd.Timedelta(seconds=1))
    fit_point = now - settings.window
    summary: dict = {
        "trained_at": str(pd.Timestamp.now("UTC").tz_localize(None)),
        "history_until": str(now),
        "lines": int(len(p)),
        "households": int(p["household"].nunique()),
        "rankers": {},
    }

    step = Steps(Console(stderr=True, quiet=not settings.progress))
    prices, sales = step(
        "week prices, recent sales",
        lambda: (pairs.week_prices(p), RecentSales.from_purchases(p, data.products)),
    )
    lines = p[p["ts"] < now]
    early = lines[lines["ts"] < fit_point]
    trainer = step(
        "LightFM data",
        lambda: HybridTrainer(
            data.products, data.households, lines["household"].unique(), settings.hybrid
        ),
    )
    lightfm_seconds: dict[str, float] = {}

    def timed(name: str, fit, purchases: pd.DataFrame, epoch_done) -> HybridModel:
        began = time.perf_counter()
        model = fit(purchases, progress=False, on_epoch=epoch_done)  # the bar of `display`
        lightfm_seconds[name] = round(time.perf_counter() - began, 1)
        return model

    # Two threads beside this one, all three busy on 2 cores (LightFM's epochs and the trees'
    # fits release the GIL): LightFM fits before the rankers' window while this thread builds
    # the brand ranker's frames, which need no LightFM, then continues on all history (the
    # first model's export is a copy the refresh leaves alone). The brand ranker fits while this
    # thread computes the live tables and, once the first LightFM model is there, the cold-pair
    # frame. Each runs on one core (``TrainSettings``); in sequence all this took 174 s.
    hybrid_fit = None
    h = settings.hybrid
    epochs = h.epochs + (0 if early.empty else h.refresh_epochs)
    with (
        step.display(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="lightfm") as lightfm,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="brand") as beside,
    ):
        epoch_done = step.bar("LightFM epochs (in a thread beside the steps)", epochs)
        if early.empty:
            live = lightfm.submit(timed, "all history", trainer.fit, lines, epoch_done)
        else:
            first = lightfm.submit(
                timed, "before the ranker window", trainer.fit, early, epoch_done
            )
            live = lightfm.submit(
                timed, "continued on all history", trainer.refresh, lines, epoch_done
            )
            warm, last = step(
                "brand frames (LightFM fitting alongside)",
                lambda: brand_frame(data, fit_point, now, prices, sales=sales),
            )
            brand = beside.submit(fit_ranker, warm, BRAND_FEATURES, settings.brand_ranker)
        neighbours = step("neighbours", lambda: Neighbours.from_purchases(lines, data.products))
        items = step("item statistics", lambda: item_popularity(p, data.products, now))
        if not early.empty:
            hybrid_fit = step("LightFM (before the ranker window)", first.result)
            cold = step(
                "cold-pair frame",
                lambda: (
                    cold_frame(data, last, hybrid_fit, prices, sales=sales)
                    if last is not None
                    else pd.DataFrame()
                ),
            )
            _keep_ranker(
                step,
                directory,
                summary,
                "cold",
                cold,
                lambda: fit_ranker(cold, COLD_PAIR_FEATURES, settings.cold_ranker),
            )
            _keep_ranker(step, directory, summary, "brand", warm, brand.result)
        hybrid = step("LightFM (all history)", live.result)
    hybrid.save(directory)
    summary["machine"] = describe({"all history": hybrid})  # to compare two machines' models
    neighbours.save(directory)
    items.to_parquet(directory / "items.parquet")
    summary["lightfm_seconds"] = lightfm_seconds
    summary["recommender_seconds"] = round(time.perf_counter() - started, 1)
    if hybrid_fit is not None:
        summary["offers"] = step(
            "offer ranker", lambda: _train_offers(data, directory, fit_point, now, hybrid_fit)
        )
    else:  # a history shorter than the rankers' window: the rules serve, not an older training
        short = f"not trained: history shorter than {settings.window.days} days"
        summary["rankers"] = {"brand": short, "cold": short}
        summary["offers"] = short
        for stem in ("brand", "cold", Path(OFFERS_FILE).stem):
            _remove_model(directory / stem)
    summary["timing"] = step("timing model", lambda: _train_timing(data, directory, now))
    summary["step_seconds"] = step.seconds
    summary["seconds"] = round(time.perf_counter() - started, 1)
    # Written last and swapped in whole: a watcher sees the old manifest or the new one.
    part = directory / f".{MANIFEST}.part"
    part.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(part, directory / MANIFEST)
    return summary


def _keep_ranker(
    step: Steps,
    directory: Path,
    summary: dict,
    name: str,
    frame: pd.DataFrame,
    fitted: Callable[[], Ranker],
) -> None:
    """Save one pair ranker (``fitted`` fits it or waits for it); too little history leaves
    the rules to serve it."""
    try:
        ranker = step(f"{name} ranker", fitted)
    except ValueError as exc:
        summary["rankers"][name] = f"not trained: {exc}"
        _remove_model(directory / name)
        return
    ranker.save(directory / name)
    summary["rankers"][name] = {"rows": int(len(frame)), "queries": int(frame["qid"].nunique())}


def _remove_model(stem: Path) -> None:
    """An earlier training's model at ``stem``, in any format (the rules serve it now)."""
    for suffix in (".json", ".skops", ".joblib"):
        stem.with_suffix(suffix).unlink(missing_ok=True)


def _train_offers(data: RetailData, directory: Path, at, now, hybrid: HybridModel) -> dict | str:
    """The offer ranker, learned at the ranker's training point (LightFM fitted before it)
    with labels from the 4 weeks after it; too thin a history leaves the rules to serve."""
    from recommender.offers import train_offer_model

    p = data.purchases
    model = train_offer_model(
        p[p["ts"] < now],
        data.products,
        data.households,
        at,
        hybrid,
        promotions=data.promotions,
    )
    if model is None:
        _remove_model(directory / Path(OFFERS_FILE).stem)
        return "not trained: too little history"
    model.save(directory / OFFERS_FILE)
    (directory / OFFERS_FILE).with_suffix(".joblib").unlink(missing_ok=True)  # an older Dash's
    return {"at": str(at)}


def _train_timing(data: RetailData, directory: Path, now) -> dict:
    """Repurchase timing, trained on points before ``now`` (rule-based parts where too thin)."""
    from recommender.timing import FILE, TimingModel, TimingSettings

    # The loss the evaluation picks on Complete Journey (bench/recommender-completejourney.json,
    # repurchase_timing.days_loss): choosing again here would take three more fits. Every core:
    # nothing else fits any more by now, and the trees come out the same with one thread or
    # more (tested; on full Complete Journey 183 s instead of 257 s on 2 cores).
    model = TimingModel(TimingSettings(days_loss="absolute_error", threads=None))
    model.fit(data.purchases, data.products, now)
    model.save(directory)
    return {"file": FILE, "fitted": sorted(model.models)}


def load_ranker(directory: Path, name: str) -> Ranker | None:
    return Ranker.load(directory / name)
