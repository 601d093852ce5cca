"""GTIN (EAN/UPC) barcodes: validation with python-stdnum and made-up codes in the
restricted-circulation range (prefixes 20-29) that can never clash with a real product."""

from __future__ import annotations

from stdnum import ean
from stdnum.exceptions import ValidationError

from shop.errors import InvalidInput

#: GS1 prefixes for coupons and refund receipts: valid check digits, but never a product.
COUPON_PREFIXES = ("05", "98", "99")


def normalize(code: str) -> str:
    """Return the code as a GTIN-13 (GTIN-14 kept as is) or raise :class:`InvalidInput`.

    Accepts GTIN-8, UPC-A (12), EAN-13 and GTIN-14. UPC-E (6 digits, or 8 starting 0 or 1)
    must be expanded by the scanner first; an all-zero code passes every check-digit
    algorithm and is rejected explicitly, and so are coupon and receipt prefixes.
    """
    if not isinstance(code, str):
        raise InvalidInput("barcode must be a string of digits")
    compact = ean.compact(code)
    if not compact:
        raise InvalidInput("barcode is empty")
    if not compact.isdigit():
        raise InvalidInput(f"barcode {code!r} contains characters other than digits")
    if set(compact) == {"0"}:
        raise InvalidInput("barcode is all zeros")
    if len(compact) == 6 or (len(compact) == 8 and compact[0] in "01"):
        # EAN-8 codes starting 0 or 1 are not issued to products (GS1 keeps 0 for in-store
        # codes), while a UPC-E printed with its number system and check digit looks exactly
        # like that.
        raise InvalidInput(f"barcode {code!r} looks like an unexpanded UPC-E; expand it first")
    if len(compact) not in (8, 12, 13, 14):
        raise InvalidInput(
            f"barcode {code!r} has {len(compact)} digits; a GTIN has 8, 12, 13 or 14"
        )
    try:
        ean.validate(compact)
    except ValidationError as exc:
        raise InvalidInput(f"barcode {code!r} has a wrong check digit") from exc
    if len(compact) == 12:
        compact = "0" + compact
    elif len(compact) == 14 and compact.startswith("0"):
        compact = compact[1:]
    if len(compact) == 13 and compact.startswith(COUPON_PREFIXES):
        raise InvalidInput(f"barcode {code!r} is a coupon or receipt code, not a product")
    return compact


def is_restricted(gtin13: str) -> bool:
    """True for the restricted-circulation range 20-29, reserved for in-store codes."""
    return len(gtin13) == 13 and gtin13[:2].isdigit() and 20 <= int(gtin13[:2]) <= 29


def make_restricted(prefix: str, number: int) -> str:
    """A valid GTIN-13 ``prefix`` + zero-padded ``number`` + check digit (prefix in 20-29)."""
    if not (len(prefix) == 2 and 20 <= int(prefix) <= 29):
        raise ValueError("restricted-circulation prefixes are 20 to 29")
    body = f"{prefix}{number:010d}"
    if len(body) != 12:
        raise ValueError(f"number {number} does not fit in 10 digits")
    return body + ean.calc_check_digit(body)
