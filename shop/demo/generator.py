"""Seeded generator of demo households and 12 months of purchase history.

Pure: it takes the catalog and :class:`Params` and returns plain records, so the same seed
and end date always give the same data (absolute dates shift with ``end``, nothing else).
The model, in the order things are drawn (all documented in the README, "Demo data"):

1. **Segments** (:data:`SEGMENTS`) fix household size, children, income band, how price
   sensitive the household is and how loyal to its brands (a Beta distribution per segment).
   Diapers and baby wipes are bought only by households with a baby; cat and dog food only by
   pet owners (30% and 35%).
2. **Brand choice**: for each category the household takes part in (85% of staples), it draws
   a favourite and a second product. Weights combine catalog order (the first products listed
   are the market leaders), price tier against price sensitivity (private labels attract
   price-sensitive households, premium products the others) and a **segment favourite** worth
   3x, so households in one segment share tastes: the "people like you" signal.
3. **Purchase cycles**: each (household, category) has an interval = the category's
   ``repurchase_days`` x a household factor (lognormal, sigma 0.25) / sqrt(household size)^0.5;
   gaps between purchases are Gamma(shape 4) around it, so cycles are regular but noisy.
4. **Switching and promotions**: every week each category has a promoted product with
   probability 0.5 (15-30% off). On a purchase the household takes the promoted product with
   probability ``price_sensitivity x 0.6`` when it is not their favourite; otherwise it keeps
   its favourite with probability ``loyalty`` and else switches (70% to its second product).
5. **Baskets**: a household shops every 3-7 days; each due purchase is bought on its next
   shopping trip, so purchases come in realistic baskets.
6. **Members and explicit preferences**: one or two adults plus children; 20% of households
   have a member with a preference of their own (a product other than the household's
   favourite) and 10% a household-level preference for their favourite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

SEGMENTS: dict[str, dict] = {
    # name: size range, kids range, baby probability, income bands, price sensitivity (mean),
    # loyalty Beta(a, b), share of households
    "young single": dict(
        size=(1, 1),
        kids=(0, 0),
        baby=0.0,
        income=["15-24K", "25-34K", "35-49K"],
        price=0.6,
        loyalty=(6, 2),
        share=0.2,
    ),
    "couple": dict(
        size=(2, 2),
        kids=(0, 0),
        baby=0.0,
        income=["50-74K", "75-99K", "100-124K"],
        price=0.35,
        loyalty=(8, 2),
        share=0.25,
    ),
    "young family": dict(
        size=(3, 5),
        kids=(1, 3),
        baby=0.8,
        income=["35-49K", "50-74K", "75-99K"],
        price=0.55,
        loyalty=(7, 2),
        share=0.2,
    ),
    "family with teens": dict(
        size=(4, 5),
        kids=(2, 3),
        baby=0.0,
        income=["50-74K", "75-99K", "125-149K"],
        price=0.45,
        loyalty=(6, 3),
        share=0.2,
    ),
    "retirees": dict(
        size=(1, 2),
        kids=(0, 0),
        baby=0.0,
        income=["25-34K", "35-49K", "50-74K"],
        price=0.4,
        loyalty=(12, 2),
        share=0.15,
    ),
}
AGE_BANDS = {
    "young single": "19-24",
    "couple": "25-34",
    "young family": "35-44",
    "family with teens": "45-54",
    "retirees": "65+",
}
AREAS = ["north", "south", "east", "west"]
ADULT_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Jamie",
    "Riley",
    "Tom",
    "Anna",
    "Maria",
    "David",
    "Lena",
    "Omar",
    "Grace",
    "Hugo",
    "Nina",
    "Paul",
]
CHILD_NAMES = ["Mia", "Leo", "Ella", "Max", "Ivy", "Noah", "Zoe", "Finn"]
BABY_CATEGORIES = {"diapers", "baby-wipes"}
PET_CATEGORIES = {"cat-food": 0.30, "dog-food": 0.35}


@dataclass(frozen=True)
class Params:
    seed: int = 42
    households: int = 60
    days: int = 365
    end: date = field(default_factory=date.today)
    staple_participation: float = 0.85
    promo_probability: float = 0.5
    segment_favourite_weight: float = 3.0


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    category_id: str
    brand: str
    price_cents: int
    private_label: bool


@dataclass
class GenHousehold:
    id: int
    name: str
    segment: str
    household_size: int
    kids: int
    income_band: str
    age_band: str
    area: str
    members: list[tuple[str, str]]  # (name, role)
    preferences: list[tuple[str | None, str, int]]  # (member name or None, category, product)
    favourites: dict[str, int]


@dataclass(frozen=True)
class GenPurchase:
    household_id: int
    product_id: int
    quantity: int
    price_paid_cents: int
    discount_cents: int
    purchased_at: datetime
    basket_id: str


@dataclass
class DemoData:
    households: list[GenHousehold]
    purchases: list[GenPurchase]


def generate(
    products: list[CatalogProduct], repurchase_days: dict[str, int], params: Params
) -> DemoData:
    rng = np.random.default_rng(params.seed)
    by_cat: dict[str, list[CatalogProduct]] = {}
    for p in sorted(products, key=lambda p: p.id):
        by_cat.setdefault(p.category_id, []).append(p)
    categories = sorted(by_cat)
    segment_names = list(SEGMENTS)
    shares = np.array([SEGMENTS[s]["share"] for s in segment_names])
    # Each segment has a favourite product per category: shared taste within a segment.
    segment_fav = {
        (seg, cat): by_cat[cat][int(rng.integers(len(by_cat[cat])))].id
        for seg in segment_names
        for cat in categories
    }
    promos = _weekly_promotions(rng, by_cat, params)
    start = params.end - timedelta(days=params.days)

    households: list[GenHousehold] = []
    purchases: list[GenPurchase] = []
    for hid in range(1, params.households + 1):
        seg = segment_names[int(rng.choice(len(segment_names), p=shares / shares.sum()))]
        spec = SEGMENTS[seg]
        size = int(rng.integers(spec["size"][0], spec["size"][1] + 1))
        kids = min(int(rng.integers(spec["kids"][0], spec["kids"][1] + 1)), max(size - 1, 0))
        has_baby = kids > 0 and rng.random() < spec["baby"]
        price_sens = float(np.clip(rng.normal(spec["price"], 0.15), 0.0, 1.0))
        loyalty = float(rng.beta(*spec["loyalty"]))
        adults = size - kids
        names = list(rng.choice(ADULT_NAMES, size=adults, replace=False))
        members = [(str(n), "adult") for n in names]
        members += [(str(n), "child") for n in rng.choice(CHILD_NAMES, size=kids, replace=False)]
        cats = [
            c
            for c in categories
            if (c in BABY_CATEGORIES and has_baby)
            or (c in PET_CATEGORIES and rng.random() < PET_CATEGORIES[c])
            or (
                c not in BABY_CATEGORIES
                and c not in PET_CATEGORIES
                and rng.random() < params.staple_participation
            )
        ]
        favourites: dict[str, int] = {}
        seconds: dict[str, int] = {}
        for cat in cats:
            first, second = _pick_two(rng, by_cat[cat], price_sens, segment_fav[(seg, cat)], params)
            favourites[cat], seconds[cat] = first, second
        prefs: list[tuple[str | None, str, int]] = []
        if cats and rng.random() < 0.2:
            cat = cats[int(rng.integers(len(cats)))]
            others = [p.id for p in by_cat[cat] if p.id != favourites[cat]]
            prefs.append((members[0][0], cat, int(rng.choice(others))))
        if cats and rng.random() < 0.1:
            cat = cats[int(rng.integers(len(cats)))]
            if not any(c == cat for _, c, _ in prefs):
                prefs.append((None, cat, favourites[cat]))
        households.append(
            GenHousehold(
                id=hid,
                name=f"{names[0]}'s household",
                segment=seg,
                household_size=size,
                kids=kids,
                income_band=str(rng.choice(spec["income"])),
                age_band=AGE_BANDS[seg],
                area=AREAS[int(rng.integers(len(AREAS)))],
                members=members,
                preferences=prefs,
                favourites=favourites,
            )
        )
        trip_every = int(rng.integers(3, 8))
        trip_offset = int(rng.integers(trip_every))
        for cat in cats:
            interval = (
                repurchase_days[cat] * float(rng.lognormal(0.0, 0.25)) / math.sqrt(size) ** 0.5
            )
            day = float(rng.uniform(0, interval))
            while day < params.days:
                trip = _next_trip(day, trip_every, trip_offset)
                if trip >= params.days:
                    break
                when = start + timedelta(days=trip)
                week = trip // 7
                product, discount = _choose(
                    rng,
                    by_cat[cat],
                    favourites[cat],
                    seconds[cat],
                    promos.get((week, cat)),
                    loyalty,
                    price_sens,
                )
                qty = 2 if rng.random() < (0.3 if discount else 0.08) else 1
                price = product.price_cents * qty
                off = int(round(price * discount))
                purchases.append(
                    GenPurchase(
                        household_id=hid,
                        product_id=product.id,
                        quantity=qty,
                        price_paid_cents=price - off,
                        discount_cents=off,
                        purchased_at=datetime.combine(when, time(hour=int(10 + (hid + trip) % 9))),
                        basket_id=f"demo-{hid}-{trip}",
                    )
                )
                day = trip + max(1.0, float(rng.gamma(4.0, interval / 4.0)))
    purchases.sort(key=lambda p: (p.purchased_at, p.household_id, p.product_id))
    return DemoData(households=households, purchases=purchases)


def _weekly_promotions(rng, by_cat, params: Params) -> dict[tuple[int, str], tuple[int, float]]:
    promos = {}
    for week in range(params.days // 7 + 1):
        for cat, items in sorted(by_cat.items()):
            if rng.random() < params.promo_probability:
                pick = items[int(rng.integers(len(items)))]
                promos[(week, cat)] = (pick.id, float(rng.choice([0.15, 0.2, 0.25, 0.3])))
    return promos


def _pick_two(rng, items: list[CatalogProduct], price_sens: float, seg_fav: int, params: Params):
    prices = np.array([p.price_cents for p in items], dtype=float)
    median = float(np.median(prices))
    weights = []
    for rank, p in enumerate(items):
        w = 1.0 / (rank + 1) ** 0.8
        if p.private_label:
            w *= 1.0 + 2.0 * price_sens
        elif p.price_cents > 1.3 * median:
            w *= 1.0 + 2.0 * (1.0 - price_sens) - price_sens
        if p.id == seg_fav:
            w *= params.segment_favourite_weight
        weights.append(max(w, 0.05))
    probs = np.array(weights) / sum(weights)
    first, second = rng.choice(len(items), size=2, replace=False, p=probs)
    return items[int(first)].id, items[int(second)].id


def _next_trip(day: float, every: int, offset: int) -> int:
    d = math.ceil(day)
    return d + ((offset - d) % every)


def _choose(rng, items, favourite, second, promo, loyalty, price_sens):
    by_id = {p.id: p for p in items}
    if promo is not None:
        promo_id, discount = promo
        if promo_id == favourite:
            return by_id[favourite], discount
        if rng.random() < price_sens * 0.6:
            return by_id[promo_id], discount
    if rng.random() < loyalty:
        pick = favourite
    elif rng.random() < 0.7:
        pick = second
    else:
        pick = items[int(rng.integers(len(items)))].id
    discount = promo[1] if promo is not None and promo[0] == pick else 0.0
    return by_id[pick], discount
