"""Offline benchmark of personal offers: ``python -m recommender.offers_eval``.

For each household, 5 offers chosen at the cutoff among products it did not buy in the 8 weeks
before; the hit rate is the share of households that buy at least one of them within the 4 weeks
after. Households evaluated: every household with purchases both before the cutoff and in those
4 weeks (a household that does not shop then cannot take any offer, whatever it is given).
Offerable: products sold in the 4 weeks before the cutoff, for every method.

The learned parts never see the test window: the offer rankers learn from the three 4-week
windows before the cutoff (history before each window, labels in it; the last window ends at the
cutoff), with LightFM scores from a fit on the history before the first window; the LightFM
that scores the test candidates is fitted on the history before the cutoff.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from recommender import offers
from recommender.data import RetailData, from_completejourney
from recommender.hybrid import HybridSettings, train_hybrid
from recommender.steps import Steps

N_OFFERS = 5
WINDOWS = 3  # 4-week training windows before the cutoff
DEFINITIONS = {
    "households": "purchases both before the cutoff and within the 4 weeks after it",
    "offerable": "products sold in the 4 weeks before the cutoff",
    "excluded": "products the household bought in the 8 weeks before the cutoff",
    "hit_rate": "share of households buying at least one of their 5 offers within 4 weeks",
    "hit_rate_winback": "share of households buying at least one offered product they had "
    "bought before the cutoff",
    "hit_rate_discovery": "share of households buying at least one offered product they had "
    "never bought before the cutoff",
    "discovery_share_of_hits": "share of the offers taken that were discoveries",
    "discovery_share_of_offers": "share of the offers made that were discoveries",
    "popularity": "most baskets in the 4 weeks before the cutoff",
    "random": "uniform among the offerable products (seed 42)",
    "lapsed favourites": "products bought in most baskets before, not in the last 8 weeks",
    "promotions": "the store's display and mailer calendar for the offer weeks (the week of the "
    "cutoff and the next three, any store) is a feature of our rankers: displays and mailers "
    "are planned ahead, so the store knows them when it chooses offers; no baseline uses it, and "
    "the engine is also reported without it",
    "training": "rankers learn from the three 4-week windows before the cutoff (history before "
    "each window, labels in it: the last ends at the cutoff); the LightFM scores they learn from "
    "come from a fit before the first window, the test candidates' from a fit before the cutoff",
}


NO_CALENDAR = "offer engine (ours, free), without the promotion calendar"


def _hits(picks: pd.DataFrame, truth: pd.DataFrame, households: pd.Index) -> dict:
    """Hit rates of ``picks`` (household, product, kind) against the ``truth`` pairs."""
    n = max(len(households), 1)
    picks = picks[picks["household"].isin(households)]
    taken = picks.merge(truth, on=["household", "product"])
    new = taken["kind"] == "discovery"
    return {
        "hit_rate": round(taken["household"].nunique() / n, 4),
        "hit_rate_winback": round(taken.loc[~new, "household"].nunique() / n, 4),
        "hit_rate_discovery": round(taken.loc[new, "household"].nunique() / n, 4),
        "discovery_share_of_hits": round(float(new.mean()), 4) if len(taken) else 0.0,
        "discovery_share_of_offers": round(float((picks["kind"] == "discovery").mean()), 4),
        "offers_per_household": round(len(picks) / n, 3),
    }


def _by_order(sig: offers.Signals, households: pd.Index, order: np.ndarray, skip) -> pd.DataFrame:
    """The first ``N_OFFERS`` products of ``order`` (column positions) for each household,
    skipping those where the household's row of ``skip`` (a sparse matrix) is set."""
    rows = []
    for h in households:
        r = sig.rows.get_loc(h)
        banned = set(skip[r].indices)
        ever = set(sig.ever[r].indices)
        chosen = [c for c in order[: N_OFFERS + len(banned)] if c not in banned][:N_OFFERS]
        rows += [(h, sig.cols[c], "winback" if c in ever else "discovery") for c in chosen]
    return pd.DataFrame(rows, columns=["household", "product", "kind"])


