"""Offline evaluation on real grocery data: ``python -m recommender.evaluate``.

Every method in one run sees the same households, the same history (everything before the
cutoff) and the same test window (cutoff to ``--end``). The learned rankers are trained the way
they are used, on an earlier point (``cutoff - 8 weeks``) with labels from the 8 weeks after it,
so no model is fitted on anything after the cutoff. As in the live shop, the pair rankers read
what the shop sold up to each question; two rows keep their comparison with popularity even
(popularity over the same recent sales, and our ranker frozen at the cutoff). Definitions are
in the README ("Recommender evaluation").
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from recommender import pairs, training
from recommender.basket_eval import (
    FoldResult,
    basket_points,
    cold_start_fold,
    cold_start_recs,
    cold_start_table,
    fit_basket_ranker,
    fit_household_ranker,
    holdout_folds,
    next_basket_table,
)
from recommender.data import RetailData, from_completejourney, window_problem
from recommender.eval_tables import (
    FROZEN,
    LATELY,
    NEW_HOUSEHOLDS,
    OURS,
    POPULAR,
    fitted_on_answers,
    frequency_key,
    interval,
    pair_hits,
    pair_table,
    popular_in_type,
    top1_interval,
)
from recommender.history import build_history
from recommender.hybrid import HybridSettings, HybridTrainer
from recommender.machine import describe, rerun_with_portable_floats
from recommender.neighbours import Neighbours
from recommender.newcomers import OURS_NEWCOMERS, newcomer_recs, newcomer_table
from recommender.plots import write_report
from recommender.ranker import RankerSettings, fit_ranker, top_k
from recommender.sales import FrozenSales, RecentSales
from recommender.sections import SECTIONS, run_sections
from recommender.steps import Steps

TRAIN_WINDOW = training.TRAIN_WINDOW


@dataclass
class Options:
    cutoff: pd.Timestamp
    end: pd.Timestamp | None = None
    households: int | None = None
    holdout: float = 0.2
    seed: int = 42
    k: int = 10
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    #: Next basket: LambdaRank with one query per household and training point, the cold-pair
    #: settings (Recall@10 0.1828 against binary trees' 0.1741 on frames of the 2017-11-01
    #: cutoff; 0.1661 against 0.1560 at 2017-08-01).
    basket_ranker: RankerSettings = field(default_factory=lambda: replace(training.COLD_RANKER))
    household_ranker: RankerSettings = field(default_factory=RankerSettings)  # new households
    brand_ranker: RankerSettings = field(default_factory=lambda: replace(training.BRAND_RANKER))
    cold_ranker: RankerSettings = field(default_factory=lambda: replace(training.COLD_RANKER))
    #: Holdout folds for the cold-start table: 1 is the issue's single 20%; 5 covers every
    #: household with demographics (each fold with its own LightFM models and ranker).
    folds: int = 1
    progress: bool = True


def evaluate(data: RetailData, options: Options, console: Console | None = None) -> dict:
    console = console or Console(stderr=True, quiet=not options.progress)
    step = Steps(console)
    timings = step.seconds

    if options.households:
        data = data.restrict(np.sort(data.purchases["household"].unique())[: options.households])
    holdout, *other_folds = holdout_folds(data, options.holdout, options.seed, options.folds)
    warm = data.restrict(set(data.households.index) - set(holdout))
    cutoff, fit_point = options.cutoff, options.cutoff - TRAIN_WINDOW
    end = options.end or data.purchases["ts"].max() + pd.Timedelta(seconds=1)
    p = warm.purchases
    before_fit, before_cut = p[p["ts"] < fit_point], p[p["ts"] < cutoff]
    test = p[(p["ts"] >= cutoff) & (p["ts"] < end)]

    # As `dash train` does: one model fitted at the training point, then refreshed to the cutoff.
    trainer = HybridTrainer(
        data.products, warm.households, before_cut["household"].unique(), options.hybrid
    )
    hybrid_fit = step(
        "LightFM (training point)",
        lambda: trainer.fit(before_fit, progress=options.progress),
    )
    hybrid_eval = step(
        "LightFM (refreshed to the cutoff)",
        lambda: trainer.refresh(before_cut, progress=options.progress),
    )
    hist_fit = step("history (training point)", lambda: build_history(p, data.products, fit_point))
    hist_eval = step("history (cutoff)", lambda: build_history(p, data.products, cutoff))
    prices = pairs.week_prices(data.purchases)
    sales = RecentSales.from_purchases(data.purchases, data.products)

    def eval_frames(frozen: bool = False):
        """Live, the rankers read what the shop sold up to each question; ``frozen``, only
        what it had sold by the cutoff, as the baselines do."""
        warm_q, cold_q, truth = pairs.pair_queries(hist_eval, test, data.products)
        similar = Neighbours.from_purchases(before_cut, data.products)
        known = data.purchases[data.purchases["ts"] < cutoff] if frozen else data.purchases
        week_prices = pairs.week_prices(known) if frozen else prices
        recent = FrozenSales(sales, cutoff) if frozen else sales
        frames = [
            (
                q,
                training.pair_frame(
                    warm,
                    hist_eval,
                    q,
                    truth,
                    hybrid_eval,
                    week_prices,
                    sales=recent,
                    neighbours=nb,
                    **counts,
                ),
            )
            for q, counts, nb in (
                (warm_q, training.WARM_CANDIDATES, None),
                (cold_q, training.COLD_CANDIDATES, similar),
            )
        ]
        return frames, truth

    fit_warm, fit_cold = step(
        "pairs (training windows)",
        lambda: training.training_frames(warm, fit_point, cutoff, hybrid_fit, prices, sales=sales),
    )
    (ev_warm, ev_cold), truth = step("pairs (cutoff)", eval_frames)
    (fz_warm, fz_cold), _ = step("pairs (cutoff, frozen)", lambda: eval_frames(frozen=True))
    warm_ranker = step(
        "brand ranker",
        lambda: fit_ranker(fit_warm, training.BRAND_FEATURES, options.brand_ranker),
    )
    cold_ranker = step(
        "cold-pair ranker",
        lambda: fit_ranker(fit_cold, training.COLD_PAIR_FEATURES, options.cold_ranker),
    )
    truth_sets = {int(q): set(g) for q, g in truth.groupby("qid")["product"]}

    warm_hits = pair_hits(
        ev_warm,
        truth_sets,
        {
            OURS: warm_ranker.score(ev_warm[1]),
            FROZEN: top_k(fz_warm[1], warm_ranker.score(fz_warm[1]), "qid", 3),
            POPULAR: popular_in_type(hist_eval, ev_warm[0]),
            LATELY: sales.top_at(ev_warm[0], 3),
            "household most frequent": frequency_key(ev_warm[1]),
            "household most recent": -ev_warm[1]["own_age"].to_numpy()
            + 1e-3 * ev_warm[1]["share_all"],
            "LightFM alone": "lfm_score",
        },
    )
    references = step(
        "cold-pair ranker on the answers (reference)",
        lambda: fitted_on_answers(
            ev_cold[1], training.COLD_PAIR_FEATURES, options.cold_ranker, options.seed
        ),
    )
    cold_hits = pair_hits(
        ev_cold,
        truth_sets,
        {
            OURS: cold_ranker.score(ev_cold[1]),
            FROZEN: top_k(fz_cold[1], cold_ranker.score(fz_cold[1]), "qid", 3),
            POPULAR: popular_in_type(hist_eval, ev_cold[0]),
            LATELY: sales.top_at(ev_cold[0], 3),
            "LightFM alone": "lfm_score",
            **references,
        },
    )
    brand, cold = pair_table(ev_warm, warm_hits), pair_table(ev_cold, cold_hits)
    intervals = {
        "brand_resolution": top1_interval(warm_hits, "household most frequent", options.seed),
        "cold_pairs": top1_interval(cold_hits, POPULAR, options.seed),
        "cold_pairs_lately": top1_interval(cold_hits, LATELY, options.seed),
        "cold_pairs_frozen": top1_interval(cold_hits, POPULAR, options.seed, ours=FROZEN),
    }

    points = step(
        "history (basket points)",
        lambda: basket_points(p, data.products, fit_point, first=hist_fit),
    )
    basket_model = step(
        "next-basket ranker",
        lambda: fit_basket_ranker(warm, points, hybrid_fit, cutoff, options.basket_ranker),
    )
    basket, basket_recalls = step(
        "next basket",
        lambda: next_basket_table(
            warm, basket_model, hist_eval, hybrid_eval, cutoff, test, options.k
        ),
    )
    intervals["next_basket"] = interval(basket_recalls, OURS, "TIFU-KNN", "recall", options.seed)
    household_model = step(
        "new-household ranker",
        lambda: fit_household_ranker(
            data, warm, points, hybrid_fit, cutoff, options.household_ranker
        ),
    )
    window = (cutoff, end)
    fold = FoldResult(
        step(
            "cold-start households",
            lambda: cold_start_recs(
                data, holdout, household_model, hist_eval, hybrid_eval, window, options.k
            ),
        ),
        step(
            "new households as they shop",
            lambda: newcomer_recs(
                data, warm, holdout, hybrid_eval, (basket_model, household_model), window, options.k
            ),
        ),
    )
    folds = [fold]
    for i, held in enumerate(other_folds, start=2):
        folds.append(
            step(
                f"cold-start households, fold {i} of {len(other_folds) + 1}",
                lambda held=held: cold_start_fold(
                    data,
                    held,
                    window,
                    fit_point,
                    options.hybrid,
                    (options.household_ranker, options.basket_ranker),
                    options.k,
                ),
            )
        )
    tables = _household_tables(folds, data.households.get("household_comp"), options, intervals)
    return {
        "dataset": {
            "cutoff": str(cutoff.date()),
            "end": str(pd.Timestamp(end).date()),
            "households": int(data.purchases["household"].nunique()),
            "held_out_households": len(holdout),
            "training_point": str(fit_point.date()),
            "lines_before_cutoff": int(len(before_cut)),
            "lines_in_test": int(len(test)),
        },
        "brand_resolution": brand,
        "cold_pairs": cold,
        "next_basket": basket,
        **tables,
        "intervals": intervals,
        "seconds": timings,
        "machine": describe({"training point": hybrid_fit, "cutoff": hybrid_eval}),
    }


def _household_tables(
    folds: list[FoldResult], composition: pd.Series | None, options: Options, intervals: dict
) -> dict:
    """The new-household tables: the first basket (demographics only) and the baskets as they
    shop, for the issue's holdout and, with more folds, for all of them (intervals added to
    ``intervals``)."""
    tables = {}
    for suffix, part in (("", folds[:1]), ("_all_folds", folds if len(folds) > 1 else [])):
        if not part:
            continue
        table, recalls = cold_start_table([f.first_basket for f in part], options.k, composition)
        tables[f"cold_start_households{suffix}"] = table
        intervals[f"cold_start_households{suffix}"] = interval(
            recalls, NEW_HOUSEHOLDS, "popularity", "recall", options.seed
        )
        shopping = newcomer_table([f.newcomers for f in part], options.k, seed=options.seed)
        for method, found in shopping.pop("intervals", {}).items():
            name = "as_they_shop" if method == OURS_NEWCOMERS else "demographics_only"
            intervals[f"new_households_{name}{suffix}"] = found
        tables[f"new_households_as_they_shop{suffix}"] = shopping
    return tables


def main(argv: list[str] | None = None, *, rerun: bool = False) -> int:
    """``rerun``: once the options are checked, replace this process with one whose floats are
    the same on every machine (`recommender.machine`); for command-line entry points only."""
    parser = argparse.ArgumentParser(prog="python -m recommender.evaluate", description=__doc__)
    parser.add_argument("--dataset", choices=["completejourney"], default="completejourney")
    parser.add_argument("--cutoff", default="2017-11-01")
    parser.add_argument("--end", default=None)
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=HybridSettings.epochs)
    parser.add_argument(
        "--holdout-folds",
        type=int,
        default=1,
        help="cold-start households over this many holdout folds (5: every household with "
        "demographics; each extra fold fits its own LightFM models, about a minute)",
    )
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--in-turn",
        action="store_true",
        help="run the sections one after the other (less memory; by default on Linux the "
        "timing and offer sections run in a second process beside the recommender tables)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {', '.join(SECTIONS)} (default: all)",
    )
    args = parser.parse_args(argv)
    if args.holdout_folds < 1:
        parser.error("--holdout-folds must be at least 1")
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    try:
        cutoff = pd.Timestamp(args.cutoff)
        end = pd.Timestamp(args.end) if args.end else None
    except ValueError as exc:
        parser.error(f"--cutoff and --end take dates such as 2017-11-01: {exc}")
    if end is not None and end <= cutoff:
        parser.error(f"--end ({end.date()}) must come after --cutoff ({cutoff.date()})")
    if rerun:
        rerun_with_portable_floats("recommender.evaluate", sys.argv[1:] if argv is None else argv)
    options = Options(
        cutoff=cutoff,
        end=end,
        households=args.households,
        hybrid=HybridSettings(epochs=args.epochs),
        folds=args.holdout_folds,
        progress=not args.quiet,
    )
    console = Console(stderr=True, quiet=args.quiet)
    with console.status("loading Complete Journey"):
        data = from_completejourney()
    problem = window_problem(data.purchases["ts"], cutoff, end, TRAIN_WINDOW)
    if problem:
        parser.error(problem)
    report = run_sections(
        data, options, sections, console, side_by_side=False if args.in_turn else None
    )
    write_report(report, args.json, args.plots)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(rerun=True))
