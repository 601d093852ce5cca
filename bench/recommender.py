"""The recommender, time-axis and offer evaluation on Complete Journey (cutoff 2017-11-01), as
a `make bench` section: writes the full report (bench/recommender-completejourney.json) and its
plots (docs/recommender/, shown on the operator dashboard), and returns the headline figures."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from recommender.data import from_completejourney
from recommender.eval_tables import FROZEN, LATELY, ON_ANSWERS, OURS
from recommender.evaluate import Options
from recommender.offers_eval import NO_CALENDAR
from recommender.plots import write_report
from recommender.sections import SECTIONS, run_sections
from shop.config import PROJECT_ROOT

REPORT = PROJECT_ROOT / "bench" / "recommender-completejourney.json"
PLOTS = PROJECT_ROOT / "docs" / "recommender"
CUTOFF = "2017-11-01"


def headline(report: dict) -> dict:
    """The figures the issues set targets for, each beside its best baseline."""
    out: dict = {"cutoff": report.get("cutoff"), "report": str(REPORT.relative_to(PROJECT_ROOT))}
    brand = report.get("brand_resolution")
    if brand:
        out["brand_top1"] = brand["hybrid ranker (ours)"]["top1"]
        out["brand_top1_frozen"] = brand[FROZEN]["top1"]
        out["brand_top1_best_baseline"] = max(
            v["top1"] for k, v in brand.items() if isinstance(v, dict) and k not in (OURS, FROZEN)
        )
    basket = report.get("next_basket")
    if basket:
        out["next_basket_recall10"] = basket["hybrid ranker (ours)"]["recall"]
        out["next_basket_recall10_best_baseline"] = max(
            v["recall"] for k, v in basket.items() if "(ours)" not in k
        )
    # The targets set as "x% above popularity", with the bootstrap's 95% interval.
    for table, key in (
        ("cold_pairs", "cold_pairs_top1_vs_popular_in_type"),
        # the even comparisons: popularity over the same recent sales; ours frozen at the cutoff
        ("cold_pairs_lately", "cold_pairs_top1_vs_popular_in_type_last_28_days"),
        ("cold_pairs_frozen", "cold_pairs_top1_frozen_vs_popular_in_type"),
        ("cold_start_households", "cold_start_recall10_vs_popularity"),
        ("new_households_as_they_shop", "new_households_recall10_vs_popularity"),
    ):
        interval = (report.get("intervals") or {}).get(table)
        if interval:
            out[key], out[f"{key}_95"] = interval["ratio"], interval["ratio_95"]
    cold = report.get("cold_pairs") or {}
    if ON_ANSWERS in cold and cold.get(LATELY, {}).get("top1"):
        # how far the features go with training data no shop has: the test window's answers
        out["cold_pairs_top1_fitted_on_answers_vs_last_28_days"] = round(
            cold[ON_ANSWERS]["top1"] / cold[LATELY]["top1"], 3
        )
    timing = (report.get("repurchase_timing") or {}).get("methods")
    if timing:
        out["timing_auc14"] = timing["timing model (ours)"]["auc_14"]
        out["timing_mae_days"] = timing["timing model (ours)"]["mae_days"]
    offers = (report.get("offers") or {}).get("methods")
    if offers:
        out["offer_hit_rate_vs_popularity"] = offers["offer engine (ours, free)"].get(
            "ratio_to_popularity"
        )
        blind = offers.get(NO_CALENDAR)  # the even comparison: no baseline reads the calendar
        if blind:
            out["offer_hit_rate_vs_popularity_without_calendar"] = blind["ratio_to_popularity"]
    out["seconds"] = {k: round(sum(v.values()), 1) for k, v in report.get("seconds", {}).items()}
    return out


def run(households: int | None = None, epochs: int | None = None) -> dict:
    options = Options(cutoff=pd.Timestamp(CUTOFF), households=households)
    if epochs:
        options.hybrid.epochs = epochs
    console = Console(stderr=True)
    with console.status("loading Complete Journey"):
        data = from_completejourney()
    report = run_sections(data, options, list(SECTIONS), console)
    if households is None:  # only the full run replaces the committed report and plots
        write_report(report, REPORT, PLOTS)
    return headline(report)