def _random(sig: offers.Signals, households: pd.Index, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for h in households:
        order = rng.permutation(len(sig.cols))
        rows.append(_by_order(sig, pd.Index([h]), order, sig.recent))
    return pd.concat(rows, ignore_index=True)


def _lapsed(sig: offers.Signals, households: pd.Index) -> pd.DataFrame:
    own = sig.own[
        sig.own["household"].isin(households)
        & sig.own["product"].isin(sig.cols)
        & (sig.own["own_last_age"] > offers.RECENT.days)
    ]
    own = own.sort_values(["household", "own_baskets", "own_last_age", "product"],
                          ascending=[True, False, True, True])  # fmt: skip
    return own.groupby("household").head(N_OFFERS)[["household", "product"]].assign(kind="winback")


def _top_by(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    f = frame.sort_values(["household", column, "product"], ascending=[True, False, True])
    f = f[np.isfinite(f[column].to_numpy(float))]
    out = f.groupby("household").head(N_OFFERS)
    kind = np.where(out["is_winback"] > 0, "winback", "discovery")
    return out[["household", "product"]].assign(kind=kind)


def evaluate_offers(
    data: RetailData,
    cutoff: pd.Timestamp,
    households: int | None = None,
    progress: bool = True,
    hybrid: HybridSettings | None = None,
    *,
    lightfm: bool = True,
    console: Console | None = None,
) -> dict:
    """The offers benchmark; ``hybrid`` sets both LightFM fits, ``lightfm=False`` skips them."""
    console = console or Console(stderr=True, quiet=not progress)
    step = Steps(console)
    timings = step.seconds

    if households:
        data = data.restrict(np.sort(data.purchases["household"].unique())[:households])
    cutoff = pd.Timestamp(cutoff)
    p, items, demo = data.purchases, data.products, data.households

    def lfm(before: pd.Timestamp):
        if not lightfm:
            return None
        return train_hybrid(p[p["ts"] < before], items, demo, hybrid, progress=progress)

    earliest = cutoff - WINDOWS * offers.HORIZON
    hybrid_fit = step("LightFM (training points)", lambda: lfm(earliest))

    def train(rows: pd.DataFrame | None) -> offers.OfferModel:
        model = offers.fit_offer_model(rows)
        if model is None:
            raise ValueError("too little history before the cutoff to train the offer rankers")
        return model

    rows = step(
        "offer candidates (training points)",
        lambda: offers.training_frames(
            p[p["ts"] < cutoff], items, demo, earliest, hybrid_fit, WINDOWS, data.promotions
        ),
    )
    model = step("offer rankers", lambda: train(rows))
    hybrid_eval = step("LightFM (cutoff)", lambda: lfm(cutoff))
    truth = offers.bought_after(p, cutoff)
    sig = step(
        "signals (cutoff)",
        lambda: offers.signals(p, items, demo, cutoff, hybrid_eval, promotions=data.promotions),
    )
    evaluated = sig.rows.intersection(pd.Index(truth["household"].unique()))
    frame = step(
        "offer candidates (cutoff)",
        lambda: offers.offer_features(sig, offers.candidates(sig, evaluated)),
    )
    covered = frame.merge(truth, on=["household", "product"])

    pop_order = np.argsort(-sig.items["pop_4w"].to_numpy(), kind="stable")
    new_frame = frame[frame["is_winback"] == 0]
    picks = step(
        "choosing offers",
        lambda: {
            "popularity": _by_order(sig, evaluated, pop_order, sig.recent),
            "random": _random(sig, evaluated),
            "lapsed favourites": _lapsed(sig, evaluated),
            "offer engine (ours, 1 discovery slot)": offers.choose(frame, model, N_OFFERS, 1),
            "offer engine (ours, free)": offers.choose(frame, model, N_OFFERS, 0),
            "rules (no model)": offers.choose(frame, None, N_OFFERS, 1),
        },
    )
    discovery_picks = {
        "popularity among never-bought": _by_order(sig, evaluated, pop_order, sig.ever),
        "item co-purchase alone": _top_by(new_frame, "item_cf"),
        "similar households alone": _top_by(new_frame, "neigh"),
        "discovery list (ours)": offers.choose(new_frame, model, N_OFFERS, N_OFFERS),
    }
    if lightfm:
        discovery_picks["LightFM hybrid alone"] = _top_by(new_frame, "lfm")
    if data.promotions is not None:
        # The even comparison: no baseline reads the promotion calendar, so the engine also
        # runs without it (trained and choosing with no calendar at all).
        # The calendar reaches the rows through two columns only: the same rows without them.
        blind = step(
            "offer rankers without the calendar",
            lambda: train(offers.without_calendar(rows)),
        )
        picks[NO_CALENDAR] = offers.choose(offers.without_calendar(frame), blind, N_OFFERS, 0)

    def table(chosen: dict, base: str) -> dict:
        out = {name: _hits(f, truth, evaluated) for name, f in chosen.items()}
        ref = out[base]["hit_rate"]
        for row in out.values():
            row["ratio_to_" + base.replace(" ", "_")] = (
                round(row["hit_rate"] / ref, 3) if ref else None
            )
        return out

    report = {
        "cutoff": str(cutoff.date()),
        "training_points": [str((earliest + k * offers.HORIZON).date()) for k in range(WINDOWS)],
        "households": int(len(evaluated)),
        "offerable_products": int(len(sig.cols)),
        "candidates_per_household": round(len(frame) / max(len(evaluated), 1), 1),
        "candidate_coverage": round(covered["household"].nunique() / max(len(evaluated), 1), 4),
        "methods": table(picks, "popularity"),
        "discovery": table(discovery_picks, "popularity among never-bought"),
        "definitions": DEFINITIONS,
    }
    return {"offers": report, "seconds": timings}


def plot_offers(report: dict, directory: Path) -> list[Path]:
    """One bar chart per table: hit rate overall, from win-backs and from discoveries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from recommender.plots import save_figure

    directory.mkdir(parents=True, exist_ok=True)
    body = report.get("offers", report)
    written = []
    for key, title in (("methods", "Offers"), ("discovery", "Discovery list (never bought)")):
        table = body.get(key, {})
        if not table:
            continue
        names = list(table)
        metrics = ["hit_rate", "hit_rate_winback", "hit_rate_discovery"]
        fig, ax = plt.subplots(figsize=(max(6, 1.7 * len(names)), 4))
        width = 0.8 / len(metrics)
        for i, metric in enumerate(metrics):
            xs = [x + i * width for x in range(len(names))]
            bars = ax.bar(xs, [table[m][metric] for m in names], width, label=metric)
            ax.bar_label(bars, fmt="%.3f", fontsize=7)
        ax.set_xticks([x + width for x in range(len(names))])
        ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
        title = f"{title}: 5 offers, bought within 4 weeks, cutoff {body['cutoff']}"
        written.append(save_figure(fig, ax, title, directory / f"offers_{key}.png"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.offers_eval", description=__doc__)
    parser.add_argument("--cutoff", default="2017-11-01")
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=HybridSettings.epochs)
    parser.add_argument("--no-lightfm", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=True, quiet=args.quiet)
    start = time.perf_counter()
    with console.status("loading Complete Journey"):
        data = from_completejourney()
    loaded = round(time.perf_counter() - start, 1)
    report = evaluate_offers(
        data,
        pd.Timestamp(args.cutoff),
        args.households,
        not args.quiet,
        HybridSettings(epochs=args.epochs),
        lightfm=not args.no_lightfm,
        console=console,
    )
    report["seconds"] = {"loading": loaded, **report["seconds"]}
    report["seconds"]["total"] = round(time.perf_counter() - start, 1)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.plots:
        plot_offers(report, args.plots)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
