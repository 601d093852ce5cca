"""The evaluation's basket tables: the next basket of households with history, and the first
basket of households known only by their demographics (held out of all training).

Each learned ranker here learns from the next basket after several points before the cutoff
(``points``: the history at each), with a LightFM model fitted before them; the next-basket
one also from simulated joiners at those points (``newcomers.joiners``). The tables score the
first basket after the cutoff with the history and LightFM model of the cutoff.

The cold-start table can pool several holdout folds: the first shares the other tables' models,
each further one (``cold_start_fold``) fits its own without its households. The same rankers
serve the held-out households as they go on shopping (``recommender.newcomers``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender import baselines, nextbasket
from recommender.als import als
from recommender.data import RetailData, first_baskets
from recommender.eval_tables import NEW_HOUSEHOLDS, OURS, hindsight_list, others_lists
from recommender.history import History, build_history
from recommender.hybrid import HybridModel, HybridSettings, HybridTrainer
from recommender.metrics import basket_report, household_recalls
from recommender.newcomers import JOIN_SHARE, NewcomerLists, joiners, newcomer_recs
from recommender.ranker import Ranker, RankerSettings, fit_ranker, label, top_k
from recommender.training import QID_STRIDE

OTHERS = "(reference) the other households' baskets, in hindsight"
OTHERS_IN_SEGMENT = "(reference) the same, own composition only"
BASKET_POINTS = (0, 14, 28, 42)  # days after the training point: one next basket each


def fit_basket_ranker(
    warm: RetailData,
    points: dict[pd.Timestamp, History],
    hybrid_fit: HybridModel,
    cutoff: pd.Timestamp,
    ranker: RankerSettings,
    joiner_share: float = JOIN_SHARE,
) -> Ranker:
    """The next-basket ranker, learning from the households in training (``warm``): their
    next basket after each point, and again for ``joiner_share`` of them as if they had
    joined a few weeks before it (``newcomers.joiners``: the histories new households have,
    which LightFM, fitted before the point, reads by their demographics alone)."""
    p, demo = warm.purchases, warm.households
    frames = _point_frames(
        points,
        p,
        cutoff,
        lambda point, hist, hh: nextbasket.basket_frame(
            hist, p[p["ts"] < point], hh, hybrid_fit, demo
        ),
    )
    rng = np.random.default_rng(ranker.random_state)
    for i, point in enumerate(points if joiner_share > 0 else (), start=len(points)):
        lines, shopped = joiners(p, point, rng, joiner_share)
        truth = _basket_labels(shopped, p, point, cutoff)
        if not truth:
            continue
        hh = pd.Index(sorted(truth))
        hist = build_history(lines, warm.products, point, only=hh)
        frame = nextbasket.basket_frame(hist, lines, hh, hybrid_fit, demo, strangers=True)
        frames.append(_queries(label(frame, _truth_frame(truth), "household"), i))
    return fit_ranker(pd.concat(frames, ignore_index=True), nextbasket.FEATURES, ranker)


def fit_household_ranker(
    data: RetailData,
    warm: RetailData,
    points: dict[pd.Timestamp, History],
    hybrid_fit: HybridModel,
    cutoff: pd.Timestamp,
    ranker: RankerSettings,
) -> Ranker:
    """The ranker for households known only by their demographics, learning from the
    households with demographics in training."""
    p = warm.purchases
    with_demo = warm.households.dropna(how="all").index
    frames = _point_frames(
        points,
        p[p["household"].isin(with_demo)],
        cutoff,
        lambda point, hist, hh: nextbasket.cold_frame(hist, hh, hybrid_fit, data.households),
    )
    return fit_ranker(pd.concat(frames, ignore_index=True), nextbasket.COLD_FEATURES, ranker)


def next_basket_table(
    warm: RetailData,
    model: Ranker,
    hist_eval: History,
    hybrid_eval: HybridModel,
    cutoff: pd.Timestamp,
    test: pd.DataFrame,
    k: int,
) -> tuple[dict, dict]:
    """Our ranker (``fit_basket_ranker``) against the next-basket baselines, on households
    with history: the table, and each method's recall per household."""
    p, demo = warm.purchases, warm.households
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


def cold_start_recs(
    data: RetailData,
    holdout: np.ndarray,
    model: Ranker,
    hist_eval: History,
    hybrid_eval: HybridModel,
    window: tuple[pd.Timestamp, pd.Timestamp],
    k: int,
) -> tuple[dict, dict]:
    """Households never seen in training (``holdout``), known only by their demographics,
    ranked by ``model`` (``fit_household_ranker``). Each method's lists by household, and each
    held-out household's first basket after the cutoff."""
    cutoff, end = window
    lines = data.purchases
    held = lines[lines["household"].isin(holdout) & (lines["ts"] >= cutoff) & (lines["ts"] < end)]
    truth = first_baskets(held)
    hh = pd.Index(sorted(truth))
    if hh.empty:
        return {}, {}
    frame = nextbasket.cold_frame(hist_eval, hh, hybrid_eval, data.households)
    train = lines[~lines["household"].isin(holdout) & (lines["ts"] < cutoff)]
    methods = {
        "popularity in segment (served live)": top_k(frame, "segment_pop", "household", k),
        NEW_HOUSEHOLDS: top_k(frame, model.score(frame), "household", k),
        "popularity": baselines.popularity(train, hh, k),
        "LightFM alone (demographics)": top_k(frame, "lfm_score", "household", k),
    }
    return methods, truth


@dataclass
class FoldResult:
    """One holdout fold's first-basket lists (``cold_start_recs``) and its lists as the same
    households go on shopping (``newcomers.newcomer_recs``)."""

    first_basket: tuple[dict, dict]
    newcomers: NewcomerLists


