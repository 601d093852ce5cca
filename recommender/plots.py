"""Bar charts of an evaluation report: one PNG per table, methods side by side."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no screen on servers
import matplotlib.pyplot as plt  # noqa: E402

TABLES = {
    "brand_resolution": ("Brand resolution (type bought before)", ["top1", "top3"]),
    "cold_pairs": ("Cold pairs (type never bought before)", ["top1", "top3"]),
    "next_basket": ("Next basket", ["recall", "ndcg", "recall_repeat", "recall_new"]),
    "cold_start_households": ("Cold-start households (demographics only)", ["recall", "ndcg"]),
    "cold_start_households_all_folds": (
        "Cold-start households, every holdout fold",
        ["recall", "ndcg"],
    ),
    "new_households_as_they_shop": (
        "New households as they shop",
        ["recall", "recall_first", "recall_after_first"],
    ),
    "new_households_as_they_shop_all_folds": (
        "New households as they shop, every holdout fold",
        ["recall", "recall_first", "recall_after_first"],
    ),
}
#: Tables with a ``by_week`` row per method: also drawn as lines over the weeks.
WEEKLY = ("new_households_as_they_shop", "new_households_as_they_shop_all_folds")


def plot_report(report: dict, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (title, metrics) in TABLES.items():
        table = {m: v for m, v in report.get(key, {}).items() if isinstance(v, dict)}
        if not table:
            continue
        methods = list(table)
        fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(methods)), 4))
        width = 0.8 / len(metrics)
        for i, metric in enumerate(metrics):
            values = [table[m].get(metric, 0.0) for m in methods]
            xs = [x + i * width for x in range(len(methods))]
            bars = ax.bar(xs, values, width, label=metric)
            ax.bar_label(bars, fmt="%.3f", fontsize=7)
        ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(methods))])
        ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=8)
        title = f"{title}, cutoff {report['dataset']['cutoff']}"
        written.append(save_figure(fig, ax, title, directory / f"{key}.png"))
    written.extend(_plot_weeks(report, directory))
    return written


def _plot_weeks(report: dict, directory: Path) -> list[Path]:
    """Recall@10 by week since joining: how fast each method learns a new household."""
    written = []
    for key in WEEKLY:
        table = {m: v for m, v in report.get(key, {}).items() if isinstance(v, dict)}
        rows = {m: v["by_week"] for m, v in table.items() if "by_week" in v}
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        for method, values in rows.items():
            weeks = [w for w, v in enumerate(values) if v is not None]
            ax.plot(weeks, [values[w] for w in weeks], marker="o", label=method)
        ax.set_xlabel("weeks since joining (0: demographics only)")
        ax.set_ylabel(f"Recall@{report[key].get('k', 10)} of the next basket")
        title = f"{TABLES[key][0]}, cutoff {report['dataset']['cutoff']}"
        written.append(save_figure(fig, ax, title, directory / f"{key}_by_week.png"))
    return written


def save_figure(fig, ax, title: str, path: Path) -> Path:
    """Title and legend, then the PNG written and the figure closed (pyplot keeps every open
    figure alive)."""
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(report: dict, json_path: Path | None, plots: Path | None) -> None:
    """The JSON report and every section's plots (also used by `make bench`)."""
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if plots:
        from recommender.offers_eval import plot_offers
        from recommender.timing_eval import plot_timing

        plot_report(report, plots)
        if "repurchase_timing" in report:
            plot_timing(report, plots)
        if "offers" in report:
            plot_offers(report, plots)
