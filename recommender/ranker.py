"""Learned rankers: gradient-boosted trees over candidate features, one score per candidate.

Three rankers share this code: brand resolution (a type the household bought before), cold
pairs (a type it never bought) and next basket. Each is trained the way it is used: history up
to an earlier time point, labels from what households bought right after it.

Persistence: scikit-learn models have no pickle-free format, so the fitted trees are stored with
joblib beside the pickle-free LightFM arrays; load them only from a directory you trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier


@dataclass
class RankerSettings:
    iterations: int = 200
    learning_rate: float = 0.1
    leaves: int = 31
    l2: float = 1.0
    min_leaf: int = 20
    random_state: int = 0


@dataclass
class Ranker:
    features: list[str]
    model: HistGradientBoostingClassifier

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        if frame.empty:
            return np.zeros(0)
        return self.model.predict_proba(frame[self.features].to_numpy(dtype=np.float64))[:, 1]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"features": self.features, "model": self.model}, path)

    @classmethod
    def load(cls, path: Path) -> Ranker:
        data = joblib.load(path)
        return cls(list(data["features"]), data["model"])


def fit_ranker(
    frame: pd.DataFrame, features: list[str], settings: RankerSettings | None = None
) -> Ranker:
    """Fit on candidate rows with a 0/1 ``label`` column."""
    settings = settings or RankerSettings()
    if frame.empty or frame["label"].nunique() < 2:
        raise ValueError("a ranker needs both bought and not-bought candidates to learn from")
    model = HistGradientBoostingClassifier(
        max_iter=settings.iterations,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.leaves,
        l2_regularization=settings.l2,
        min_samples_leaf=settings.min_leaf,
        random_state=settings.random_state,
    )
    model.fit(frame[features].to_numpy(dtype=np.float64), frame["label"].to_numpy())
    return Ranker(list(features), model)


def label(frame: pd.DataFrame, truth: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mark candidates found in ``truth`` (rows of ``key`` and ``product``)."""
    marked = truth[[key, "product"]].drop_duplicates().assign(label=1.0)
    out = frame.merge(marked, on=[key, "product"], how="left")
    out["label"] = out["label"].fillna(0.0)
    return out


def top_k(frame: pd.DataFrame, score: str | np.ndarray, key: str, k: int) -> dict[int, list[int]]:
    """The ``k`` best products per ``key`` by ``score`` (a column name or an array)."""
    values = frame[score].to_numpy() if isinstance(score, str) else np.asarray(score)
    ordered = frame.assign(_s=np.nan_to_num(values, nan=-np.inf)).sort_values(
        [key, "_s", "product"], ascending=[True, False, True], kind="mergesort"
    )
    best = ordered.groupby(key).head(k)
    return {int(q): list(map(int, g)) for q, g in best.groupby(key)["product"]}
