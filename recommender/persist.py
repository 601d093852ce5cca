"""scikit-learn's trees on disk without pickle: skops' format, read against a fixed list of types.

joblib is pickle: loading a file runs whatever it names, so a models directory copied from
another machine or a backup could run any code inside the assistant. ``skops.io`` (installed
with Rasa, whose LogisticRegressionClassifier stores itself with it) writes the same objects as
a zip of JSON (``schema.json``, a tree of nodes) and numpy arrays.

skops' own check is not enough on its own: 0.9.0 (the version Rasa 3.6 pins) checks only the
type *name* a node carries, so a crafted file can label a "call this function" node with a
trusted name and build anything (CVE-2025-54412 for its operator nodes, fixed in skops 0.12,
which Rasa 3.6 cannot take; ``tests/test_persist.py`` shows the same with its method and
partial nodes). So ``load`` first reads the schema itself and accepts only the nodes Dash's files
hold: dicts, lists, tuples, JSON values, builtin types as dict keys, numpy arrays and scalars,
and objects of the classes in ``OBJECTS`` (the HistGradientBoosting trees and what they hold),
fixed here and never read from the file. Anything else (functions, methods, partials, reduce
calls, other classes) is refused with ``UnsafeModelFile`` before skops builds a thing.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

#: The scikit-learn internals a fitted HistGradientBoosting model holds besides its estimator
#: class: the losses Dash fits with and their links, the bin mapper and the trees.
#: ``tests/test_persist.py`` checks each loss's model loads.
TRUSTED = (
    "sklearn._loss._loss.CyAbsoluteError",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfPoissonLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyPinballLoss",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.PinballLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
#: The only classes an object node may build (its ``__new__``, then its state set).
OBJECTS = frozenset(
    {
        *TRUSTED,
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    }
)
_CONTAINERS = {"DictNode": "dict", "ListNode": "list", "TupleNode": "tuple"}
_PLAIN = frozenset({"str", "int", "float", "bool", "NoneType"})


class UnsafeModelFile(ValueError):
    """A model file holds something outside what Dash's trainers write."""


def dump(obj: Any, path: Path) -> Path:
    """Write ``obj`` (dicts, lists, tuples, strings, numbers, arrays and fitted trees) to
    ``path`` whole: written beside it and renamed, so a reader sees the old file or the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        # Deflated: a third of the size (the timing model's 1,800 trees 3.4 MB instead of
        # 10.5), for the same time to load (numpy reading each tree's arrays, not inflating).
        sio.dump(obj, part, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return path


def load(path: Path) -> Any:
    """What ``dump`` wrote; ``UnsafeModelFile`` if the file holds anything else."""
    path = Path(path)
    try:
        # Read once: the bytes checked are the bytes built. Opening the path twice would let
        # a file replaced in between (a retraining's rename, or worse) skip the check.
        raw = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile) as exc:
        raise UnsafeModelFile(f"{path}: not a model file Dash wrote ({exc})") from exc
    _check(schema, path)
    try:
        return sio.load(io.BytesIO(raw), trusted=list(TRUSTED))
    except UntrustedTypesFoundException as exc:
        message = f"{path}: refused, it names types Dash does not trust ({exc})"
        raise UnsafeModelFile(message) from exc


def _check(tree: Any, path: Path) -> None:
    """Refuse the schema if any node in it is not one Dash's files are made of."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        if "__loader__" in item and not _allowed(item):
            name = f"{item.get('__module__')}.{item.get('__class__')}"
            raise UnsafeModelFile(f"{path}: refused, it holds a {item['__loader__']} of {name}")
        stack.extend(item.values())


def _allowed(node: dict) -> bool:
    loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
    if loader in _CONTAINERS:
        return (module, cls) == ("builtins", _CONTAINERS[loader])
    if loader in ("JsonNode", "TypeNode"):
        return module == "builtins" and cls in _PLAIN
    if loader == "NdArrayNode":
        kind = getattr(np, str(cls), None)
        is_numpy = kind is np.ndarray or (isinstance(kind, type) and issubclass(kind, np.generic))
        return module == "numpy" and is_numpy
    if loader == "ObjectNode":
        return f"{module}.{cls}" in OBJECTS
    return False
