"""The operator dashboard through Flask's test client: the fleet, unknown barcodes (and adding
one to the catalog), offer performance, the forecast chart's data and the plots it serves."""

from __future__ import annotations

import re
from datetime import timedelta

from shop import catalog
from shop.devices import add_device
from shop.models import Offer, Product, ScanEvent, utcnow
from shop.web.dashboard import forecast_chart
from tests.web_helpers import csrf, logged_in


def test_dashboard_shows_fleet_unknown_barcodes_and_offer_performance(web):
    app, store, tokens = web
    with store.session() as s:
        device = add_device(s, 1, "kitchen")
        now = utcnow()
        for i, barcode in enumerate(["2000000009995", "2000000009995", "4006381333931"]):
            s.add(
                ScanEvent(
                    device_id=device.id,
                    event_id=f"e{i}",
                    kind="scan",
                    barcode=barcode,
                    status="error",
                    error=f"unknown barcode {barcode}; ask the assistant to identify it",
                    household_id=1,
                    received_at=now - timedelta(minutes=i),
                    product_id=1 if i == 0 else None,  # the household said what it was
                )
            )
        s.add(
            Offer(
                household_id=1,
                product_id=1,
                discount_pct=20,
                price_cents=100,
                kind="discovery",
                status="accepted",
                expires_at=now + timedelta(days=3),
            )
        )
    client = logged_in(app, tokens["operator"])
    page = client.get("/dashboard").text
    assert "kitchen" in page and "3 / 3" in page  # scans in the last hour / day
    assert page.index("2000000009995") < page.index("4006381333931")  # most scanned first
    with store.session() as s:
        said = s.get(Product, 1)
        assert f"households say: {said.name}" in page
        assert f'value="{said.price_cents / 100:.2f}"' in page  # the add form is prefilled
    assert re.search(r"<td>discovery</td><td>1</td><td>1</td>", page)
    assert 'id="forecast-chart"' in page and "brand_resolution.png" in page
    hours = client.get("/dashboard/scans.json").json
    assert len(hours["hours"]) == 24 and hours["events"][-1] >= 1


def test_an_unknown_barcode_is_added_to_the_catalog_from_the_dashboard(web):
    app, store, tokens = web
    with store.session() as s:
        device = add_device(s, 1, "kitchen")
        for i, code in enumerate(["036000291452", "0036000291452"]):  # UPC-A and its GTIN-13
            s.add(
                ScanEvent(
                    device_id=device.id,
                    event_id=f"u{i}",
                    kind="scan",
                    barcode=code,
                    status="error",
                    error=f"no product with barcode {code}",
                    household_id=1,
                )
            )
    client = logged_in(app, tokens["operator"])
    page = client.get("/dashboard").text
    assert re.search(r"<code>0036000291452</code></td><td>2</td><td>1</td>", page)
    form = {"csrf": csrf(page), "name": "Kleenex Tissues", "brand": "Kleenex", "size": "160 ct"}
    bad = client.post(
        "/dashboard/unknown/0036000291452", data={**form, "price": "free", "category": "ketchup"}
    )
    assert bad.status_code == 302
    assert "the price must be between" in client.get("/dashboard").text
    for price in ("inf", "1e400"):  # float() takes them, round() did not: a 500
        res = client.post(
            "/dashboard/unknown/0036000291452", data={**form, "price": price, "category": "ketchup"}
        )
        assert res.status_code == 302
        assert "the price must be between" in client.get("/dashboard").text
    client.post(
        "/dashboard/unknown/0036000291452", data={**form, "price": "3.49", "category": "ketchup"}
    )
    page = client.get("/dashboard").text
    assert "Added Kleenex Tissues (0036000291452)" in page
    assert "<code>0036000291452</code>" not in page
    with store.session() as s:
        product = catalog.product_by_gtin(s, "036000291452")
        assert (product.price_cents, product.size_value, product.source) == (349, 160, "operator")
    again = client.post(
        "/dashboard/unknown/0036000291452", data={**form, "price": "1", "category": "ketchup"}
    )
    assert again.status_code == 302 and "already in the catalog" in client.get("/dashboard").text
    household = logged_in(app, tokens[1])
    token = csrf(household.get("/households/1").text)
    assert (
        household.post("/dashboard/unknown/4006381333931", data={"csrf": token}).status_code == 403
    )


def test_forecast_chart_data(web):
    app, _, tokens = web
    data = logged_in(app, tokens["operator"]).get("/dashboard/forecast.json").json
    assert len(data["days"]) == 7 and data["datasets"]
    assert all(len(d["data"]) == 7 for d in data["datasets"])
    assert len(data["datasets"]) <= 9  # 8 categories and "other"


def test_forecast_chart_sums_areas_and_folds_the_tail():
    report = {
        "days": ["d1", "d2"],
        "rows": [
            {"area": "north", "category": "Milk", "units": [3, 1]},
            {"area": "south", "category": "Milk", "units": [1, 1]},
            {"area": "north", "category": "Eggs", "units": [1, 0]},
            {"area": "north", "category": "Salt", "units": [0.2, 0.1]},
        ],
    }
    chart = forecast_chart(report, series=2)
    assert chart["datasets"] == [
        {"label": "Milk", "data": [4, 2]},
        {"label": "Eggs", "data": [1, 0]},
        {"label": "other", "data": [0.2, 0.1]},
    ]
    assert chart["areas"] == {"north": [4.2, 1.1], "south": [1, 1]}


def test_plots_are_served_only_from_the_plots_directory(web):
    app, _, tokens = web
    client = logged_in(app, tokens["operator"])
    assert client.get("/dashboard/plots/brand_resolution.png").mimetype == "image/png"
    for name in ("..%2F..%2Fpyproject.toml", "nope.png", "%2Fetc%2Fpasswd"):
        assert client.get(f"/dashboard/plots/{name}").status_code == 404
