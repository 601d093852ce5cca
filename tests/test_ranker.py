"""The learned rankers' plumbing: settings checked, early stopping, and LightGBM's text
models saved and loaded without pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.ranker import Ranker, RankerSettings, fit_ranker


def test_lightgbm_rankers_save_as_text_and_score_the_same_after_early_stopping(tmp_path):
    """The early-stopped binary trees keep their best round through the text model."""
    rng = np.random.default_rng(5)
    n = 20_000
    frame = pd.DataFrame({"qid": np.arange(n) // 5, "x": rng.random(n), "y": rng.random(n)})
    frame["label"] = (rng.random(n) < 0.4 * frame["x"]).astype(float)
    ranker = fit_ranker(frame, ["x", "y"], RankerSettings(library="lightgbm", min_leaf=5))
    assert 0 < ranker.model.best_iteration_ < 200
    path = ranker.save(tmp_path / "cold")
    assert json.loads(path.read_text())["format"] == "lightgbm-text"
    loaded = Ranker.load(tmp_path / "cold")
    assert np.array_equal(loaded.score(frame), ranker.score(frame))
    assert Ranker.load(tmp_path / "missing") is None
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a saved ranker"):
        Ranker.load(tmp_path / "bad")


def test_ranker_refuses_an_unknown_objective_or_library():
    frame = pd.DataFrame({"qid": [0, 0], "x": [0.0, 1.0], "label": [0.0, 1.0]})
    with pytest.raises(ValueError, match="objective"):
        fit_ranker(frame, ["x"], RankerSettings(objective="pointwise"))
    with pytest.raises(ValueError, match="library"):
        fit_ranker(frame, ["x"], RankerSettings(library="xgboost"))


def test_lightgbm_binary_trees_stop_early_on_noise_past_scikit_learns_threshold():
    """Past 10,000 rows a tenth is held out and fitting stops once its loss stops improving,
    as scikit-learn's trees do: on pure noise after a few rounds, not all 200."""
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame({"qid": np.arange(n) // 5, "x": rng.random(n), "y": rng.random(n)})
    frame["label"] = (rng.random(n) < 0.2).astype(float)
    noise = fit_ranker(frame, ["x", "y"], RankerSettings(library="lightgbm", min_leaf=5))
    assert noise.model.best_iteration_ < 50
    frame["label"] = (rng.random(n) < 0.4 * frame["x"]).astype(float)  # x matters
    signal = fit_ranker(frame, ["x", "y"], RankerSettings(library="lightgbm", min_leaf=5))
    assert signal.model.best_iteration_ > noise.model.best_iteration_
    scores = signal.score(frame)
    assert np.corrcoef(scores, frame["x"])[0, 1] > 0.8


def test_the_reference_rankers_fitted_on_the_answers_score_every_row_out_of_fold():
    """The cross-fitted reference scores each household with the ranker fitted on the other
    half (so a household's own label never reaches its score), the in-sample one with one
    ranker fitted on all; with a half that has nothing to learn from there is no reference."""
    from recommender.eval_tables import IN_SAMPLE, ON_ANSWERS, fitted_on_answers

    rng = np.random.default_rng(11)
    n = 4_000
    frame = pd.DataFrame(
        {"qid": np.arange(n) // 4, "household": np.arange(n) // 8, "x": rng.random(n)}
    )
    frame["label"] = (frame.groupby("qid")["x"].rank(ascending=False) == 1).astype(float)
    settings = RankerSettings(objective="lambdarank", iterations=30, min_leaf=5, threads=1)
    refs = fitted_on_answers(frame, ["x"], settings, seed=0)
    assert set(refs) == {ON_ANSWERS, IN_SAMPLE}
    for scores in refs.values():
        assert np.isfinite(scores).all()
        best = frame.assign(s=scores).sort_values("s").groupby("qid").tail(1)
        assert best["label"].mean() > 0.85  # the largest x (chance: 0.25), near ties aside
    one_label = frame.assign(label=(frame["household"] == 0).astype(float))
    assert fitted_on_answers(one_label, ["x"], settings, seed=0) == {}
