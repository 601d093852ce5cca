"""Model files without pickle: every kind of tree Dash fits loads back and predicts the same,
a file naming any other type is refused, and an older Dash's pickle is never opened."""

from __future__ import annotations

import io
import json
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


def _node(loader: str, module: str, cls: str, content: object) -> dict:
    return {"__loader__": loader, "__module__": module, "__class__": cls, "content": content}


def _crafted(path: Path, target: Path) -> Path:
    """A file whose "model" is a "call this method" node labelled with a trusted name: called,
    it writes b"payload" to ``target``."""
    raw = sio.dumps({"model": np.frombuffer(b"payload", dtype=np.uint8).copy()})
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    array = schema["content"]["model"]
    label = ("sklearn._loss.link", "Interval")  # a name in persist.TRUSTED
    args = _node("TupleNode", "builtins", "tuple", [_node("JsonNode", "builtins", "str", "")])
    args["content"][0].update(content=json.dumps(str(target)), is_json=True)
    empty = _node("DictNode", "builtins", "dict", {})
    empty["key_types"] = _node("ListNode", "builtins", "list", [])
    call = _node(
        "PartialNode",
        *label,
        {
            "func": _node("MethodNode", *label, {"obj": array, "func": "tofile"}),
            "args": args,
            "kwds": empty,
            "namespace": empty,
        },
    )
    schema["content"]["model"] = call
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_a_call_dressed_as_a_trusted_type_is_refused(tmp_path):
    """skops 0.9 checks only the name a node carries: a "call this method" node labelled
    with a trusted name passes its check and would write a file of the attacker's choosing
    when called (the flaw behind CVE-2025-54412). Dash reads the schema first and refuses it."""
    target = tmp_path / "written"
    path = _crafted(tmp_path / "brand.skops", target)
    assert set(sio.get_untrusted_types(file=path)) <= set(persist.TRUSTED)  # skops lets it by
    with pytest.raises(persist.UnsafeModelFile, match="PartialNode"):
        persist.load(path)
    assert not target.exists()
    built = sio.load(path, trusted=list(persist.TRUSTED))  # skops alone builds the call,
    built["model"]()  # and whoever calls it writes the attacker's bytes
    assert target.read_bytes() == b"payload"
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(persist.UnsafeModelFile, match="not a model file"):
        persist.load(tmp_path / "junk.skops")
    with zipfile.ZipFile(tmp_path / "deep.skops", "w") as z:  # past the JSON decoder's depth
        z.writestr("schema.json", "[" * 100_000)
    with pytest.raises(persist.UnsafeModelFile, match="not a model file"):
        persist.load(tmp_path / "deep.skops")


def test_a_file_swapped_after_its_check_is_not_the_one_built(tmp_path, monkeypatch):
    """The bytes checked are the bytes built: a file replaced between the check and the load
    (here by the check itself, the narrowest window there is) does not slip through."""
    path = persist.dump({"model": np.arange(3)}, tmp_path / "offers.skops")
    target = tmp_path / "written"
    check = persist._check

    def check_then_swap(schema, where):
        check(schema, where)
        _crafted(tmp_path / "swap.skops", target).replace(path)

    monkeypatch.setattr(persist, "_check", check_then_swap)
    loaded = persist.load(path)
    assert np.array_equal(loaded["model"], np.arange(3))
    assert not target.exists()


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
