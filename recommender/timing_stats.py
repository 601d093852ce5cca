"""What a household's purchase history says about its next purchase of each type, at one moment.

``timing_features`` gives one row per (household, key value): the household's own intervals,
the same intervals shrunk toward the key's pooled cycle (few intervals say little on their own),
its purchase rate, how active the household is right now and what it bought last. The
lognormal helpers turn a shrunk interval into probabilities and waits; ``next_purchases`` and
``training_frame`` label earlier moments with what happened after them.

Days are whole calendar days. ``days_since`` counts from the last purchase day to the day of
``at``; "within 7 days" means on day 0..6 after ``at`` (day 0 is ``at``'s own day, so at
midnight the cutoff day itself counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

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
parent_days_since parent_rate parent_share stock_days own_hazard_7 own_hazard_14 key_hazard_7
key_hazard_14
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
    last_units = days["units"].to_numpy()[end]
    f["last_units"] = last_units / f["units"].where(f["units"] > 0)
    f["last_deal"] = days["deal"].to_numpy()[end]
    use = (f["units"] * f["n_days"] - last_units) / (f["last_day"] - f["first_day"])  # a day
    f["stock_days"] = last_units / use.where(use > 0) - (today - f["last_day"])
    f["deal_share"] = np.bincount(pair, days["deal"].to_numpy()) / f["n_days"]
    for width in (7, 14):  # distinct blocks of ``width`` days (counted back from ``at``) bought in
        back = np.maximum(age.astype(np.int64) - 1, 0) // width  # today's purchases: block 0
        block = np.unique(pair * np.int64(1 << 20) + back)
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
    _empirical_hazard(f, gaps, today)
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
    # purchase days per day observed: since the household's first purchase of anything
    f["rate"] = f["n_days"] / np.maximum(today - f["hh_first_day"], 1)
    f["rate_pair"] = f["n_days"] / np.maximum(today - f["first_day"], 1)
    f["share"] = f["n_days"] / f["hh_days"]
    for width in (7, 14):  # share of the household's blocks of ``width`` days with a purchase
        blocks = np.maximum((today - f["hh_first_day"]) // width, 1)
        f[f"cover_{width}"] = f[f"blocks_{width}"] / blocks
    f["recent_cover_14"] = f["recent_blocks_14"] / np.minimum(blocks, 84 // 14)  # last 12 weeks
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


def _empirical_hazard(f: pd.DataFrame, gaps: pd.DataFrame, today: int) -> None:
    """Share of past gaps that ended within d more days among those at least as long as the
    current wait: the pair's own gaps, and the key's pooled over all households."""
    since = (today - f["last_day"]).to_numpy(dtype=np.float64)
    g, who = gaps["gap"].to_numpy(), gaps["pair"].to_numpy()
    s = since[who]
    longer = np.bincount(who, g >= s, len(f))
    keys = f["key"].to_numpy()
    pooled = {k: np.sort(v) for k, v in gaps.groupby(keys[who])["gap"]}
    for d in (7, 14):
        ended = np.bincount(who, (g >= s) & (g < s + d), len(f))
        f[f"own_hazard_{d}"] = np.where(longer > 0, ended / np.maximum(longer, 1), np.nan)
    key_hazard = {7: np.full(len(f), np.nan), 14: np.full(len(f), np.nan)}
    for k, rows in pd.Series(np.arange(len(f))).groupby(keys):
        sorted_gaps = pooled.get(k)
        if sorted_gaps is None:
            continue
        at_least = len(sorted_gaps) - np.searchsorted(sorted_gaps, since[rows], "left")
        for d in (7, 14):
            ended = np.searchsorted(sorted_gaps, since[rows] + d, "left") - (
                len(sorted_gaps) - at_least
            )
            key_hazard[d][rows] = np.where(at_least > 0, ended / np.maximum(at_least, 1), np.nan)
    for d in (7, 14):
        f[f"key_hazard_{d}"] = key_hazard[d]


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
