"""What the purchase history says at one moment, computed once and shared by every ranker.

All statistics count *baskets* (a shopping trip buying a product twice counts once), which is
what "how often do they buy it" means to a household.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.store_promotions import main_stores

RECENT_DAYS = 56
DECAY_HALF_LIFE_DAYS = 60.0
NEVER = 9_999.0


@dataclass
class History:
    now: pd.Timestamp
    lines: pd.DataFrame  # purchases before ``now`` with product attributes joined
    own: pd.DataFrame  # per (household, product)
    own_type: pd.DataFrame  # per (household, type)
    popularity: pd.DataFrame  # per product (index), with type
    households: pd.DataFrame  # per household: label, deal and price habits, main store
    manufacturer: pd.DataFrame  # per (household, manufacturer): baskets
    category_manufacturer: pd.DataFrame  # per (household, category, manufacturer): baskets

    @property
    def active_products(self) -> pd.Index:
        """Products sold recently: the ones a household can actually be given."""
        pop = self.popularity
        return pop.index[pop["recent"] > 0]


def build_history(
    purchases: pd.DataFrame,
    products: pd.DataFrame,
    now: pd.Timestamp,
    popularity: pd.DataFrame | None = None,
    only: pd.Index | None = None,
) -> History:
    """Statistics of ``purchases`` before ``now``.

    ``popularity`` (a previous history's table, saved with the models) skips the item side: the
    live shop then only reads the asking household's own purchases. ``only`` keeps the
    per-household tables to those households (the item side and ``lines`` still count
    everyone): the same rows as the full tables, in a third of the time on Complete Journey."""
    every_line, every_basket = _lines(purchases, products, now)
    lines, by_basket = every_line, every_basket
    if only is not None:
        lines = every_line[every_line["household"].isin(only)]
        by_basket = every_basket[every_basket["household"].isin(only)]
    own = _own(lines, by_basket)
    own_type = _own_type(by_basket, own)
    if popularity is not None:
        pop = popularity
    elif only is None:
        pop = _popularity(lines, by_basket, own, products)
    else:
        pop = _popularity(every_line, every_basket, _own_counts(every_basket), products)
    lines_rel = lines["unit_paid"] / lines["price"].replace(0, np.nan)
    households = pd.DataFrame(
        {
            "private_share": lines.groupby("household")["private_label"].mean(),
            "deal_share": lines.groupby("household")["discounted"].mean(),
            "price_index": lines_rel.groupby(lines["household"]).median(),
            "baskets": lines.groupby("household")["basket"].nunique(),
        }
    )
    households["store"] = main_stores(lines)  # NaN without a ``store`` column (one shop)
    manufacturer = by_basket.groupby(["household", "manufacturer"]).size().rename("baskets")
    by_category = by_basket.groupby(["household", "category", "manufacturer"]).size()
    return History(
        now,
        every_line,
        own,
        own_type,
        pop,
        households,
        manufacturer.reset_index(),
        by_category.rename("baskets").reset_index(),
    )


def item_popularity(
    purchases: pd.DataFrame, products: pd.DataFrame, now: pd.Timestamp
) -> pd.DataFrame:
    """``build_history(...).popularity`` without the per-household tables: what `dash train`
    saves for the live shop (``items.parquet``), in less than half the time."""
    lines, by_basket = _lines(purchases, products, now)
    return _popularity(lines, by_basket, _own_counts(by_basket), products)


def _own(lines: pd.DataFrame, by_basket: pd.DataFrame) -> pd.DataFrame:
    """Per (household, product): how often, how lately, at what price and on what deals."""
    own = by_basket.groupby(["household", "product"]).agg(
        baskets=("basket", "size"),
        last_age=("age", "min"),
        first_age=("age", "max"),
        decayed=("decay", "sum"),
        type=("type", "first"),
        category=("category", "first"),
        manufacturer=("manufacturer", "first"),
        size=("size", "first"),
    )
    own["unit_paid"] = lines.groupby(["household", "product"])["unit_paid"].mean()
    own["deal_share"] = lines.groupby(["household", "product"])["discounted"].mean()
    last3 = by_basket.sort_values("ts").groupby(["household", "type"]).tail(3)
    own["in_last3"] = last3.groupby(["household", "product"]).size()
    own["in_last3"] = own["in_last3"].fillna(0)
    return own.reset_index()


def _own_counts(by_basket: pd.DataFrame) -> pd.DataFrame:
    """Per (household, product): baskets and type, all ``_popularity`` reads of ``_own``."""
    return (
        by_basket.groupby(["household", "product"])
        .agg(baskets=("basket", "size"), type=("type", "first"))
        .reset_index()
    )


def _lines(
    purchases: pd.DataFrame, products: pd.DataFrame, now: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines before ``now`` with product attributes, age and unit price; and one row per
    (household, product, basket)."""
    lines = purchases[purchases["ts"] < now].join(
        products[["type", "category", "manufacturer", "private_label", "price", "size"]],
        on="product",
    )
    age = (now - lines["ts"]).dt.total_seconds().to_numpy() / 86_400.0
    lines = lines.assign(
        age=age,
        decay=0.5 ** (age / DECAY_HALF_LIFE_DAYS),
        unit_paid=(lines["paid"] + lines["discount"]) / lines["quantity"].clip(lower=1),
        discounted=(lines["discount"] > 0).astype(float),
    )
    return lines, lines.drop_duplicates(["household", "product", "basket"])


def _popularity(lines, by_basket, own, products) -> pd.DataFrame:
    """Per product: how many baskets, lately and overall, and its standing within its type."""
    recent = by_basket[by_basket["age"] <= RECENT_DAYS]
    pop = pd.DataFrame(index=products.index)
    pop["type"] = products["type"]
    pop["category"] = products["category"]
    pop["all"] = by_basket.groupby("product").size().reindex(pop.index, fill_value=0)
    pop["recent"] = recent.groupby("product").size().reindex(pop.index, fill_value=0)
    last_week = by_basket[by_basket["age"] <= 14]
    pop["last_week"] = last_week.groupby("product").size().reindex(pop.index, fill_value=0)
    pop["discount_rate"] = (
        lines[lines["age"] <= 28].groupby("product")["discounted"].mean().reindex(pop.index)
    ).fillna(0.0)
    # Loyalty products: the share of their buyers who came back for them.
    repeat = (own["baskets"] >= 2).groupby(own["product"]).mean()
    pop["repeat_rate"] = repeat.reindex(pop.index).fillna(0.0)
    pop["buyers"] = own.groupby("product").size().reindex(pop.index, fill_value=0)
    # What households pick the first time they buy a type, and the average household's share:
    # the priors for a household new to the type (heavy buyers dominate plain counts).
    first = by_basket.sort_values("ts").drop_duplicates(["household", "type"])
    pop["first_picks"] = first.groupby("product").size().reindex(pop.index, fill_value=0)
    type_buyers = first.groupby("type").size()
    pop["first_share"] = (pop["first_picks"] / pop["type"].map(type_buyers)).fillna(0.0)
    in_type = own.groupby(["household", "type"])["baskets"].transform("sum")
    avg = (own["baskets"] / in_type).groupby(own["product"]).sum()
    pop["household_share"] = (avg.reindex(pop.index) / pop["type"].map(type_buyers)).fillna(0.0)
    type_week = pop.groupby("type")["last_week"].transform("sum").replace(0, np.nan)
    pop["share_week"] = (pop["last_week"] / type_week).fillna(0.0)
    pop["product_age"] = lines.groupby("product")["age"].max().reindex(pop.index).fillna(0.0)
    type_all = pop.groupby("type")["all"].transform("sum").replace(0, np.nan)
    type_recent = pop.groupby("type")["recent"].transform("sum").replace(0, np.nan)
    pop["share_all"] = (pop["all"] / type_all).fillna(0.0)
    pop["share_recent"] = (pop["recent"] / type_recent).fillna(0.0)
    pop["rank_recent"] = pop.groupby("type")["recent"].rank(ascending=False, method="first")
    pop["rel_price"] = products["price"] / products.groupby("type")["price"].transform("median")
    pop["price"] = products["price"]
    pop["private_label"] = products["private_label"].astype(float)
    pop["manufacturer"] = products["manufacturer"]
    pop["size"] = products["size"]
    return pop


def _own_type(by_basket: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """Per (household, type): how much, how varied, how often it switches, what it had last."""
    seq = by_basket.sort_values(["household", "type", "ts"])
    same_pair = (seq["household"].shift() == seq["household"]) & (
        seq["type"].shift() == seq["type"]
    )
    switched = same_pair & (seq["product"].shift() != seq["product"])
    seq = seq.assign(switched=switched.astype(float), pair=same_pair.astype(float))
    grouped = seq.groupby(["household", "type"])
    out = grouped.agg(
        baskets=("basket", "nunique"),
        distinct=("product", "nunique"),
        last_product=("product", "last"),
        last_manufacturer=("manufacturer", "last"),
        last_age=("age", "min"),
        switches=("switched", "sum"),
        pairs=("pair", "sum"),
    )
    out["switch_rate"] = (out["switches"] / out["pairs"].replace(0, np.nan)).fillna(0.5)
    usual = own.sort_values("baskets", ascending=False).drop_duplicates(["household", "type"])
    usual = usual.set_index(["household", "type"])
    out["usual_product"] = usual["product"]
    out["usual_size"] = usual["size"]
    out["usual_manufacturer"] = usual["manufacturer"]
    out["usual_unit_paid"] = usual["unit_paid"]
    return out.drop(columns=["switches", "pairs"]).reset_index()
