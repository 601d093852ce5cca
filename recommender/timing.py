"""Repurchase timing: when will a household buy a product type again, and how sure are we?

The first cycle rule (``cycles.due``) reads one number, the median gap. Measured on Complete
Journey a plain purchase rate predicts better than any per-household interval, and a constant
beats them all at guessing the date, so this module keeps both kinds of evidence side by side:

- ``timing_features``: one row per (household, key value) at a moment ``at``: the household's
  own intervals, the same intervals shrunk toward the key's pooled cycle (few intervals say
  little on their own), its purchase rate, and how active the household is right now;
- ``rule_predict``: a pure lognormal rule over the shrunk interval, for when there is no fitted
  model or too little data to fit one (the live demo store is small);
- ``TimingModel``: gradient-boosted trees trained on earlier
  time points, with the rule as its fallback.

Days are whole calendar days. ``days_since`` counts from the last purchase day to the day of
``at``; "within 7 days" means on day 0..6 after ``at`` (day 0 is ``at``'s own day, so at
midnight the cutoff day itself counts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

PRIOR_PAIRS = 10.0  # a key bought by fewer regular households leans on the all-keys prior
SPREAD_PRIOR = 3.0  # pseudo-intervals pulling a pair's own spread toward its key's
MIN_TAU2 = 0.02  # floor of the between-household variance of log cycles
MIN_SIGMA2 = 0.02  # floor of the within-household variance of log gaps (clockwork buyers)
RECENT_DAYS = 28

ID_COLUMNS = ["household", "key", "at", "first", "last"]
FEATURES = """
n_days span_days days_since mean_interval median_interval last_interval recent_interval log_sd
shrunk_interval spread ratio ratio_median z rate rate_pair units share trips_since
trips_per_purchase trips_ratio hh_baskets_28 hh_days_since hh_days hh_day_rate
key_median_interval key_households key_trend rule_p7 rule_p14 recent_28 recent_91 decayed
hh_trend last_units last_deal deal_share hh_last_trip cover_7 cover_14 recent_cover_14
parent_days_since parent_rate parent_share
""".split()


def day_numbers(ts) -> np.ndarray:
    """Calendar days since 1970 (int64) of timestamps."""
    return np.asarray(ts, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def purchase_days(
    purchases: pd.DataFrame, products: pd.DataFrame, at: pd.Timestamp, key: str = "type"
) -> pd.DataFrame:
    """Distinct purchase days per (household, key) before ``at``, with the units bought that day.

    Sorted by household, key and day; products missing from ``products`` are left out."""
    lines = purchases[purchases["ts"] < at]
    frame = pd.DataFrame(
        {
            "household": lines["household"].to_numpy(),
            "key": products[key].reindex(lines["product"].to_numpy()).to_numpy(),
            "day": day_numbers(lines["ts"]),
            "units": lines["quantity"].to_numpy(dtype=np.float64),
            "deal": (lines["discount"] > 0).to_numpy(dtype=np.float64),
        }
    ).dropna(subset=["key"])
    by = frame.groupby(["household", "key", "day"], sort=True)
    return by.agg(units=("units", "sum"), deal=("deal", "max")).reset_index()


def timing_features(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    at: pd.Timestamp,
    key: str = "type",
    min_days: int = 3,
) -> pd.DataFrame:
    """Timing statistics at ``at`` of every (household, key) bought on ``min_days`` days or more.

    Columns: ``ID_COLUMNS`` (the key value is in ``key``) and ``FEATURES``. Only purchases
    strictly before ``at`` are read. Key-level statistics (pooled cycle, prior) use every
    household in ``purchases``, so pass the whole shop, not one household's lines."""
    at = pd.Timestamp(at)
    today = int(day_numbers([at])[0])
    days = purchase_days(purchases, products, at, key)
    if days.empty:
        return pd.DataFrame(columns=ID_COLUMNS + FEATURES + ["shrunk_log"])
    hh, keys, day = (days[c].to_numpy() for c in ("household", "key", "day"))
    new = np.r_[True, (hh[1:] != hh[:-1]) | (keys[1:] != keys[:-1])]
    pair = np.cumsum(new) - 1
    start = np.flatnonzero(new)
    end = np.r_[start[1:], len(day)] - 1
    gap = np.r_[np.nan, np.diff(day).astype(np.float64)]
    gap[new] = np.nan

    f = pd.DataFrame(
        {
            "household": hh[start],
            "key": keys[start],
            "first_day": day[start],
            "last_day": day[end],
            "n_days": np.bincount(pair).astype(np.float64),
            "units": np.bincount(pair, days["units"].to_numpy()) / np.bincount(pair),
        }
    )
    age = (today - day).astype(np.float64)
    f["recent_28"] = np.bincount(pair, age <= RECENT_DAYS)
    f["recent_91"] = np.bincount(pair, age <= 91)
    f["decayed"] = np.bincount(pair, 0.5 ** (age / 30.0))
    f["last_units"] = days["units"].to_numpy()[end] / f["units"].where(f["units"] > 0)
    f["last_deal"] = days["deal"].to_numpy()[end]
    f["deal_share"] = np.bincount(pair, days["deal"].to_numpy()) / f["n_days"]
    for width in (7, 14):  # distinct blocks of ``width`` days (counted back from ``at``) bought in
        block = np.unique(pair * np.int64(1 << 20) + (age.astype(np.int64) - 1) // width)
        cover = np.bincount(block >> 20, minlength=len(f))
        recent = np.bincount(block >> 20, (block & ((1 << 20) - 1)) < 84 // width, len(f))
        f[f"blocks_{width}"], f[f"recent_blocks_{width}"] = cover, recent
    gaps = pd.DataFrame({"pair": pair, "gap": gap, "log": np.log(gap)}).dropna()
    by = gaps.groupby("pair")
    f["mean_interval"] = by["gap"].mean()
    f["median_interval"] = by["gap"].median()
    f["last_interval"] = by["gap"].last()
    f["recent_interval"] = gaps.groupby("pair").tail(3).groupby("pair")["gap"].mean()
    f["log_mean"] = by["log"].mean()
    f["log_ss"] = by["log"].var(ddof=0) * by["log"].size()
    _shrink(f, gaps.assign(key=f["key"].to_numpy()[gaps["pair"].to_numpy()]))
    _household_activity(f, purchases[purchases["ts"] < at], days, today)
    _key_trend(f, days, today)
    _parent(f, purchases, products, at, key, today)

    f = f[f["n_days"] >= min_days].reset_index(drop=True)
    f["at"] = at
    f["first"] = pd.to_datetime(f["first_day"].to_numpy(), unit="D")
    f["last"] = pd.to_datetime(f["last_day"].to_numpy(), unit="D")
    f["days_since"] = (today - f["last_day"]).astype(np.float64)
    f["span_days"] = (f["last_day"] - f["first_day"]).astype(np.float64)
    f["ratio"] = f["days_since"] / f["shrunk_interval"]
    f["ratio_median"] = f["days_since"] / f["median_interval"].clip(lower=1.0)
    f["z"] = (np.log(f["days_since"] + 0.5) - f["shrunk_log"]) / f["spread"]
    f["rate"] = f["n_days"] / np.maximum(today - f["hh_first_day"], 1)
    f["rate_pair"] = f["n_days"] / np.maximum(today - f["first_day"], 1)
    f["share"] = f["n_days"] / f["hh_days"]
    for width in (7, 14):
        blocks = np.maximum((today - f["hh_first_day"]) // width, 1)
        f[f"cover_{width}"] = f[f"blocks_{width}"] / blocks
    f["recent_cover_14"] = f["recent_blocks_14"] / np.minimum(blocks, 84 // 14)
    f["hh_trend"] = f["hh_baskets_28"] / (f["hh_day_rate"] * RECENT_DAYS)
    f["trips_ratio"] = f["trips_since"] / f["trips_per_purchase"].clip(lower=1.0)
    for d in (7, 14):
        f[f"rule_p{d}"] = lognormal_within(f["days_since"], f["shrunk_log"], f["spread"], d)
    return f[ID_COLUMNS + FEATURES + ["shrunk_log"]]


def _shrink(f: pd.DataFrame, gaps: pd.DataFrame) -> None:
    """Empirical Bayes: each pair's mean log interval pulled toward its key's typical cycle.

    Per key, from pairs with two or more intervals: ``mu`` (mean of the pairs' log cycles),
    ``sigma2`` (variance of log intervals within a pair) and ``tau2`` (variance of the true log
    cycle between households, method of moments). A pair with ``n`` intervals weighs its own
    mean by ``n / sigma2`` against ``1 / tau2`` for the key's; keys bought by few households
    are themselves pulled toward the all-keys values."""
    f["key_median_interval"] = f["key"].map(gaps.groupby("key")["gap"].median())
    n_int = f["n_days"] - 1
    regular = f[n_int >= 2].assign(n=n_int)
    regular = regular.assign(samp=regular["log_ss"] / (regular["n"] - 1))
    dof = (regular["n"] - 1).sum()
    g_sigma2 = max(regular["log_ss"].sum() / dof, MIN_SIGMA2) if dof > 0 else 0.5
    g_mu = regular["log_mean"].mean() if len(regular) else np.log(14.0)
    g_tau2 = max(regular["log_mean"].var() - (g_sigma2 / regular["n"]).mean(), MIN_TAU2)
    if not np.isfinite(g_tau2):
        g_tau2 = 0.5
    by = regular.groupby("key")
    k = pd.DataFrame(
        {
            "count": by.size(),
            "mu": by["log_mean"].mean(),
            "sigma2": by["log_ss"].sum() / (by["n"].sum() - by.size()).clip(lower=1),
            "var_m": by["log_mean"].var(),
        }
    )
    k["tau2"] = (k["var_m"] - k["sigma2"] / by["n"].mean()).clip(lower=MIN_TAU2)
    w = k["count"] / (k["count"] + PRIOR_PAIRS)
    k["mu"] = w * k["mu"] + (1 - w) * g_mu
    for col, glob in (("sigma2", g_sigma2), ("tau2", g_tau2)):
        own = np.log(k[col].clip(lower=MIN_SIGMA2).fillna(glob))
        k[col] = np.exp(w * own + (1 - w) * np.log(glob))
    mu = f["key"].map(k["mu"]).fillna(g_mu).to_numpy()
    sigma2 = f["key"].map(k["sigma2"]).fillna(g_sigma2).to_numpy()
    tau2 = f["key"].map(k["tau2"]).fillna(g_tau2).to_numpy()
    n = n_int.to_numpy()
    own = f["log_mean"].fillna(0.0).to_numpy()
    prec = n / sigma2 + 1.0 / tau2
    f["shrunk_log"] = (n * own / sigma2 + mu / tau2) / prec
    f["shrunk_interval"] = np.exp(f["shrunk_log"])
    own_var = (f["log_ss"].fillna(0.0) + SPREAD_PRIOR * sigma2) / (
        np.maximum(n - 1, 0) + SPREAD_PRIOR
    )
    f["log_sd"] = np.sqrt(f["log_ss"] / np.maximum(n, 1))
    f["spread"] = np.sqrt(own_var + 1.0 / prec)


def _household_activity(
    f: pd.DataFrame, lines: pd.DataFrame, days: pd.DataFrame, today: int
) -> None:
    """How the household shops overall: trips lately, since its last trip, between purchases."""
    households, code = np.unique(days["household"].to_numpy(), return_inverse=True)
    scale = np.int64(1 << 32)
    trips = np.unique(code.astype(np.int64) * scale + days["day"].to_numpy())  # sorted trip days
    hh_days = np.c_[households[trips // scale], trips % scale]
    pair_code = np.searchsorted(households, f["household"].to_numpy()).astype(np.int64) * scale
    at_last = np.searchsorted(trips, pair_code + f["last_day"].to_numpy(), side="right")
    at_first = np.searchsorted(trips, pair_code + f["first_day"].to_numpy(), side="left")
    hh_end = np.searchsorted(trips, pair_code + scale, side="left")
    f["trips_since"] = (hh_end - at_last).astype(np.float64)
    f["trips_per_purchase"] = (at_last - at_first - 1) / np.maximum(f["n_days"] - 1, 1)

    per_hh = pd.DataFrame({"household": hh_days[:, 0], "day": hh_days[:, 1]}).groupby("household")
    first, last, count = per_hh["day"].min(), per_hh["day"].max(), per_hh.size()
    recent = lines[day_numbers(lines["ts"]) >= today - RECENT_DAYS]
    baskets = recent.groupby("household")["basket"].nunique()
    h = f["household"]
    f["hh_first_day"] = h.map(first).to_numpy()
    f["hh_days_since"] = (today - h.map(last)).astype(np.float64).to_numpy()
    f["hh_days"] = h.map(count).astype(np.float64).to_numpy()
    f["hh_day_rate"] = f["hh_days"] / np.maximum(today - f["hh_first_day"], 1)
    f["hh_baskets_28"] = h.map(baskets).fillna(0.0).astype(np.float64).to_numpy()
    size = lines.groupby(["household", "basket"]).agg(n=("product", "size"), ts=("ts", "max"))
    size = size.sort_values("ts").groupby(level="household")["n"]
    f["hh_last_trip"] = (h.map(size.last()) / h.map(size.mean())).to_numpy()
    f["key_households"] = f["key"].map(days.groupby("key")["household"].nunique()).astype(float)


PARENT = {"type": "category"}  # the wider group whose purchases can stand in for a key's


def _parent(
    f: pd.DataFrame, purchases: pd.DataFrame, products: pd.DataFrame, at, key: str, today: int
) -> None:
    """The same household's purchases in the key's wider group (another milk instead of this
    one): days since, rate, and the key's share of them. NaN when there is no such group."""
    parent = PARENT.get(key)
    cols = ("parent_days_since", "parent_rate", "parent_share")
    if parent not in products.columns:
        f[list(cols)] = np.nan
        return
    days = purchase_days(purchases, products, at, parent)
    by = days.groupby(["household", "key"])["day"]
    stats = pd.DataFrame({"last": by.max(), "n": by.size()})
    group = products.groupby(key)[parent].first()
    index = pd.MultiIndex.from_arrays([f["household"], f["key"].map(group)])
    last, n = (stats[c].reindex(index).to_numpy(dtype=np.float64) for c in ("last", "n"))
    f[cols[0]] = today - last
    f[cols[1]] = n / np.maximum(today - f["hh_first_day"], 1)
    f[cols[2]] = f["n_days"] / n


def _key_trend(f: pd.DataFrame, days: pd.DataFrame, today: int) -> None:
    """Is the key selling more lately (season, promotion)? Log ratio of the last 4 weeks'
    purchase days to the 8 weeks before, all households pooled."""
    age = today - days["day"]
    recent = days[age <= RECENT_DAYS].groupby("key").size()
    before = days[(age > RECENT_DAYS) & (age <= 3 * RECENT_DAYS)].groupby("key").size()
    both = pd.concat([recent, before], axis=1).fillna(0.0)
    trend = np.log((both.iloc[:, 0] + 1.0) / (both.iloc[:, 1] / 2.0 + 1.0))
    f["key_trend"] = f["key"].map(trend).fillna(0.0).to_numpy()


def lognormal_within(days_since, log_median, spread, days: int) -> np.ndarray:
    """P(next purchase within ``days`` | none in the ``days_since`` days since the last one),
    with the gap between purchases lognormal(``log_median``, ``spread``)."""
    s = np.asarray(days_since, dtype=np.float64)
    mu, sd = np.asarray(log_median, dtype=np.float64), np.asarray(spread, dtype=np.float64)
    z0 = (np.log(np.maximum(s - 0.5, 1e-3)) - mu) / sd
    z1 = (np.log(s + days - 0.5) - mu) / sd
    return np.clip(-np.expm1(norm.logsf(z1) - norm.logsf(z0)), 0.0, 1.0)


def lognormal_remaining(days_since, log_median, spread, q: float, horizon: float) -> np.ndarray:
    """Days from now to the ``q`` quantile of the next purchase, given none so far (capped)."""
    s = np.asarray(days_since, dtype=np.float64)
    mu, sd = np.asarray(log_median, dtype=np.float64), np.asarray(spread, dtype=np.float64)
    z0 = (np.log(np.maximum(s - 0.5, 1e-3)) - mu) / sd
    with np.errstate(over="ignore", divide="ignore"):
        zq = norm.isf((1.0 - q) * norm.sf(z0))
        gap = np.exp(mu + sd * zq)
    return np.clip(np.nan_to_num(gap - s, nan=horizon, posinf=horizon), 0.0, horizon)


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


def next_purchases(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    at: pd.Timestamp,
    until: pd.Timestamp,
    key: str = "type",
) -> pd.DataFrame:
    """What happened after ``at`` (up to ``until``), per (household, key) bought again:
    ``next_days`` (days from ``at``'s day to the first purchase day) and ``days7`` (purchase
    days among the first 7)."""
    window = purchases[purchases["ts"] >= at]
    days = purchase_days(window, products, until, key)
    offset = days["day"] - int(day_numbers([pd.Timestamp(at)])[0])
    by = days.assign(offset=offset, early=(offset < 7).astype(float)).groupby(["household", "key"])
    return pd.DataFrame({"next_days": by["offset"].min(), "days7": by["early"].sum()}).reset_index()


def training_frame(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    cutoff: pd.Timestamp,
    offsets: tuple[int, ...],
    key: str = "type",
    min_days: int = 3,
) -> pd.DataFrame:
    """Features at ``cutoff - offset`` days for each offset, labelled from what the households
    bought between that point and ``cutoff``; ``window`` is the number of days observed after
    it. Nothing at or after ``cutoff`` is read."""
    before = purchases[purchases["ts"] < cutoff]
    frames = []
    for offset in offsets:
        at = pd.Timestamp(cutoff) - pd.Timedelta(days=offset)
        feats = timing_features(before, products, at, key, min_days)
        labels = next_purchases(before, products, at, cutoff, key)
        frames.append(
            feats.merge(labels, on=["household", "key"], how="left").assign(window=offset)
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["days7"] = frame["days7"].fillna(0.0)
    return frame


@dataclass
class TimingSettings:
    offsets: tuple[int, ...] = (14, 28, 42, 56, 70, 84, 98, 112)  # training points, days back
    horizon: int = 61  # ``days`` is the wait of pairs bought again within this many days
    iterations: int = 300
    learning_rate: float = 0.06
    leaves: int = 31
    min_leaf: int = 40
    l2: float = 1.0
    max_rows: int = 250_000  # rows sampled per fitted model (time on two cores)
    min_rows: int = 200  # fewer rows (or one class): keep the rule
    random_state: int = 0
    threads: int | None = 1  # OpenMP threads; more oversubscribes a shared machine (5x slower)


#: Candidate losses for the days regressor: (sklearn loss, fit on log1p days).
DAYS_LOSSES = {
    "absolute_error": ("absolute_error", False),
    "absolute_error_log": ("absolute_error", True),
    "squared_error_log": ("squared_error", True),
}
FILE = "timing.joblib"


class TimingModel:
    """p7 / p14 classifiers, expected purchase days in the next 7 (Poisson), the wait until the
    next purchase (loss chosen on the most recent training point that sees the whole horizon)
    and its 20% / 80% quantiles. Any part that cannot be fitted is served by ``rule_predict``.

    Persistence is joblib (pickle): load only from a directory you trust."""

    def __init__(self, settings: TimingSettings | None = None, key: str = "type", min_days=3):
        self.settings = settings or TimingSettings()
        self.key, self.min_days = key, min_days
        self.models: dict[str, object] = {}
        self.days_loss: str | None = None
        self.validation: dict[str, float] = {}  # MAE of each days loss on its validation point

    def fit(self, purchases: pd.DataFrame, products: pd.DataFrame, cutoff) -> TimingModel:
        """Train on the points ``settings.offsets`` days before ``cutoff`` (nothing after it)."""
        s = self.settings
        frame = training_frame(purchases, products, cutoff, s.offsets, self.key, self.min_days)
        return self.fit_frame(frame)

    def fit_frame(self, frame: pd.DataFrame) -> TimingModel:
        """Train on a ``training_frame``."""
        with threadpool_limits(self.settings.threads, user_api="openmp"):
            return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> TimingModel:
        s = self.settings
        self.models, self.validation, self.days_loss = {}, {}, None
        seen = frame[frame["window"] >= 14]
        seen = seen.sample(min(len(seen), s.max_rows), random_state=s.random_state)
        for name, days in (("p7", 7), ("p14", 14)):
            y = (seen["next_days"] < days).to_numpy()
            if len(seen) >= s.min_rows and 0 < y.sum() < len(y):
                self.models[name] = self._tree(HistGradientBoostingClassifier).fit(_x(seen), y)
        if len(seen) >= s.min_rows and seen["days7"].sum() > 0:
            self.models["n7"] = self._tree(HistGradientBoostingRegressor, loss="poisson").fit(
                _x(seen), seen["days7"].to_numpy()
            )
        back = frame[(frame["window"] >= s.horizon) & (frame["next_days"] < s.horizon)]
        back = back.sample(min(len(back), s.max_rows), random_state=s.random_state)
        if len(back) < s.min_rows:
            return self
        self.days_loss = self._choose_loss(back)
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
        with threadpool_limits(self.settings.threads, user_api="openmp"):
            predicted = {
                name: self._predict_one(name, model, x) for name, model in self.models.items()
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
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in vars(self).items() if k != "settings"}
        joblib.dump({"settings": asdict(self.settings), **state}, directory / FILE)
        return directory / FILE

    @classmethod
    def load(cls, directory: Path) -> TimingModel:
        state = joblib.load(Path(directory) / FILE)
        model = cls(TimingSettings(**state.pop("settings")))
        vars(model).update(state)
        return model


def _x(frame: pd.DataFrame) -> np.ndarray:
    return frame[FEATURES].to_numpy(dtype=np.float64)


def _regress(fitted: tuple, x: np.ndarray) -> np.ndarray:
    model, log = fitted
    pred = model.predict(x)
    return np.expm1(pred) if log else pred
