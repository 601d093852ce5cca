"""Retraining a running shop: the watcher's reloads (in place and in the background), a
broken write, and a retraining on too short a history."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from recommender.data import RetailData
from recommender.live import LiveModels, ModelWatcher
from recommender.training import MANIFEST, train_models
from tests.test_recommender import FAST, synthetic


@pytest.fixture(scope="module")
def data() -> RetailData:
    return synthetic()


def test_watcher_reloads_after_retraining_and_survives_a_broken_write(data, tmp_path):
    watcher = ModelWatcher(tmp_path)
    assert watcher.current() is None  # nothing trained yet: the rules serve
    train_models(data, tmp_path, settings=FAST)
    first = watcher.current()
    assert first is not None
    train_models(data.restrict(range(1, 30)), tmp_path, settings=FAST)
    second = watcher.current()
    assert second is not first and second.manifest["households"] == 29
    (tmp_path / "items.parquet").write_text("half-written")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "trained_at": "later"}))
    assert watcher.current() is second  # the broken directory is not loaded


def test_a_serving_watcher_loads_a_retraining_in_the_background(data, tmp_path):
    """The first models load before the first answer; after a retraining every caller goes
    on with the previous models until the new ones are loaded, then gets those."""
    train_models(data, tmp_path, settings=FAST)
    watcher = ModelWatcher(tmp_path, background=True)
    first = watcher.current()
    assert first is not None and first.manifest["households"] == data.households.shape[0]
    train_models(data.restrict(range(1, 30)), tmp_path, settings=FAST)
    assert watcher.current() is first  # the load runs in a thread
    watcher.settle()
    second = watcher.current()
    assert second is not first and second.manifest["households"] == 29
    assert watcher.current() is second  # loaded once


def test_a_serving_watcher_without_a_thread_to_spare_loads_in_place(data, tmp_path, monkeypatch):
    """Where no thread can be started, the retraining is loaded by the caller, as without
    ``background``, and the watcher goes on reloading after that."""
    train_models(data, tmp_path, settings=FAST)
    watcher = ModelWatcher(tmp_path, background=True)
    first = watcher.current()

    def refuse(self):
        raise RuntimeError("can't start new thread")

    train_models(data.restrict(range(1, 30)), tmp_path, settings=FAST)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    second = watcher.current()
    assert second is not first and second.manifest["households"] == 29
    watcher.settle()  # nothing running: returns at once


def test_a_short_history_leaves_no_older_rankers_behind(data, tmp_path):
    """Retrained on less history than the rankers' window, the directory holds no ranker or
    offer model of an earlier training (they would be served beside the new LightFM model):
    the rules serve them, and the manifest says why."""
    train_models(data, tmp_path, settings=FAST)
    assert (tmp_path / "brand.json").exists() and (tmp_path / "offers.skops").exists()
    p = data.purchases
    recent = RetailData(
        p[p["ts"] >= p["ts"].max() - pd.Timedelta(days=30)], data.products, data.households
    )
    summary = train_models(recent, tmp_path, settings=FAST)
    for name in ("brand.json", "cold.json", "offers.skops"):
        assert not (tmp_path / name).exists(), name
    assert summary["rankers"]["brand"].startswith("not trained: history shorter")
    models = LiveModels.load(tmp_path)
    assert models.brand is None and models.cold is None and models.offers is None
