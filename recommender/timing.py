"""Repurchase timing: when will a household buy a product type again, and how sure are we?

The first cycle rule (``cycles.due``) reads one number, the median gap. Measured on Complete
Journey a plain purchase rate predicts better than any per-household interval, and a constant
beats them all at guessing the date, so the model here weighs all of that evidence:

- ``timing_features`` (from ``recommender.timing_stats``): one row per (household, key value)
  at a moment ``at``;
- ``rule_predict``: a pure lognormal rule over the shrunk interval, for when there is no fitted
  model or too little data to fit one (the live demo store is small);
- ``TimingModel``: gradient-boosted trees trained on earlier time points (p7, p14, expected
  purchase days in the next week, the wait until the next purchase and its 20% / 80% quantiles),
  with the rule as its fallback. The p7 / p14 / n7 models also read how often each key's pairs
  were bought within 14 days at the few training points before the moment predicted
  (``key_rates``: the key's season or trend, which the shrunk interval cannot see).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from recommender import persist
from recommender.timing_stats import (
    FEATURES,
    ID_COLUMNS,
    day_numbers,
    lognormal_remaining,
    lognormal_within,
    next_purchases,
    purchase_days,
    timing_features,
    training_frame,
)

__all__ = [
    "FILE",
    "FEATURES",
    "ID_COLUMNS",
    "KEY_RATE_FEATURES",
    "TimingModel",
    "TimingSettings",
    "day_numbers",
    "key_rates",
    "lognormal_within",
    "next_purchases",
    "purchase_days",
    "rule_predict",
    "timing_features",
    "training_frame",
]


def rule_predict(features: pd.DataFrame, horizon: float = 60.0) -> pd.DataFrame:
    """Predictions from the shrunk interval alone: no fitting, works for one household.

    p7 / p14: lognormal hazard (``lognormal_within``); ``days``: the conditional median of the
    wait, ``low`` / ``high`` its 20% / 80% quantiles, all capped at ``horizon``; ``n7``
    (expected purchase days in the next 7): p7, times 7 / interval for faster cycles."""
    out = features[["household", "key", "at"]].copy()
    mu, sd, s = features["shrunk_log"], features["spread"], features["days_since"]
    out["p7"] = lognormal_within(s, mu, sd, 7)
    out["p14"] = np.maximum(lognormal_within(s, mu, sd, 14), out["p7"])
    out["n7"] = out["p7"] * np.maximum(1.0, 7.0 / features["shrunk_interval"])
    for col, q in (("days", 0.5), ("low", 0.2), ("high", 0.8)):
        out[col] = lognormal_remaining(s, mu, sd, q, horizon)
    return finish(out, "rule")


def finish(out: pd.DataFrame, source: str) -> pd.DataFrame:
    """Add the expected next purchase date (``at`` + ``days``, whole days) and the source."""
    out["next"] = pd.to_datetime(out["at"]).dt.normalize() + pd.to_timedelta(
        np.round(out["days"].to_numpy()), unit="D"
    )
    out["source"] = source
    return out.reset_index(drop=True)


@dataclass
class TimingSettings:
    offsets: tuple[int, ...] = (14, 28, 42, 56, 70, 84, 98, 112)  # training points, days back
    horizon: int = 61  # ``days`` is the wait of pairs bought again within this many days
    iterations: int = 300
    learning_rate: float = 0.06
    leaves: int = 15
    min_leaf: int = 40
    l2: float = 1.0
    #: Rows sampled per fitted model. 250k instead of 1M took the fit from 179 to 77 s on Complete
    #: Journey but AUC at 14 days from 0.7406 to 0.7393, under the 0.74 target: kept at 1M.
    max_rows: int = 1_000_000
    min_rows: int = 200  # fewer rows (or one class): keep the rule
    random_state: int = 0
    #: OpenMP threads (None: every core), for the fits and predictions; the trees are the same
    #: either way. More than one oversubscribes the cores when other fits run beside (5x slower
    #: once); ``dash train``, which fits it after everything else, and the evaluation use all.
    threads: int | None = 1
    rate_span: int = 56  # key label rates read the points 14..rate_span days before the moment
    #: A key of ``DAYS_LOSSES``, or None to pick the loss on the most recent point (three more
    #: fits; the evaluation does, and reports each loss's validation MAE).
    days_loss: str | None = None

    @property
    def points(self) -> tuple[int, ...]:
        """``offsets`` and the older points only read for the key label rates of the oldest."""
        older = range(max(self.offsets) + 14, max(self.offsets) + self.rate_span + 1, 14)
        return tuple(sorted({*self.offsets, *older}))


#: Candidate losses for the days regressor: (sklearn loss, fit on log1p days).
DAYS_LOSSES = {
    "absolute_error": ("absolute_error", False),
    "absolute_error_log": ("absolute_error", True),
    "squared_error_log": ("squared_error", True),
}
FILE = "timing.skops"
KEY_RATE_FEATURES = ["key_rel", "key_y14"]
RATED = ("p7", "p14", "n7")  # the models that also read ``KEY_RATE_FEATURES``
KEY_RATE_PRIOR = 20.0  # pseudo-pairs pulling a key's label rate toward all keys'


def key_rates(frame: pd.DataFrame, after: int, span: int) -> pd.DataFrame:
    """Per key, from the ``training_frame`` points ``after`` + 14 .. ``after`` + ``span`` days
    before the cutoff (whose 14-day labels end by ``after`` days before it): pairs ``n``, pairs
    bought within 14 days ``y`` and the rule's expected count ``r``."""
    rows = frame[frame["window"].between(after + 14, after + span)]
    by = pd.DataFrame(
        {
            "key": rows["key"].to_numpy(),
            "y": (rows["next_days"] < 14).to_numpy(dtype=np.float64),
            "r": rows["rule_p14"].to_numpy(dtype=np.float64),
        }
    ).groupby("key")
    return pd.DataFrame({"n": by.size().astype(np.float64), "y": by["y"].sum(), "r": by["r"].sum()})