def holdout_folds(data: RetailData, share: float, seed: int, folds: int) -> list[np.ndarray]:
    """The households held out of all training: ``share`` of those with demographics, drawn
    with a fixed seed (the issue's 20%, what every table but the cold-start one is trained
    without). With ``folds`` > 1 the rest of them, shuffled with the same generator, are split
    into ``folds - 1`` further holdouts for the cold-start table alone."""
    demo = data.households.dropna(how="all").index.to_numpy()
    rng = np.random.default_rng(seed)
    first = np.sort(rng.choice(demo, size=int(round(share * len(demo))), replace=False))
    if folds <= 1:
        return [first]
    rest = rng.permutation(np.setdiff1d(demo, first))
    return [first, *(np.sort(part) for part in np.array_split(rest, folds - 1))]


def cold_start_fold(
    data: RetailData,
    holdout: np.ndarray,
    window: tuple[pd.Timestamp, pd.Timestamp],
    fit_point: pd.Timestamp,
    hybrid: HybridSettings,
    rankers: tuple[RankerSettings, RankerSettings],
    k: int,
) -> FoldResult:
    """``cold_start_recs`` and ``newcomer_recs`` for one more holdout fold, with its own LightFM
    models, histories and rankers, none of which has seen ``holdout`` (``rankers``: the
    new-household ranker's settings, then the next-basket one's)."""
    cutoff, _ = window
    warm = data.restrict(set(data.households.index) - set(holdout))
    p = warm.purchases
    before_cut = p[p["ts"] < cutoff]
    trainer = HybridTrainer(
        data.products, warm.households, before_cut["household"].unique(), hybrid
    )
    first = trainer.fit(p[p["ts"] < fit_point], progress=False)
    refreshed = trainer.refresh(before_cut, progress=False)
    points = basket_points(p, data.products, fit_point)
    hist_eval = build_history(p, data.products, cutoff)
    household_model = fit_household_ranker(data, warm, points, first, cutoff, rankers[0])
    basket_model = fit_basket_ranker(warm, points, first, cutoff, rankers[1])
    return FoldResult(
        cold_start_recs(data, holdout, household_model, hist_eval, refreshed, window, k),
        newcomer_recs(data, warm, holdout, refreshed, (basket_model, household_model), window, k),
    )


def cold_start_table(
    folds: list[tuple[dict, dict]], k: int, segments: pd.Series | None = None
) -> tuple[dict, dict]:
    """The cold-start table over the households of every fold (``cold_start_recs`` each; the
    folds' households are disjoint), with three references computed from the answers: the best
    single list in hindsight, and each household's list from the other households' baskets,
    all of them and those of its own segment (``segments``: the composition the shop serves
    by). The table, and each method's recall per household."""
    methods: dict[str, dict] = {}
    truth: dict[int, set[int]] = {}
    for recs, fold_truth in folds:
        truth.update(fold_truth)
        for name, lists in recs.items():
            methods.setdefault(name, {}).update(lists)
    if not truth:
        return {"households": 0}, {}
    hh = pd.Index(sorted(truth))
    methods["(reference) best single list in hindsight"] = hindsight_list(truth, hh, k)
    methods[OTHERS] = others_lists(truth, k)
    if segments is not None:
        methods[OTHERS_IN_SEGMENT] = others_lists(truth, k, segments)
    return _reports(methods, truth, {}, k)


def basket_points(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    fit_point: pd.Timestamp,
    first: History | None = None,
) -> dict[pd.Timestamp, History]:
    """The history at each point the basket rankers learn from (``first``: the one at
    ``fit_point``, when it is already built)."""
    return {
        fit_point + pd.Timedelta(days=d): (
            first
            if d == 0 and first is not None
            else build_history(purchases, products, fit_point + pd.Timedelta(days=d))
        )
        for d in BASKET_POINTS
    }


def _reports(methods: dict, truth: dict, history: dict, k: int) -> tuple[dict, dict]:
    """The table (``basket_report`` per method) and each method's recall per household, in the
    same order for every method (for ``metrics.paired_bootstrap``)."""
    table = {name: basket_report(recs, truth, history, k) for name, recs in methods.items()}
    return table, {name: household_recalls(recs, truth, k) for name, recs in methods.items()}


def _point_frames(
    points: dict[pd.Timestamp, History],
    lines: pd.DataFrame,
    cutoff: pd.Timestamp,
    frame_for: Callable[[pd.Timestamp, History, pd.Index], pd.DataFrame],
) -> list[pd.DataFrame]:
    """Labelled candidates for the next basket after each point (up to the cutoff) of the
    households in ``lines``; ``frame_for(point, history, households)`` builds them."""
    frames = []
    for i, (point, hist) in enumerate(points.items()):
        truth = _basket_labels(hist.households.index, lines, point, cutoff)
        if not truth:
            continue
        frame = frame_for(point, hist, pd.Index(sorted(truth)))
        frames.append(_queries(label(frame, _truth_frame(truth), "household"), i))
    return frames


def _basket_labels(households: pd.Index, lines: pd.DataFrame, start, stop) -> dict[int, set[int]]:
    """The first basket in [start, stop) of each of ``households`` that shops in it."""
    window = lines[(lines["ts"] >= start) & (lines["ts"] < stop)]
    return {h: b for h, b in first_baskets(window).items() if h in households}


def _queries(frame: pd.DataFrame, point: int) -> pd.DataFrame:
    """One LambdaRank query per household and training point (a household's basket after
    each point is a separate list to order)."""
    frame["qid"] = point * QID_STRIDE + frame["household"].to_numpy(dtype=np.int64)
    return frame


def _truth_frame(truth: dict[int, set[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(h, p) for h, items in truth.items() for p in items], columns=["household", "product"]
    )
