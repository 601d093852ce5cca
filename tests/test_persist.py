"""Model files without pickle: every kind of tree Dash fits loads back and predicts the same,
a file naming any other type is refused, and an older Dash's pickle is never opened."""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from recommender import persist
from recommender.live import LiveModels


def _x(n: int = 600) -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(n, 4))
    x[::9, 2] = np.nan  # missing values take the trees' learned side
    return x


@pytest.mark.parametrize(
    "model",
    [
        HistGradientBoostingClassifier(max_iter=15),
        HistGradientBoostingRegressor(max_iter=15),
        HistGradientBoostingRegressor(max_iter=15, loss="absolute_error"),
        HistGradientBoostingRegressor(max_iter=15, loss="poisson"),
        HistGradientBoostingRegressor(max_iter=15, loss="quantile", quantile=0.2),
    ],
    ids=["binary", "squared_error", "absolute_error", "poisson", "quantile"],
)
def test_each_tree_dash_fits_round_trips_exactly(model, tmp_path):
    """The losses of the offer ranker (binary) and the timing model (the rest) are all in
    ``TRUSTED``: a missing one would refuse the shop's own file."""
    x = _x()
    y = x[:, 0] + np.random.default_rng(1).normal(size=len(x))
    y = (y > 0) if model.__class__ is HistGradientBoostingClassifier else np.abs(y)
    model.fit(x, y)
    path = persist.dump({"model": model, "log": True}, tmp_path / "m.skops")
    assert zipfile.is_zipfile(path)
    assert not list(tmp_path.glob(".*.part"))  # written beside and renamed
    loaded = persist.load(path)
    assert loaded["log"] is True
    assert np.array_equal(loaded["model"].predict(x), model.predict(x))


class Stranger:
    """Any type outside scikit-learn's trees: loading it could run its code."""

    def __init__(self) -> None:
        self.payload = "anything"


def test_a_file_naming_another_type_is_refused(tmp_path):
    path = tmp_path / "offers.skops"
    sio.dump({"model": Stranger()}, path)
    with pytest.raises(persist.UnsafeModelFile, match="Stranger"):
        persist.load(path)


class _Marker:
    """Pickled, its loading creates a file: proof that a pickle was opened."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_live_models_never_open_an_older_dashs_pickle(trained_dir, tmp_path, caplog):
    directory = Path(shutil.copytree(trained_dir, tmp_path / "models"))
    marker = tmp_path / "opened"
    joblib.dump(_Marker(marker), directory / "timing.joblib")
    with caplog.at_level(logging.WARNING, logger="recommender.live"):
        models = LiveModels.load(directory)
    assert not marker.exists()
    assert models.hybrid is not None
    assert "timing.joblib is pickle" in caplog.text
    joblib.load(directory / "timing.joblib")  # the test can fail: opened, the file runs
    assert marker.exists()


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    from recommender.training import train_models
    from tests.test_recommender import FAST, synthetic

    directory = tmp_path_factory.mktemp("models")
    train_models(synthetic(), directory, settings=FAST)
    return directory
