"""What the operator dashboard shows about the store: the device fleet, barcodes that scanned
but are not in the catalog, and how the offers perform. Plain queries over the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from shop import gtin
from shop.errors import InvalidInput
from shop.models import Device, Household, Offer, Product, ScanEvent, utcnow

#: The errors the bridge records for a well-formed barcode the catalog does not hold.
UNKNOWN_BARCODE_ERRORS = ("unknown barcode%", "no product with barcode%")


@dataclass(frozen=True)
class DeviceRow:
    id: str
    name: str
    household_id: int
    household: str
    mode: str
    online: bool
    revoked: bool
    last_seen_at: datetime | None
    scans_hour: int
    scans_day: int


def devices(session: Session, now: datetime | None = None) -> list[DeviceRow]:
    now = now or utcnow()
    counts: dict[str, list[int]] = {}
    for device_id, hour, day in session.execute(
        select(
            ScanEvent.device_id,
            func.sum(case((ScanEvent.received_at >= now - timedelta(hours=1), 1), else_=0)),
            func.count(),
        )
        .where(ScanEvent.received_at >= now - timedelta(days=1))
        .group_by(ScanEvent.device_id)
    ):
        counts[device_id] = [int(hour or 0), int(day)]
    rows = session.execute(
        select(Device, Household.name)
        .join(Household, Household.id == Device.household_id)
        .order_by(Device.household_id, Device.name)
    ).all()
    return [
        DeviceRow(
            d.id,
            d.name,
            d.household_id,
            name,
            d.mode,
            bool(d.online) and d.revoked_at is None,
            d.revoked_at is not None,
            d.last_seen_at,
            *counts.get(d.id, [0, 0]),
        )
        for d, name in rows
    ]


def scans_per_hour(session: Session, now: datetime | None = None, hours: int = 24) -> dict:
    """Events received per hour for the last ``hours`` hours, oldest first (for a chart)."""
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=hours - 1)
    buckets = {start + timedelta(hours=i): 0 for i in range(hours)}
    for (received,) in session.execute(
        select(ScanEvent.received_at).where(ScanEvent.received_at >= start)
    ):
        key = received.replace(minute=0, second=0, microsecond=0)
        if key in buckets:
            buckets[key] += 1
    return {
        "hours": [k.strftime("%H:00") for k in buckets],
        "events": list(buckets.values()),
    }


@dataclass(frozen=True)
class UnknownBarcode:
    barcode: str
    scans: int
    households: int
    last_seen_at: datetime
    #: What households said it was, when asked in conversation (the most common answer).
    said_to_be: Product | None = None


def unknown_barcodes(session: Session, limit: int = 50) -> list[UnknownBarcode]:
    """Barcodes devices scanned that the catalog did not know, most scanned first, as GTIN-13
    (a UPC-A and its GTIN-13 are one barcode); one added to the catalog since drops off."""
    rows = session.execute(
        select(
            ScanEvent.barcode,
            ScanEvent.household_id,
            ScanEvent.product_id,
            func.count(),
            func.max(ScanEvent.received_at),
        )
        .where(
            ScanEvent.status == "error",
            ScanEvent.barcode.is_not(None),
            or_(*(ScanEvent.error.like(p) for p in UNKNOWN_BARCODE_ERRORS)),
        )
        .group_by(ScanEvent.barcode, ScanEvent.household_id, ScanEvent.product_id)
    ).all()
    known = set(session.execute(select(Product.gtin)).scalars())
    merged: dict[str, list] = {}
    answers: dict[str, Counter] = {}
    for raw, household, product_id, n, last in rows:
        try:
            code = gtin.normalize(raw)
        except InvalidInput:
            continue
        if code in known:
            continue
        entry = merged.setdefault(code, [0, set(), last])
        entry[0] += n
        entry[1].add(household)
        entry[2] = max(entry[2], last)
        if product_id is not None:
            answers.setdefault(code, Counter())[product_id] += n
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][0], -kv[1][2].timestamp()))
    return [
        UnknownBarcode(
            code,
            n,
            len(h),
            last,
            session.get(Product, answers[code].most_common(1)[0][0]) if code in answers else None,
        )
        for code, (n, h, last) in ranked[:limit]
    ]


@dataclass(frozen=True)
class OfferStats:
    kind: str
    made: int
    accepted: int
    declined: int
    expired: int
    open: int
    discount_given_cents: int

    @property
    def acceptance(self) -> float | None:
        """Accepted over offers that got an answer or ran out (open ones are still pending)."""
        closed = self.accepted + self.declined + self.expired
        return self.accepted / closed if closed else None


def offer_performance(session: Session) -> list[OfferStats]:
    """Per kind of offer (discovery, winback, due, bestseller): what became of them and what
    the accepted ones cost in discounts."""
    rows: dict[str, dict[str, int]] = {}
    for kind, status, n in session.execute(
        select(Offer.kind, Offer.status, func.count()).group_by(Offer.kind, Offer.status)
    ):
        rows.setdefault(kind, {})[status] = n
    given = dict(
        session.execute(
            select(Offer.kind, func.sum(Product.price_cents - Offer.price_cents))
            .join(Product, Product.id == Offer.product_id)
            .where(Offer.status == "accepted")
            .group_by(Offer.kind)
        ).all()
    )
    return [
        OfferStats(
            kind,
            sum(by.values()),
            by.get("accepted", 0),
            by.get("declined", 0),
            by.get("expired", 0),
            by.get("open", 0),
            int(given.get(kind) or 0),
        )
        for kind, by in sorted(rows.items())
    ]
