"""The `make bench` report: the recommender headline read from the committed evaluation."""

import json

from bench.recommender import REPORT, headline


def test_headline_figures_from_the_committed_report():
    figures = headline(json.loads(REPORT.read_text()))
    assert figures["cutoff"] == "2017-11-01"
    assert 0.4 < figures["brand_top1"] < 1 and figures["brand_top1_best_baseline"] == 0.4142
    # issue 4's target; TIFU-KNN (0.1752) is the best baseline
    assert figures["next_basket_recall10"] >= 0.15
    assert figures["next_basket_recall10_best_baseline"] > 0.15
    assert figures["brand_top1_frozen"] < figures["brand_top1"]
    for key in (
        "cold_pairs_top1_vs_popular_in_type",
        "cold_pairs_top1_vs_popular_in_type_last_28_days",
        "cold_pairs_top1_frozen_vs_popular_in_type",
        "cold_start_recall10_vs_popularity",
        "new_households_recall10_vs_popularity",
    ):
        low, high = figures[f"{key}_95"]
        assert low < figures[key] < high, key
    assert 0.5 < figures["timing_auc14"] < 1 and figures["timing_mae_days"] > 0
    assert 1 < figures["offer_hit_rate_vs_popularity_without_calendar"] < 3
    assert set(figures["seconds"]) == {"recommender", "timing", "offers"}


def test_the_summary_shows_every_issue_9_figure():
    """The printed table carries turns, start-up, 92k-catalog and training figures."""
    from rich.console import Console

    from bench.__main__ import summary

    lat = {"p50": 24.0, "p90": 30.0, "p99": 37.0, "messages_per_s": 40.0}
    long = {"turns": 200, "growth": 0.99, "first_10_median_ms": 27.0, "last_10_median_ms": 26.8}
    servers = {"start_up_s": 11.5, "rasa": {"rss_mb": 694.0}}
    turns = {
        w: {"sequential": lat, "concurrent_4": lat, "long_conversation": long, "servers": servers}
        for w in ("dash", "rasa_init")
    }
    startup = {
        r: {"first_answer_s": 15.0, "all_services_up_s": 18.0} for r in ("first_run", "restart")
    }
    scale = {
        k: {"p50": 1.5, "p99": 3.0, "accuracy": 0.97}
        for k in ("indexed", "every_term", "naive_wratio")
    }
    training = {
        k: {"train_s": 63.3, "peak_above_loaded_data_mb": 100.0} for k in ("lightfm", "als")
    }
    score = {"p50_ms": 0.4, "p99_ms": 0.6, "max_ms": 8.0}
    training["dash_train"] = {
        "train_s": 350.0,
        "recommender_s": 111.7,
        "reload": {"load_s": 2.7, "score_alone": score, "score_while_loading": score},
    }
    results = {
        "machine": {"cores": 2},
        "turns": turns,
        "startup": startup,
        "catalog_scale": scale,
        "training": training,
    }
    console = Console(width=200, record=True)
    console.print(summary(results))
    text = console.export_text()
    for label in (
        "turns, dash",
        "turns, rasa init",
        "turn 200 / turn 1",
        "make demo",
        "resolution, 92k catalog",
        "naive WRatio loop",
        "training, full Complete Journey",
        "dash train: recommender / all seconds",
        "reloading the trained models",
    ):
        assert label in text, label
