"""Repurchase timing and demand forecast on real data: ``python -m recommender.timing_eval``.

Every method sees the same households, the history before the cutoff and the test window from
the cutoff to ``--end`` (default: the end of the data). The timing model is trained on earlier
points (``TimingSettings.offsets`` days before the cutoff, plus a few older ones read for the
type label rates) with labels that end at the cutoff,
and the constant baseline is chosen on the most recent of those points that sees a whole test
window; nothing after the cutoff reaches any method. ``DEFINITIONS`` below is written into the
report so the numbers explain themselves.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.metrics import brier_score_loss, roc_auc_score

from recommender import forecast as fc
from recommender.data import RetailData, from_completejourney
from recommender.steps import Steps
from recommender.timing import (
    TimingModel,
    TimingSettings,
    lognormal_within,
    next_purchases,
    rule_predict,
    timing_features,
    training_frame,
)

MIN_SPREAD = 0.25  # floor of a pair's own log-interval spread in the interval baselines
FORECAST_DAYS = 7
MAX_UNITS_MEDIAN = 20  # types whose median line quantity is larger are sold by volume (fuel)
DEFINITIONS = {
    "pairs": "(household, product_type) with purchases on >= 3 distinct days before the cutoff",
    "labels": "bought within d days: a purchase on day 0..d-1 after the cutoff (day 0 = the "
    "cutoff's day); mae_days: |predicted - actual days to the first purchase on or after the "
    "cutoff| over the pairs bought again before the end of the data",
    "purchase rate": "rate = purchase days / days from the household's first purchase of "
    "anything to the cutoff (pair span: from the pair's own first purchase); p = 1 - exp(-rate "
    "d); days = the exponential median wait ln 2 / rate, capped at the test window",
    "interval baselines": "next = last purchase + interval (household mean or median of its "
    "gaps, or the type's pooled median gap over all households); when that is before the "
    "cutoff the cycle keeps its phase: next = last + k intervals, the first on or after the "
    "cutoff (measured better than 'due now' or 'one interval from the cutoff' for household "
    "intervals). p = lognormal hazard: P(gap <= days_since + d | gap > days_since) with median "
    "= interval and log sd = the pair's own log-gap sd (at least 0.25)",
    "days since last / usual interval": "days_since / household median interval, as a score "
    "(AUC only: not a probability, so no Brier)",
    "constant": "the median wait (days) among pairs bought again within the window length, at "
    "the most recent training point with a whole window before the cutoff; its probability is "
    "the share bought within d days there (AUC 0.5)",
    "timing model": "gradient-boosted trees on timing_features at earlier points; days: wait "
    "regressed on pairs bought again within the test window length, loss chosen on the most "
    "recent such point",
    "demand_forecast": "units per (store, product_type, day) for 7 days from the cutoff; store = "
    "the store of the transaction (actuals, baselines) or the household's most frequent store "
    "(ours); types sold by volume (median quantity per line > 20: gasoline) left out for all. "
    "WAPE = sum |f - a| / sum a over cells with an actual or a forecast",
}


def evaluate_timing(
    data: RetailData,
    cutoff: pd.Timestamp,
    end: pd.Timestamp | None = None,
    households: int | Iterable[int] | None = None,
    progress: bool = True,
    settings: TimingSettings | None = None,
    console: Console | None = None,
) -> dict:
    """The report: ``repurchase_timing``, ``demand_forecast``, ``seconds``. ``households``: the
    first N household ids, or the ids themselves."""
    console = console or Console(stderr=True, quiet=not progress)
    step = Steps(console)
    seconds = step.seconds

    if households is not None:
        ids = data.purchases["household"].unique()
        keep = np.sort(ids)[:households] if isinstance(households, int) else list(households)
        data = data.restrict(keep)
    cutoff = pd.Timestamp(cutoff)
    p = data.purchases
    end = pd.Timestamp(end) if end is not None else p["ts"].max() + pd.Timedelta(seconds=1)
    horizon = int(np.ceil((end.normalize() - cutoff.normalize()).days + 1))
    # The evaluation runs one step at a time, so the trees may use every core: the same model
    # (validation MAE equal to the last digit) in 97 s instead of 145 s on 2 cores. ``dash train``
    # keeps one thread: its fits run beside LightFM's.
    base = settings or TimingSettings(threads=None)
    settings = TimingSettings(**{**vars(base), "horizon": horizon})
    before = p[p["ts"] < cutoff]

    def test_pairs() -> pd.DataFrame:
        feats = timing_features(before, data.products, cutoff)
        labels = next_purchases(p[p["ts"] < end], data.products, cutoff, end)
        return feats.merge(labels, on=["household", "key"], how="left")

    pairs = step("features at the cutoff", test_pairs)
    frame = step(
        "features at the training points",
        lambda: training_frame(before, data.products, cutoff, settings.points),
    )
    model = step("timing model", lambda: TimingModel(settings).fit_frame(frame))
    ours = step("predict", lambda: model.predict(pairs))
    timing = step("timing metrics", lambda: _timing_report(pairs, frame, model, ours, horizon))
    demand = step(
        "demand forecast", lambda: _demand_report(data, before, cutoff, end, ours, settings)
    )
    return {
        "dataset": {
            "cutoff": str(cutoff.date()),
            "end": str(end.date()),
            "households": int(p["household"].nunique()),
            "lines_before_cutoff": int(len(before)),
            "test_window_days": horizon,
        },
        "repurchase_timing": timing,
        "demand_forecast": demand,
        "seconds": seconds,
    }


def _timing_report(pairs, frame, model: TimingModel, ours, horizon: int) -> dict:
    frame = frame[frame["window"].isin(model.settings.offsets)]
    earlier = frame[frame["window"] == frame.loc[frame["window"] >= horizon, "window"].min()]
    waits = earlier["next_days"][earlier["next_days"] < horizon]
    constant = float(np.round(waits.median())) if len(waits) else 14.0
    rule = rule_predict(pairs, horizon)
    methods = {
        "timing model (ours)": {7: ours["p7"], 14: ours["p14"], "days": ours["days"]},
        "shrunk-interval rule (ours, fallback)": {
            7: rule["p7"],
            14: rule["p14"],
            "days": rule["days"],
        },
    }
    for name, col in (("household span", "rate"), ("pair span", "rate_pair")):
        rate = pairs[col].to_numpy()
        methods[f"purchase rate ({name})"] = {
            7: 1 - np.exp(-rate * 7),
            14: 1 - np.exp(-rate * 14),
            "days": np.minimum(np.log(2) / rate, horizon),
        }
    sd = np.maximum(pairs["log_sd"].fillna(0.0).to_numpy(), MIN_SPREAD)
    for name, col in (
        ("household mean interval", "mean_interval"),
        ("household median interval", "median_interval"),
        ("type pooled median interval", "key_median_interval"),
    ):
        interval = pairs[col].clip(lower=1.0).to_numpy()
        log_i, since = np.log(interval), pairs["days_since"].to_numpy()
        due = interval - since
        wait = np.where(due >= 0, due, np.ceil(-due / interval) * interval + due)
        methods[name] = {
            7: lognormal_within(since, log_i, sd, 7),
            14: lognormal_within(since, log_i, sd, 14),
            # capped at the test window like every other method's days (the MAE only counts
            # waits inside it): no method gains from knowing where the window ends
            "days": np.minimum(wait, horizon),
        }
    methods["days since last / usual interval"] = {
        7: pairs["ratio_median"].to_numpy(),
        14: pairs["ratio_median"].to_numpy(),
        "score_only": True,
    }
    share = {d: float((earlier["next_days"] < d).mean()) if len(earlier) else 0.0 for d in (7, 14)}
    methods[f"constant {constant:g} days (earlier window)"] = {
        7: np.full(len(pairs), share[7]),
        14: np.full(len(pairs), share[14]),
        "days": np.full(len(pairs), constant),
    }

    bought = pairs["next_days"].notna().to_numpy()
    actual = pairs["next_days"].to_numpy()
    table = {}
    for name, m in methods.items():
        row = {}
        for d in (7, 14):
            y = actual < d  # NaN (not bought) compares False
            row[f"auc_{d}"] = _round(roc_auc_score(y, m[d])) if 0 < y.sum() < len(y) else None
            brier = None if m.get("score_only") else brier_score_loss(y, np.clip(m[d], 0, 1))
            row[f"brier_{d}"] = _round(brier)
        days = m.get("days")
        row["mae_days"] = (
            _round(np.abs(np.asarray(days)[bought] - actual[bought]).mean(), 2)
            if days is not None and bought.any()
            else None
        )
        table[name] = row
    rng = np.random.default_rng(0)
    sample = rng.choice(np.flatnonzero(bought), size=min(3000, int(bought.sum())), replace=False)
    return {
        "pairs": int(len(pairs)),
        "bought_within_7": _round((actual < 7).mean()),
        "bought_within_14": _round((actual < 14).mean()),
        "bought_in_window": _round(bought.mean()),
        "constant_days": constant,
        "days_loss": model.days_loss,
        "days_loss_validation_mae": {k: _round(v, 3) for k, v in model.validation.items()},
        "interval_coverage_20_80": _round(
            ((ours["low"] <= actual) & (actual <= ours["high"]))[bought].mean()
        ),
        "methods": table,
        "calibration_14": _calibration(ours["p14"].to_numpy(), actual < 14),
        "scatter": {
            "predicted": [round(float(v), 1) for v in ours["days"].to_numpy()[sample]],
            "actual": [int(v) for v in actual[sample]],
        },
        "definitions": DEFINITIONS,
    }


def _calibration(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    return [
        {"predicted": _round(p[which == b].mean()), "observed": _round(y[which == b].mean())}
        for b in range(bins)
        if (which == b).any()
    ]


def _demand_report(data, before, cutoff, end, predictions, settings) -> dict:
    products = data.products
    kinds = products["type"].reindex(data.purchases["product"]).to_numpy()
    median = data.purchases.groupby(kinds)["quantity"].median()
    counted = set(median.index[median <= MAX_UNITS_MEDIAN])
    lines = data.purchases[pd.Series(kinds).isin(counted).to_numpy()]
    history = lines[lines["ts"] < cutoff]
    stores = (
        fc.main_store(history)
        if "store" in lines.columns
        else pd.Series(0, index=pd.Index(lines["household"].unique()))
    )
    stop = min(cutoff.normalize() + pd.Timedelta(days=FORECAST_DAYS), end)
    actual = fc.daily_units(lines, products, stores, cutoff, stop)
    past = fc.daily_units(history, products, stores, cutoff - pd.Timedelta(days=28), cutoff)
    kept = predictions[predictions["key"].isin(counted)]
    ours = fc.forecast_units(history, products, stores, kept, cutoff)
    moving = fc.moving_average(past, cutoff)
    methods = {
        "cycles x units (ours, expected)": ours,
        "cycles + 4-week mean (ours, blend)": fc.blend([ours, moving]),
        "cycles x units (ours, cell median)": fc.forecast_units(
            history, products, stores, kept, cutoff, point="median"
        ),
        "same weekday last week": fc.same_weekday_last_week(past, cutoff),
        "same weekday, 4-week mean": moving,
        "daily mean of the last 28 days": fc.moving_average(past, cutoff, weekday=False),
        "zero (reference)": actual.iloc[:0],
    }
    table, cells = {}, 0
    for name, f in methods.items():
        score, n = fc.wape(f, actual)
        by_type, _ = fc.wape(f.assign(store=0), actual.assign(store=0))
        table[name] = {"wape": _round(score), "wape_type_day_all_stores": _round(by_type)}
        cells = max(cells, n)
    daily = actual.groupby("day")["units"].sum().rename("actual").to_frame()
    for name, f in methods.items():
        daily[name] = f.groupby("day")["units"].sum()
    daily = daily.fillna(0.0).reset_index()
    daily["day"] = daily["day"].dt.strftime("%Y-%m-%d")
    return {
        "cells": cells,
        "stores": int(actual["store"].nunique()),
        "types": int(actual["type"].nunique()),
        "actual_units": _round(actual["units"].sum(), 1),
        "methods": table,
        "daily": daily.round(1).to_dict(orient="records"),
    }


def _round(value, digits: int = 4):
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def plot_timing(report: dict, directory: Path) -> list[Path]:
    """Predicted vs actual days to the next purchase (ours), p14 calibration, AUC by method and
    forecast vs actual units per day: PNGs in ``directory``."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no screen on servers
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    timing, demand = report["repurchase_timing"], report["demand_forecast"]
    cutoff = report["dataset"]["cutoff"]
    written = []

    def save(fig, name: str) -> None:
        fig.tight_layout()
        path = directory / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    pred, act = timing["scatter"]["predicted"], timing["scatter"]["actual"]
    ax.hexbin(pred, act, gridsize=30, mincnt=1, cmap="viridis")
    top = max([*pred, *act, 1])
    ax.plot([0, top], [0, top], color="white", lw=1)
    ax.set(xlabel="predicted days to next purchase", ylabel="actual days")
    ax.set_title(f"Timing model, pairs bought again (cutoff {cutoff})", fontsize=9)
    save(fig, "timing_days")

    fig, ax = plt.subplots(figsize=(5, 5))
    cal = timing["calibration_14"]
    ax.plot([c["predicted"] for c in cal], [c["observed"] for c in cal], "o-")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set(xlabel="predicted p14 (decile mean)", ylabel="share bought within 14 days")
    save(fig, "timing_calibration")

    methods = timing["methods"]
    names = list(methods)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, d in enumerate((7, 14)):
        values = [methods[m][f"auc_{d}"] or 0.0 for m in names]
        bars = ax.bar([x + 0.4 * i for x in range(len(names))], values, 0.4, label=f"AUC {d} d")
        ax.bar_label(bars, fmt="%.3f", fontsize=6)
    ax.set_xticks([x + 0.2 for x in range(len(names))])
    ax.set_xticklabels(names, rotation=25, ha="right", fontsize=7)
    ax.set_ylim(0.3, 0.85)
    ax.legend(fontsize=8)
    ax.set_title(f"Repurchase within 7 / 14 days, cutoff {cutoff}")
    save(fig, "timing_auc")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    daily = pd.DataFrame(demand["daily"])
    for col in daily.columns.drop("day"):
        if col != "zero (reference)":
            ax.plot(daily["day"], daily[col], "o-" if col == "actual" else "--", label=col)
    ax.set(ylabel="units (all stores and types)")
    ax.tick_params(axis="x", labelrotation=25, labelsize=7)
    ax.legend(fontsize=7)
    ax.set_title("Forecast vs actual units per day")
    save(fig, "forecast_daily")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.timing_eval", description=__doc__)
    parser.add_argument("--cutoff", default="2017-11-01")
    parser.add_argument("--end", default=None)
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=True, quiet=args.quiet)
    with console.status("loading Complete Journey"):
        data = from_completejourney()
    report = evaluate_timing(
        data,
        pd.Timestamp(args.cutoff),
        pd.Timestamp(args.end) if args.end else None,
        args.households,
        progress=not args.quiet,
        settings=TimingSettings(random_state=args.seed, threads=None),
        console=console,
    )
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.plots:
        plot_timing(report, args.plots)
    summary = {k: v for k, v in report["repurchase_timing"].items() if k != "scatter"}
    print(json.dumps({**report, "repurchase_timing": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
