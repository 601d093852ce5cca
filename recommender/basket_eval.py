"""The evaluation's basket tables: the next basket of households with history, and the first
basket of households known only by their demographics (held out of all training).

Each learned ranker here learns from the next basket after several points before the cutoff
(``points``: the history at each), with a LightFM model fitted before them; the tables score
the first basket after the cutoff with the history and LightFM model of the cutoff.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from recommender import baselines, nextbasket
from recommender.als import als
from recommender.data import RetailData, first_baskets
from recommender.eval_tables import NEW_HOUSEHOLDS, OURS, hindsight_list
from recommender.history import History
from recommender.hybrid import HybridModel
from recommender.metrics import basket_report, household_recalls
from recommender.ranker import Ranker, RankerSettings, fit_ranker, label, top_k
from recommender.training import QID_STRIDE

#: The LightFM model fitted before the points, and the one refreshed to the cutoff.
Hybrids = tuple[HybridModel, HybridModel]


def next_basket_table(
    warm: RetailData,
    points: dict[pd.Timestamp, History],
    hist_eval: History,
    hybrids: Hybrids,
    cutoff: pd.Timestamp,
    test: pd.DataFrame,
    ranker: RankerSettings,
    k: int,
) -> tuple[dict, dict]:
    """Our ranker against the next-basket baselines, on households with history: the table,
    and each method's recall per household."""
    hybrid_fit, hybrid_eval = hybrids
    p, demo = warm.purchases, warm.households
    model = _fit_on_points(
        points,
        p,
        cutoff,
        lambda point, hist, hh: nextbasket.basket_frame(
            hist, p[p["ts"] < point], hh, hybrid_fit, demo
        ),
        nextbasket.FEATURES,
        ranker,
    )

    truth = {h: b for h, b in first_baskets(test).items() if h in hist_eval.households.index}
    hh = pd.Index(sorted(truth))
    train = p[p["ts"] < cutoff]
    frame = nextbasket.basket_frame(hist_eval, train, hh, hybrid_eval, demo)
    history = {int(h): set(g) for h, g in train.groupby("household")["product"]}
    methods = {
        OURS: top_k(frame, model.score(frame), "household", k),
        "popularity": baselines.popularity(train, hh, k),
        "personal frequency": baselines.personal_frequency(train, hh, k),
        "recency-decayed frequency": baselines.recency_frequency(train, hh, k),
        "TIFU-KNN": baselines.tifu_knn(train, hh, k),
        "implicit ALS": als(train, hh, k),
        "LightFM alone": top_k(frame, "lfm_score", "household", k),
    }
    return _reports(methods, truth, history, k)


def cold_start_table(
    data: RetailData,
    warm: RetailData,
    holdout: np.ndarray,
    points: dict[pd.Timestamp, History],
    hist_eval: History,
    hybrids: Hybrids,
    window: tuple[pd.Timestamp, pd.Timestamp],
    ranker: RankerSettings,
    k: int,
) -> tuple[dict, dict]:
    """Households never seen in training (``holdout``), known only by their demographics; the
    ranker learns from households with demographics that are in training. The table, and each
    method's recall per household."""
    hybrid_fit, hybrid_eval = hybrids
    cutoff, end = window
    demo = data.households
    p = warm.purchases
    with_demo = warm.households.dropna(how="all").index
    model = _fit_on_points(
        points,
        p[p["household"].isin(with_demo)],
        cutoff,
        lambda point, hist, hh: nextbasket.cold_frame(hist, hh, hybrid_fit, demo),
        nextbasket.COLD_FEATURES,
        ranker,
    )

    lines = data.purchases
    held = lines[lines["household"].isin(holdout) & (lines["ts"] >= cutoff) & (lines["ts"] < end)]
    truth = first_baskets(held)
    hh = pd.Index(sorted(truth))
    if hh.empty:
        return {"households": 0}, {}
    frame = nextbasket.cold_frame(hist_eval, hh, hybrid_eval, demo)
    train = p[p["ts"] < cutoff]
    methods = {
        "popularity in segment (served live)": top_k(frame, "segment_pop", "household", k),
        NEW_HOUSEHOLDS: top_k(frame, model.score(frame), "household", k),
        "popularity": baselines.popularity(train, hh, k),
        "LightFM alone (demographics)": top_k(frame, "lfm_score", "household", k),
        "(reference) best single list in hindsight": hindsight_list(truth, hh, k),
    }
    return _reports(methods, truth, {}, k)


def _reports(methods: dict, truth: dict, history: dict, k: int) -> tuple[dict, dict]:
    """The table (``basket_report`` per method) and each method's recall per household, in the
    same order for every method (for ``metrics.paired_bootstrap``)."""
    table = {name: basket_report(recs, truth, history, k) for name, recs in methods.items()}
    return table, {name: household_recalls(recs, truth, k) for name, recs in methods.items()}


def _fit_on_points(
    points: dict[pd.Timestamp, History],
    lines: pd.DataFrame,
    cutoff: pd.Timestamp,
    frame_for: Callable[[pd.Timestamp, History, pd.Index], pd.DataFrame],
    features: list[str],
    ranker: RankerSettings,
) -> Ranker:
    """A ranker that learns from the next basket after each point (up to the cutoff) of the
    households in ``lines``; ``frame_for(point, history, households)`` builds the candidates."""
    frames = []
    for i, (point, hist) in enumerate(points.items()):
        truth = _basket_labels(hist, lines, point, cutoff)
        if not truth:
            continue
        frame = frame_for(point, hist, pd.Index(sorted(truth)))
        frames.append(_queries(label(frame, _truth_frame(truth), "household"), i))
    return fit_ranker(pd.concat(frames, ignore_index=True), features, ranker)


def _basket_labels(hist: History, lines: pd.DataFrame, start, stop) -> dict[int, set[int]]:
    """Each household's first basket in [start, stop), for households the history knows."""
    window = lines[(lines["ts"] >= start) & (lines["ts"] < stop)]
    return {h: b for h, b in first_baskets(window).items() if h in hist.households.index}


def _queries(frame: pd.DataFrame, point: int) -> pd.DataFrame:
    """One LambdaRank query per household and training point (a household's basket after
    each point is a separate list to order)."""
    frame["qid"] = point * QID_STRIDE + frame["household"].to_numpy(dtype=np.int64)
    return frame


def _truth_frame(truth: dict[int, set[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(h, p) for h, items in truth.items() for p in items], columns=["household", "product"]
    )
