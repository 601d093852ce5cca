"""Which product of a category does this household mean?

The order of evidence follows what people expect from a shop assistant: an explicit preference
(the speaking member's before the household's), then the household's own history (frequency,
weighted by recency), then what households like this one buy, then plain popularity. The
confidence says how sure the choice is, so the conversation can ask "Heinz 20 oz or 32 oz?"
instead of guessing when a household switches a lot or has no history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

#: Purchases lose half their weight after this many days.
HALF_LIFE_DAYS = 120.0

REASON_MEMBER = "{member}'s preference"
REASON_PREFERENCE = "you set this preference"
REASON_USUAL = "your usual"
REASON_HISTORY = "you bought it before"
REASON_SEGMENT = "popular with households like yours"
REASON_BESTSELLER = "bestseller"

BIG_WORDS = {"big", "bigger", "biggest", "large", "larger", "largest", "family", "jumbo", "huge"}
SMALL_WORDS = {"small", "smaller", "smallest", "little", "mini", "regular"}


@dataclass(frozen=True)
class Candidate:
    product_id: int
    brand: str
    size: str = ""
    size_value: float | None = None
    price_cents: int = 0


@dataclass(frozen=True)
class Preference:
    product_id: int | None = None
    brand: str | None = None
    member: str | None = None  # None: the household's own preference


@dataclass
class Signals:
    """Everything known about the household and the category, gathered by the store."""

    history: Mapping[int, list[datetime]] = field(default_factory=dict)
    preferences: list[Preference] = field(default_factory=list)
    segment_popularity: Mapping[int, float] = field(default_factory=dict)
    popularity: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolution:
    product_id: int | None
    alternatives: tuple[int, ...]
    reason: str
    confidence: float
    #: True when the top choices are close enough that the assistant should ask.
    ambiguous: bool = False


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def filter_candidates(
    candidates: list[Candidate], brand: str | None = None, size: str | None = None
) -> list[Candidate]:
    """Apply what was said: a brand ("Hunt's") and/or a size ("32 oz", "the big one")."""
    out = candidates
    if brand:
        wanted = _norm(brand)
        same = [c for c in out if wanted and (wanted in _norm(c.brand) or _norm(c.brand) in wanted)]
        out = same or out
    if size:
        words = set(size.lower().split())
        sized = [c for c in out if c.size_value is not None]
        if words & BIG_WORDS and sized:
            top = max(c.size_value for c in sized)
            out = [c for c in sized if c.size_value == top]
        elif words & SMALL_WORDS and sized:
            low = min(c.size_value for c in sized)
            out = [c for c in sized if c.size_value == low]
        else:
            exact = [c for c in out if _norm(c.size) and _norm(c.size) == _norm(size)]
            out = exact or out
    return out


def history_scores(history: Mapping[int, Iterable[datetime]], now: datetime) -> dict[int, float]:
    """Recency-weighted purchase counts per product."""
    scores: dict[int, float] = {}
    for pid, times in history.items():
        scores[pid] = sum(
            math.exp(-math.log(2) * max((now - t).days, 0) / HALF_LIFE_DAYS) for t in times
        )
    return scores


def resolve(
    candidates: list[Candidate],
    signals: Signals,
    now: datetime,
    *,
    member: str | None = None,
) -> Resolution:
    """Rank ``candidates`` (already filtered by what was said) for one household."""
    if not candidates:
        return Resolution(None, (), "", 0.0)
    ids = [c.product_id for c in candidates]
    by_brand = {c.product_id: _norm(c.brand) for c in candidates}
    own = history_scores({p: t for p, t in signals.history.items() if p in by_brand}, now)
    popular = {p: signals.popularity.get(p, 0.0) for p in ids}
    segment = {p: signals.segment_popularity.get(p, 0.0) for p in ids}

    def fallback_key(pid: int) -> tuple:
        return (-own.get(pid, 0.0), -segment[pid], -popular[pid], pid)

    ordered = sorted(ids, key=fallback_key)

    prefs = sorted(
        (p for p in signals.preferences if p.member is None or p.member == member),
        key=lambda p: p.member is None,  # the speaking member's own preference first
    )
    for pref in prefs:
        if pref.product_id in by_brand:
            chosen = pref.product_id
        elif pref.brand and any(by_brand[p] == _norm(pref.brand) for p in ids):
            chosen = next(p for p in ordered if by_brand[p] == _norm(pref.brand))
        else:
            continue
        reason = REASON_MEMBER.format(member=pref.member) if pref.member else REASON_PREFERENCE
        rest = tuple(p for p in ordered if p != chosen)[:3]
        return Resolution(chosen, rest, reason, 0.95)

    total_own = sum(own.values())
    if total_own > 0:
        chosen = ordered[0]
        share = own[chosen] / total_own
        runner_up = own.get(ordered[1], 0.0) / total_own if len(ordered) > 1 else 0.0
        bought = len(signals.history.get(chosen, []))
        reason = REASON_USUAL if (share >= 0.5 and bought >= 2) else REASON_HISTORY
        confidence = round(min(0.95, 0.45 + 0.5 * share), 3)
        return Resolution(
            chosen,
            tuple(ordered[1:4]),
            reason,
            confidence,
            ambiguous=share - runner_up < 0.15,
        )

    if any(segment.values()):
        chosen = ordered[0]
        total = sum(segment.values())
        share = segment[chosen] / total
        runner_up = segment[ordered[1]] / total if len(ordered) > 1 else 0.0
        return Resolution(
            chosen,
            tuple(ordered[1:4]),
            REASON_SEGMENT,
            round(0.35 + 0.3 * share, 3),
            ambiguous=share - runner_up < 0.1,
        )
    chosen = ordered[0]
    return Resolution(chosen, tuple(ordered[1:4]), REASON_BESTSELLER, 0.35)
