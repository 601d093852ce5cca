"""Learned rankers: gradient-boosted trees over candidate features, one score per candidate.

Four rankers share this code: brand resolution (a type the household bought before), cold
pairs (a type it never bought), next basket and new households. Each is trained the way it is
used: history up to an earlier time point, labels from what households bought right after it.

Two objectives. ``binary`` learns "was this candidate bought", with scikit-learn's histogram
trees or LightGBM's (``RankerSettings.library``; the brand ranker takes LightGBM's, twice as
fast for the same top-1); ``lambdarank`` (LightGBM) learns the order within each query
directly, which is what the cold-pair and next-basket rankers are judged on: on Complete
Journey it adds about 0.002 to the cold pairs' top-1 and 0.007 to next-basket Recall@10. It
matches the binary trees' brand top-1 too, but not on the small demo store
(``recommender.training.BRAND_RANKER`` says why the brand ranker stays binary).

Persistence: LightGBM's trees (the live brand and cold-pair rankers) are saved as LightGBM's
own text model inside a JSON file, no pickle, and loaded as a ``lightgbm.Booster`` that scores
exactly as the fitted model did (tested); scikit-learn's trees in skops' format
(``recommender.persist``: no pickle, and only the types of Dash's trees are built on loading).
Both formats hold one ``Ranker.state`` dict, which the offer model stores two of.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender import persist

OBJECTIVES = ("binary", "lambdarank")
LIBRARIES = ("sklearn", "lightgbm")
EARLY_STOPPING_ROWS = 10_000  # scikit-learn's threshold for early_stopping="auto"


@dataclass
class RankerSettings:
    objective: str = "binary"
    #: Who grows ``binary`` trees: scikit-learn's histogram trees, or LightGBM's (the same
    #: model family; on the brand ranker's 1.2M rows 19 s instead of 36 s for the same top-1).
    #: ``lambdarank`` is LightGBM's.
    library: str = "sklearn"
    iterations: int = 200
    learning_rate: float = 0.1
    leaves: int = 31
    l2: float = 1.0
    min_leaf: int = 20
    random_state: int = 0
    threads: int = 2  # LightGBM; scikit-learn's trees use OpenMP's default


@dataclass
class Ranker:
    features: list[str]
    #: HistGradientBoostingClassifier, lightgbm.LGBMClassifier or LGBMRanker when fitted; a
    #: ``lightgbm.Booster`` when loaded from LightGBM's text model.
    model: Any
    kind: str | None = None  # the objective, for a loaded Booster (which has no predict_proba)

    @property
    def objective(self) -> str:
        if self.kind is not None:
            return self.kind
        return "binary" if hasattr(self.model, "predict_proba") else "lambdarank"

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Higher is better within a query (a probability for ``binary``)."""
        if frame.empty:
            return np.zeros(0)
        x = frame[self.features].to_numpy(dtype=np.float64)
        if self.objective == "binary" and hasattr(self.model, "predict_proba"):
            return self.model.predict_proba(x)[:, 1]
        # LGBMRanker's scores, or a loaded Booster's: the probability for a binary objective
        return np.asarray(self.model.predict(x), dtype=np.float64)

    def chances(self, frame: pd.DataFrame) -> np.ndarray:
        """How likely each row of ONE query is the one bought: the probability for
        ``binary``, a softmax over the query's rows for ``lambdarank`` (its scores are
        log-odds between candidates; on the cold pairs the mean top chance, 0.29, is close to
        how often the top pick is right among the candidates, 0.27)."""
        scores = self.score(frame)
        if self.objective == "binary" or not len(scores):
            return scores
        e = np.exp(scores - scores.max())
        return e / e.sum()

    def state(self) -> dict:
        """Features, objective and trees as plain data: LightGBM's text model (``format``
        "lightgbm-text") or scikit-learn's fitted estimator under ``model``."""
        doc: dict[str, Any] = {"features": list(self.features), "objective": self.objective}
        booster = _booster(self.model)
        if booster is None:
            doc["model"] = self.model
        else:
            doc["format"], doc["model"] = "lightgbm-text", booster.model_to_string()
        return doc

    @classmethod
    def from_state(cls, doc: dict) -> Ranker:
        if doc.get("format") == "lightgbm-text":
            from lightgbm import Booster

            return cls(list(doc["features"]), Booster(model_str=doc["model"]), doc["objective"])
        return cls(list(doc["features"]), doc["model"])

    def save(self, stem: Path) -> Path:
        """Write ``stem.json`` (LightGBM's text model) or ``stem.skops`` (scikit-learn's
        trees), removing the other and any ``stem.joblib`` an older Dash wrote; returns the
        path written."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        doc = self.state()
        if doc.get("format") == "lightgbm-text":  # LightGBM's own text: JSON, as before skops
            path, other = stem.with_suffix(".json"), stem.with_suffix(".skops")
            path.write_text(json.dumps(doc), encoding="utf-8")
        else:
            path, other = persist.dump(doc, stem.with_suffix(".skops")), stem.with_suffix(".json")
        other.unlink(missing_ok=True)
        stem.with_suffix(".joblib").unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, stem: Path) -> Ranker | None:
        """The ranker saved at ``stem`` (either format), or None if there is none (an older
        Dash's ``stem.joblib`` is pickle and never loaded: ``dash train`` replaces it)."""
        stem = Path(stem)
        if stem.with_suffix(".json").exists():
            doc = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
            if doc.get("format") != "lightgbm-text":
                raise ValueError(f"{stem.with_suffix('.json')}: not a saved ranker")
            return cls.from_state(doc)
        if stem.with_suffix(".skops").exists():
            return cls.from_state(persist.load(stem.with_suffix(".skops")))
        return None


def _booster(model: Any):
    """The LightGBM booster behind ``model``, or None for scikit-learn's trees."""
    from lightgbm import Booster

    if isinstance(model, Booster):
        return model
    return (
        getattr(model, "booster_", None) if type(model).__module__.startswith("lightgbm") else None
    )


def fit_ranker(
    frame: pd.DataFrame,
    features: list[str],
    settings: RankerSettings | None = None,
    key: str = "qid",
) -> Ranker:
    """Fit on candidate rows with a 0/1 ``label`` column; ``key`` groups a query's rows
    (used by ``lambdarank``, which learns nothing from a query with no bought candidate)."""
    settings = settings or RankerSettings()
    if settings.objective not in OBJECTIVES:
        raise ValueError(f"unknown ranker objective {settings.objective!r}: one of {OBJECTIVES}")
    if settings.library not in LIBRARIES:
        raise ValueError(f"unknown ranker library {settings.library!r}: one of {LIBRARIES}")
    if frame.empty or frame["label"].nunique() < 2:
        raise ValueError("a ranker needs both bought and not-bought candidates to learn from")
    if settings.objective == "binary" and settings.library == "lightgbm":
        return Ranker(list(features), _fit_lightgbm_binary(frame, features, settings))
    if settings.objective == "binary":
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
    return Ranker(list(features), _fit_lambdarank(frame, features, settings, key))


def _lightgbm_params(settings: RankerSettings) -> dict:
    return {
        "n_estimators": settings.iterations,
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.leaves,
        "reg_lambda": settings.l2,
        "min_child_samples": settings.min_leaf,
        "random_state": settings.random_state,
        "n_jobs": settings.threads,
        # Left alone, LightGBM times row-wise against column-wise histograms and keeps the
        # faster, so the trees can follow the machine's load: two evaluations of the same
        # cold-pair code gave 0.2704 and 0.2717. A fixed layout and LightGBM's deterministic
        # mode take that choice away (since then: 0.2717 in every run). Row-wise: the same
        # trees as column-wise on our frames (the same top-1 to the last digit), 10% faster
        # on one thread (brand ranker 71 s against 80 s on a slow machine).
        "force_row_wise": True,
        "deterministic": True,
        "verbose": -1,
    }


def _fit_lightgbm_binary(frame: pd.DataFrame, features: list[str], settings: RankerSettings):
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(**_lightgbm_params(settings))
    x, y = frame[features].to_numpy(dtype=np.float64), frame["label"].to_numpy()
    if len(frame) <= EARLY_STOPPING_ROWS:
        return model.fit(x, y)
    # As scikit-learn's trees do by default past 10,000 rows: a tenth held out, stop when its
    # loss has not improved for 10 rounds. On a small shop this is what keeps the trees from
    # learning noise (the demo store's brand picks: 0.944 without, 0.960 with).
    rng = np.random.default_rng(settings.random_state)
    held = rng.random(len(frame)) < 0.1
    from lightgbm import early_stopping

    return model.fit(
        x[~held],
        y[~held],
        eval_X=(x[held],),
        eval_y=(y[held],),
        callbacks=[early_stopping(10, verbose=False)],
    )


def _fit_lambdarank(frame: pd.DataFrame, features: list[str], settings: RankerSettings, key: str):
    from lightgbm import LGBMRanker

    useful = frame[frame.groupby(key)["label"].transform("max") > 0]
    useful = useful.sort_values(key, kind="stable")
    model = LGBMRanker(
        objective="lambdarank",
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        **_lightgbm_params(settings),
    )
    model.fit(
        useful[features].to_numpy(dtype=np.float64),
        useful["label"].to_numpy(),
        group=useful.groupby(key, sort=False).size().to_numpy(),
    )
    return model


def label(frame: pd.DataFrame, truth: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mark candidates found in ``truth`` (rows of ``key`` and ``product``): sets ``frame``'s
    ``label`` column and returns the frame (a lookup in place, neither a merge nor a copy: the
    candidate frames are wide, a million rows and more, and copying them took seconds)."""
    pairs = pd.MultiIndex.from_arrays([frame[key].to_numpy(), frame["product"].to_numpy()])
    bought = pd.MultiIndex.from_arrays([truth[key].to_numpy(), truth["product"].to_numpy()])
    frame["label"] = pairs.isin(bought).astype(np.float64)
    return frame


def top_k(frame: pd.DataFrame, score: str | np.ndarray, key: str, k: int) -> dict[int, list[int]]:
    """The ``k`` best products per ``key`` by ``score`` (a column name or an array)."""
    values = frame[score].to_numpy() if isinstance(score, str) else np.asarray(score)
    ordered = frame.assign(_s=np.nan_to_num(values, nan=-np.inf)).sort_values(
        [key, "_s", "product"], ascending=[True, False, True], kind="mergesort"
    )
    best = ordered.groupby(key).head(k)
    return {int(q): list(map(int, g)) for q, g in best.groupby(key)["product"]}
