"""The `make bench` report: the recommender headline read from the committed evaluation."""

import json

from bench.recommender import REPORT, headline


def test_headline_figures_from_the_committed_report():
    figures = headline(json.loads(REPORT.read_text()))
    assert figures["cutoff"] == "2017-11-01"
    assert 0.4 < figures["brand_top1"] < 1 and figures["brand_top1_best_baseline"] == 0.4142
    assert figures["next_basket_recall10"] > figures["next_basket_recall10_best_baseline"]
    assert 0.5 < figures["timing_auc14"] < 1 and figures["timing_mae_days"] > 0
    assert set(figures["seconds"]) == {"recommender", "timing", "offers"}
