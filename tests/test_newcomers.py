"""New households as they shop (``recommender.newcomers``): who is known when, on synthetic
data with known answers, and the table against a slow reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import nextbasket
from recommender.basket_eval import basket_points, fit_basket_ranker, fit_household_ranker
from recommender.history import build_history
from recommender.hybrid import HybridSettings, HybridTrainer, features_of
from recommender.newcomers import (
    DEMOGRAPHICS_ONLY,
    OURS_NEWCOMERS,
    STEP,
    NewcomerLists,
    joiners,
    newcomer_recs,
    newcomer_table,
    weekly_points,
)
from recommender.ranker import RankerSettings
from tests.test_recommender import START, synthetic

HELD = np.array([3, 4, 9])  # two households of group X (odd ids), one of group Y
CUTOFF = START + pd.Timedelta(days=180)
END = START + pd.Timedelta(days=240)


@pytest.fixture(scope="module")
def shopping():
    data = synthetic()
    warm = data.restrict(set(data.households.index) - set(HELD))
    fit_point = CUTOFF - pd.Timedelta(days=56)
    p = warm.purchases
    trainer = HybridTrainer(
        data.products,
        warm.households,
        p.loc[p["ts"] < CUTOFF, "household"].unique(),
        HybridSettings(components=8, epochs=20, threads=1),
    )
    first = trainer.fit(p[p["ts"] < fit_point], progress=False)
    refreshed = trainer.refresh(p[p["ts"] < CUTOFF], progress=False)
    points = basket_points(p, data.products, fit_point)
    settings = RankerSettings(objective="lambdarank", iterations=30, min_leaf=3)
    rankers = (
        fit_basket_ranker(warm, points, first, CUTOFF, settings),
        fit_household_ranker(data, warm, points, first, CUTOFF, settings),
    )
    lists = newcomer_recs(data, warm, HELD, refreshed, rankers, (CUTOFF, END), 3)
    return data, lists


def test_weekly_points_start_at_the_cutoff_and_stop_before_the_end():
    cutoff = pd.Timestamp("2017-11-01")
    assert weekly_points(cutoff, cutoff + pd.Timedelta(days=14)) == [
        cutoff,
        cutoff + pd.Timedelta(days=7),
    ]
    assert len(weekly_points(cutoff, cutoff + pd.Timedelta(days=15))) == 3
    assert weekly_points(cutoff, cutoff) == []


def test_each_newcomer_basket_is_counted_once_and_only_held_out_ones(shopping):
    data, lists = shopping
    p = data.purchases
    window = p[p["household"].isin(HELD) & (p["ts"] >= CUTOFF) & (p["ts"] < END)]
    baskets = window.groupby(["household", "basket"])["product"].agg(set)
    assert {h for h, _ in lists.truth} == set(HELD)
    # everyone in the synthetic data shops once a week: every basket follows a weekly point
    for h in HELD:
        theirs = [lists.truth[u] for u in sorted(lists.truth) if u[0] == h]
        assert theirs == list(baskets.loc[h]), h
    # the first basket is the one before which the household had not shopped since joining
    for h in HELD:
        weeks = sorted(w for g, w in lists.truth if g == h)
        assert (h, weeks[0]) not in lists.shopped
        assert all((h, w) in lists.shopped for w in weeks[1:])


def test_a_newcomer_is_known_by_what_it_bought_since_joining_not_before(shopping):
    data, lists = shopping
    freq, pop = lists.methods["personal frequency"], lists.methods["popularity"]
    demographic = lists.methods[DEMOGRAPHICS_ONLY]
    for unit in lists.truth:
        if unit not in lists.shopped:
            # its years of purchases before the cutoff are not the shop's to know
            assert freq[unit] == pop[unit], unit
            assert lists.methods[OURS_NEWCOMERS][unit] == demographic[unit], unit
    # once it has shopped, what it bought on every trip since joining leads our list
    p = data.purchases
    window = p[p["household"].isin(HELD) & (p["ts"] >= CUTOFF)]
    for h, week in lists.shopped:
        trips = window[(window["household"] == h) & (window["ts"] < CUTOFF + week * STEP)]
        always = set.intersection(*trips.groupby("basket")["product"].agg(set))
        assert always, (h, week)
        assert set(lists.methods[OURS_NEWCOMERS][(h, week)][: len(always)]) == always, (h, week)


def test_newcomer_table_matches_a_slow_reference():
    rng = np.random.default_rng(3)
    folds = []
    for households in ([1, 2, 3], [4, 5]):
        fold = NewcomerLists()
        for h in households:
            for week in sorted(rng.choice(8, size=int(rng.integers(1, 6)), replace=False)):
                unit = (h, int(week))
                fold.truth[unit] = set(rng.choice(20, size=int(rng.integers(1, 6)), replace=False))
                if week != min(w for g, w in fold.truth if g == h):
                    fold.shopped.add(unit)
                for name in ("popularity", OURS_NEWCOMERS):
                    fold.methods.setdefault(name, {})[unit] = list(rng.permutation(20)[:10])
        folds.append(fold)
    table = newcomer_table(folds, k=10)
    truth = {u: b for f in folds for u, b in f.truth.items()}
    shopped = set().union(*(f.shopped for f in folds))
    assert table["households"] == 5 and table["baskets"] == len(truth)
    assert table["baskets_after_first"] == len(shopped)

    def recall(name, unit):
        picks = next(f.methods[name][unit] for f in folds if unit in f.truth)
        return len(set(picks[:10]) & truth[unit]) / len(truth[unit])

    def mean_of_means(name, keep):
        per = {}
        for unit in truth:
            if keep(unit):
                per.setdefault(unit[0], []).append(recall(name, unit))
        return round(float(np.mean([np.mean(v) for v in per.values()])), 4)

    for name in ("popularity", OURS_NEWCOMERS):
        row = table[name]
        assert row["recall"] == mean_of_means(name, lambda u: True)
        assert row["recall_first"] == mean_of_means(name, lambda u: u not in shopped)
        assert row["recall_after_first"] == mean_of_means(name, lambda u: u in shopped)
        for week, value in enumerate(row["by_week"]):
            units = [u for u in truth if u[1] == week]
            expected = round(float(np.mean([recall(name, u) for u in units])), 4) if units else None
            assert value == expected
    (interval,) = table["intervals"].values()  # no demographics-only lists here
    assert interval["units"] == 5 and interval["against"] == "popularity"
    assert interval["ours"] == table[OURS_NEWCOMERS]["recall"]


def test_newcomer_table_of_nobody_is_empty():
    assert newcomer_table([NewcomerLists()], k=10) == {"households": 0}


def test_a_households_basket_features_do_not_depend_on_who_is_scored_beside_it():
    """The features of one household's candidates are the same whether it is scored alone or
    in a batch (``pop_week`` once summed over the frame's rows: the held-out batch of 159
    households then read a different scale from the training batches)."""
    data = synthetic()
    now = START + pd.Timedelta(days=150)
    hist = build_history(data.purchases, data.products, now)
    train = data.purchases[data.purchases["ts"] < now]
    everyone = pd.Index(sorted(data.households.index))
    for build in (
        lambda hh: nextbasket.basket_frame(hist, train, hh, None, data.households),
        lambda hh: nextbasket.cold_frame(hist, hh, None, data.households),
    ):
        batch = build(everyone)
        alone = build(pd.Index([3]))
        mine = batch[batch["household"] == 3].sort_values("product").reset_index(drop=True)
        pd.testing.assert_frame_equal(alone.sort_values("product").reset_index(drop=True), mine)


def test_simulated_joiners_lose_their_lines_before_joining_and_no_one_else_does():
    data = synthetic()
    p = data.purchases
    point = START + pd.Timedelta(days=150)
    before = p[p["ts"] < point]
    lines, shopped = joiners(p, point, np.random.default_rng(0), share=0.5, weeks=3)
    again, _ = joiners(p, point, np.random.default_rng(0), share=0.5, weeks=3)
    pd.testing.assert_frame_equal(lines, again)  # seeded
    assert (lines["ts"] < point).all()
    first = lines.groupby("household")["ts"].min()
    cut = first[first > before.groupby("household")["ts"].min().reindex(first.index)]
    assert set(cut.index) == set(shopped) and len(shopped) == 20  # half of 41, all weekly
    for h in shopped:  # joined 1..3 whole weeks before the point, every line since kept
        joined_days = (point - first[h]).days
        assert 0 <= joined_days < 21
        mine = before[(before["household"] == h) & (before["ts"] >= first[h])]
        assert len(lines[lines["household"] == h]) == len(mine)
    others = before[~before["household"].isin(shopped)]
    assert len(lines) - len(lines[lines["household"].isin(shopped)]) == len(others)


def test_strangers_are_scored_by_lightfm_from_their_demographics_only(shopping):
    """Simulated joiners were in LightFM's training; the ranker must read them the way it
    will read real newcomers, whom LightFM has never seen."""
    data, _ = shopping
    p = data.purchases
    now = START + pd.Timedelta(days=150)
    trainer = HybridTrainer(
        data.products,
        data.households,
        p["household"].unique(),
        HybridSettings(components=8, epochs=5, threads=1),
    )
    hybrid = trainer.fit(p[p["ts"] < now], progress=False)
    hist = build_history(p, data.products, now)
    hh = pd.Index([3])
    known = nextbasket.basket_frame(hist, p[p["ts"] < now], hh, hybrid, data.households)
    stranger = nextbasket.basket_frame(
        hist, p[p["ts"] < now], hh, hybrid, data.households, strangers=True
    )
    feats = features_of(data.households, 3)
    expected = hybrid.scores(None, stranger["product"].to_numpy(), feats)
    np.testing.assert_allclose(stranger["lfm_score"], expected)
    own = hybrid.scores(3, known["product"].to_numpy(), feats)
    np.testing.assert_allclose(known["lfm_score"], own)
    assert not np.allclose(own, hybrid.scores(None, known["product"].to_numpy(), feats))
