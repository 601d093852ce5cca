"""Purchase cycles, first stage: a pure summary of when a household buys each category.

``summarize`` turns purchase times into per-category summaries; ``due`` applies the simple rule
the assistant uses to answer "what am I running low on?": due once 80% of the usual interval
has passed, and no longer once it is three intervals overdue (the household has most likely
stopped buying it there). A fitted model with uncertainty replaces the rule later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from statistics import median


@dataclass(frozen=True)
class CycleSummary:
    key: str
    purchases: int  # distinct purchase days
    first: date
    last: date
    median_interval: float | None

    def days_since(self, today: date) -> int:
        return (today - self.last).days


def summarize(times: Mapping[str, Iterable[datetime | date]]) -> list[CycleSummary]:
    out = []
    for key, values in times.items():
        days = sorted({v.date() if isinstance(v, datetime) else v for v in values})
        if not days:
            continue
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        out.append(
            CycleSummary(key, len(days), days[0], days[-1], float(median(gaps)) if gaps else None)
        )
    return out


def due(
    summaries: Iterable[CycleSummary],
    today: date,
    min_purchases: int = 3,
    early: float = 0.8,
    lapsed: float = 3.0,
) -> list[tuple[CycleSummary, float]]:
    """Summaries that are due, with how far through the cycle they are (1.0 = exactly due)."""
    out = []
    for s in summaries:
        if s.purchases < min_purchases or not s.median_interval:
            continue
        ratio = s.days_since(today) / s.median_interval
        if early <= ratio <= lapsed:
            out.append((s, ratio))
    return sorted(out, key=lambda x: (-min(x[1], 1.5), x[0].key))
