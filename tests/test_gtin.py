import pytest
import yaml

from shop import gtin
from shop.catalog import DEMO_CATALOG
from shop.errors import InvalidInput


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("2000000001012", "2000000001012"),
        ("036000291452", "0036000291452"),  # UPC-A becomes GTIN-13
        ("00036000291452", "0036000291452"),  # GTIN-14 with leading zero
        ("96385074", "96385074"),  # EAN-8
        (" 2000000001012 ", "2000000001012"),
    ],
)
def test_valid_codes_normalize(code, expected):
    assert gtin.normalize(code) == expected


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("2000000001013", "check digit"),
        ("20000000010", "digits"),
        ("20000A0001012", "characters other than digits"),
        ("0000000000000", "all zeros"),
        ("123456", "UPC-E"),
        ("01234565", "UPC-E"),
        ("9800000000007", "coupon"),
        ("", "empty"),
    ],
)
def test_invalid_codes_explain_why(code, reason):
    with pytest.raises(InvalidInput, match=reason):
        gtin.normalize(code)


def test_non_string_rejected():
    with pytest.raises(InvalidInput):
        gtin.normalize(2000000001012)  # type: ignore[arg-type]


def test_make_restricted_is_valid_and_in_range():
    code = gtin.make_restricted("29", 1095275)
    assert gtin.normalize(code) == code
    assert gtin.is_restricted(code)
    with pytest.raises(ValueError):
        gtin.make_restricted("50", 1)


def test_every_demo_gtin_is_valid_unique_and_restricted():
    data = yaml.safe_load(DEMO_CATALOG.read_text())
    codes = [p["gtin"] for c in data["categories"] for p in c["products"]]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert gtin.normalize(code) == code
        assert gtin.is_restricted(code), code
