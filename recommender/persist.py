"""scikit-learn's trees on disk without pickle: skops' format, read against a fixed list of types.

joblib is pickle: loading a file runs whatever it names, so a models directory copied from
another machine or a backup could run any code inside the assistant. ``skops.io`` (installed
with Rasa, whose LogisticRegressionClassifier stores itself with it) writes the same objects as
a zip of JSON and arrays, and builds nothing but builtins, numpy arrays, scikit-learn's
estimators and the types a caller trusts. ``TRUSTED`` is that list for the trees Dash fits
(HistGradientBoosting classifiers and regressors with the losses it uses): fixed here, never
read from the file, so a file that names anything else is refused with ``UnsafeModelFile``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

#: The scikit-learn internals a fitted HistGradientBoosting model holds besides its estimator
#: class (those skops trusts on its own): the losses Dash fits with and their links, the bin
#: mapper and the trees. ``tests/test_persist.py`` checks each loss's model loads.
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


class UnsafeModelFile(ValueError):
    """A model file names types outside ``TRUSTED``: it was not written by Dash's trainers."""


def dump(obj: Any, path: Path) -> Path:
    """Write ``obj`` (dicts, lists, tuples, strings, numbers, arrays and fitted trees) to
    ``path`` whole: written beside it and renamed, so a reader sees the old file or the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    # Deflated: a third of the size (the timing model's 1,800 trees 3.4 MB instead of 10.5),
    # for the same 1.8 s to load them (numpy reading each tree's arrays, not the inflating).
    sio.dump(obj, part, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    os.replace(part, path)
    return path


def load(path: Path) -> Any:
    """What ``dump`` wrote; ``UnsafeModelFile`` if the file names a type outside ``TRUSTED``."""
    try:
        return sio.load(path, trusted=list(TRUSTED))
    except UntrustedTypesFoundException as exc:
        raise UnsafeModelFile(
            f"{path}: refused, it names types Dash does not trust: {exc}"
        ) from exc