def with_key_rates(features: pd.DataFrame, rates: pd.DataFrame | None) -> pd.DataFrame:
    """``features`` plus ``key_rel`` (the key's share bought within 14 days minus the rule's
    expected share, shrunk to 0) and ``key_y14`` (the share, shrunk toward all keys')."""
    out = features.copy()
    if rates is None or rates.empty:
        out["key_rel"], out["key_y14"] = 0.0, np.nan
        return out
    prior = rates["y"].sum() / max(rates["n"].sum(), 1.0)
    n, y, r = (out["key"].map(rates[c]).astype(np.float64) for c in ("n", "y", "r"))
    out["key_rel"] = ((y - r) / (n + KEY_RATE_PRIOR)).fillna(0.0).to_numpy()
    out["key_y14"] = ((y + KEY_RATE_PRIOR * prior) / (n + KEY_RATE_PRIOR)).fillna(prior).to_numpy()
    return out


class TimingModel:
    """p7 / p14 classifiers, expected purchase days in the next 7 (Poisson), the wait until the
    next purchase (loss chosen on the most recent training point that sees the whole horizon)
    and its 20% / 80% quantiles. Any part that cannot be fitted is served by ``rule_predict``.

    Stored in skops' format (``recommender.persist``: no pickle)."""

    def __init__(self, settings: TimingSettings | None = None, key: str = "type", min_days=3):
        self.settings = settings or TimingSettings()
        self.key, self.min_days = key, min_days
        self.models: dict[str, object] = {}
        self.days_loss: str | None = None
        self.validation: dict[str, float] = {}  # MAE of each days loss on its validation point
        self.key_rates: pd.DataFrame | None = None  # ``key_rates`` at the cutoff

    def fit(self, purchases: pd.DataFrame, products: pd.DataFrame, cutoff) -> TimingModel:
        """Train on the points ``settings.offsets`` days before ``cutoff`` (nothing after it)."""
        s = self.settings
        frame = training_frame(purchases, products, cutoff, s.points, self.key, self.min_days)
        return self.fit_frame(frame)

    def fit_frame(self, frame: pd.DataFrame) -> TimingModel:
        """Train on a ``training_frame`` (at ``settings.points``; only ``offsets`` are fitted)."""
        with threadpool_limits(self.settings.threads, user_api="openmp"):
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> TimingModel:
        s = self.settings
        self.models, self.validation, self.days_loss = {}, {}, None
        self.key_rates = key_rates(frame, 0, s.rate_span)
        rates = [
            with_key_rates(rows, key_rates(frame, w, s.rate_span))[KEY_RATE_FEATURES]
            for w, rows in frame.groupby("window")
            if w in s.offsets
        ]
        frame = frame[frame["window"].isin(s.offsets)]
        if rates:
            frame = frame.join(pd.concat(rates))
        else:
            frame = with_key_rates(frame, None)
        seen = frame[frame["window"] >= 14]
        seen = seen.sample(min(len(seen), s.max_rows), random_state=s.random_state)
        for name, days in (("p7", 7), ("p14", 14)):
            y = (seen["next_days"] < days).to_numpy()
            if len(seen) >= s.min_rows and 0 < y.sum() < len(y):
                # no early stopping: its random 10% hold-out moved AUC by ~0.001 between runs
                model = self._tree(HistGradientBoostingClassifier, early_stopping=False)
                self.models[name] = model.fit(_x(seen, KEY_RATE_FEATURES), y)
        if len(seen) >= s.min_rows and seen["days7"].sum() > 0:
            self.models["n7"] = self._tree(HistGradientBoostingRegressor, loss="poisson").fit(
                _x(seen, KEY_RATE_FEATURES), seen["days7"].to_numpy()
            )
        back = frame[(frame["window"] >= s.horizon) & (frame["next_days"] < s.horizon)]
        back = back.sample(min(len(back), s.max_rows), random_state=s.random_state)
        if len(back) < s.min_rows:
            return self
        self.days_loss = s.days_loss or self._choose_loss(back)
        loss, log = DAYS_LOSSES[self.days_loss]
        self.models["days"] = self._regressor(back, loss, log)
        for name, q in (("low", 0.2), ("high", 0.8)):
            self.models[name] = self._regressor(back, "quantile", True, quantile=q)
        return self

    def _tree(self, cls, **kw):
        s = self.settings
        return cls(
            max_iter=s.iterations,
            learning_rate=s.learning_rate,
            max_leaf_nodes=s.leaves,
            min_samples_leaf=s.min_leaf,
            l2_regularization=s.l2,
            random_state=s.random_state,
            **kw,
        )

    def _regressor(self, rows: pd.DataFrame, loss: str, log: bool, **kw):
        y = rows["next_days"].to_numpy(dtype=np.float64)
        model = self._tree(HistGradientBoostingRegressor, loss=loss, **kw)
        return model.fit(_x(rows), np.log1p(y) if log else y), log

    def _choose_loss(self, rows: pd.DataFrame) -> str:
        """The loss with the lowest MAE on the most recent point, trained on the older ones."""
        last = rows["window"].min()
        train, valid = rows[rows["window"] > last], rows[rows["window"] == last]
        if len(train) < self.settings.min_rows or valid.empty:
            return "absolute_error_log"
        for name, (loss, log) in DAYS_LOSSES.items():
            pred = _regress(self._regressor(train, loss, log), _x(valid))
            self.validation[name] = float(np.abs(pred - valid["next_days"]).mean())
        return min(self.validation, key=self.validation.get)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """``household``, ``key``, ``at``, ``p7``, ``p14``, ``n7``, ``days`` (expected wait for
        the next purchase, given one within the horizon), ``low`` / ``high`` (its 20% / 80%
        quantiles), ``next`` (date) and ``source`` ("model" or "rule")."""
        out = rule_predict(features, self.settings.horizon)
        if features.empty or not self.models:
            return out
        x = _x(features)
        rated = _x(with_key_rates(features, self.key_rates), KEY_RATE_FEATURES)
        with threadpool_limits(self.settings.threads, user_api="openmp"):
            predicted = {
                name: self._predict_one(name, model, rated if name in RATED else x)
                for name, model in self.models.items()
            }
        for name, values in predicted.items():
            out[name] = values
        out["p14"] = np.maximum(out["p14"], out["p7"])
        out["low"] = np.minimum(out["low"], out["days"])
        out["high"] = np.maximum(out["high"], out["days"])
        return finish(out, "model" if "p14" in self.models else "rule")

    def _predict_one(self, name: str, model, x: np.ndarray) -> np.ndarray:
        if name in ("p7", "p14"):
            return model.predict_proba(x)[:, 1]
        if name == "n7":
            return model.predict(x)
        return np.clip(_regress(model, x), 0.0, self.settings.horizon)

    def save(self, directory: Path) -> Path:
        """Write ``FILE`` in ``directory`` (and remove the pickle an older Dash wrote)."""
        rates = self.key_rates
        state = {
            "settings": asdict(self.settings),
            "key": self.key,
            "min_days": self.min_days,
            "models": self.models,  # trees; the wait's regressors as (trees, fitted on log1p)
            "days_loss": self.days_loss,
            "validation": self.validation,
            "key_rates": None
            if rates is None
            else {"key": rates.index.tolist(), **{c: rates[c].to_numpy() for c in rates}},
        }
        path = persist.dump(state, Path(directory) / FILE)
        path.with_suffix(".joblib").unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, directory: Path) -> TimingModel:
        state = persist.load(Path(directory) / FILE)
        model = cls(TimingSettings(**state["settings"]), state["key"], state["min_days"])
        model.models = dict(state["models"])
        model.days_loss, model.validation = state["days_loss"], dict(state["validation"])
        rates = state["key_rates"]
        if rates is not None:
            index = pd.Index(rates["key"], name="key")
            model.key_rates = pd.DataFrame({c: rates[c] for c in ("n", "y", "r")}, index=index)
        return model


def _x(frame: pd.DataFrame, extra: list[str] | tuple = ()) -> np.ndarray:
    return frame[FEATURES + list(extra)].to_numpy(dtype=np.float64)


def _regress(fitted: tuple, x: np.ndarray) -> np.ndarray:
    model, log = fitted
    pred = model.predict(x)
    return np.expm1(pred) if log else pred
