"""The operator dashboard: anticipatory demand as a chart, the device fleet, offer performance,
and the recommender's benchmark results (the last `make bench` and evaluation reports)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from shop import fleet
from shop.catalog import add_product
from shop.errors import DomainError
from shop.forecast import demand_forecast
from shop.models import Category
from shop.parsing import parse_cents
from shop.web.access import operator_page, store

bp = Blueprint("dashboard", __name__)

#: Categories drawn as their own series in the forecast chart; the rest are summed as "other".
CHART_SERIES = 8


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def forecast_chart(report: dict, series: int = CHART_SERIES) -> dict:
    """Units per day for the busiest categories summed over areas (stacked bars), plus per-area
    totals, from a ``demand_forecast`` report."""
    by_category: dict[str, list[float]] = {}
    by_area: dict[str, list[float]] = {}
    n = len(report.get("days", []))
    for row in report.get("rows", []):
        units = row.get("units", [0.0] * n)
        for target, key in ((by_category, row.get("category")), (by_area, row.get("area"))):
            acc = target.setdefault(str(key), [0.0] * n)
            for i, u in enumerate(units):
                acc[i] += u
    ranked = sorted(by_category.items(), key=lambda kv: -sum(kv[1]))
    top, rest = ranked[:series], ranked[series:]
    datasets = [{"label": k, "data": [round(u, 1) for u in v]} for k, v in top]
    if rest:
        other = [round(sum(v[i] for _, v in rest), 1) for i in range(n)]
        datasets.append({"label": "other", "data": other})
    return {
        "days": report.get("days", []),
        "datasets": datasets,
        "areas": {k: [round(u, 1) for u in v] for k, v in sorted(by_area.items())},
        "model": report.get("model"),
    }


def _models():  # noqa: ANN202
    return current_app.extensions["dash.resolver"].models()


@bp.get("/dashboard")
@operator_page
def dashboard():
    settings = current_app.extensions["dash.settings"]
    with store().session() as s:
        devices = fleet.devices(s)
        return render_template(
            "dashboard.html",
            devices=devices,
            online=sum(d.online for d in devices),
            unknown=fleet.unknown_barcodes(s),
            categories=s.execute(select(Category.id, Category.name).order_by(Category.name)).all(),
            offer_stats=fleet.offer_performance(s),
            bench=_read_json(settings.bench_report),
            evaluation=_read_json(settings.evaluation_report),
            plots=sorted(p.name for p in settings.plots_dir.glob("*.png")),
        )


@bp.post("/dashboard/unknown/<code>")
@operator_page
def add_unknown(code: str):
    """Put a scanned, unknown barcode into the catalog, so the next scan of it lands in a cart."""
    form = request.form
    cents = parse_cents(form.get("price", "")) or 0  # not a number: add_product's message
    try:
        with store().session() as s:
            product = add_product(
                s,
                code,
                name=form.get("name", ""),
                brand=form.get("brand", ""),
                category_id=form.get("category", ""),
                price_cents=cents,
                size=form.get("size", ""),
            )
            flash(f"Added {product.name} ({product.gtin}) to the catalog.", "ok")
    except DomainError as exc:
        flash(f"{code}: {exc.message}", "error")
    return redirect(url_for("dashboard.dashboard") + "#unknown")


@bp.get("/dashboard/forecast.json")
@operator_page
def forecast_data():
    models = _models()
    with store().session() as s:
        report = demand_forecast(s, 7, getattr(models, "timing", None) if models else None)
    return jsonify({**forecast_chart(report), "as_of": report["as_of"]})


@bp.get("/dashboard/scans.json")
@operator_page
def scans_data():
    with store().session() as s:
        return jsonify(fleet.scans_per_hour(s))


@bp.get("/dashboard/plots/<name>")
@operator_page
def plot(name: str):
    """One evaluation plot; only the PNG files of the plots directory, by bare name."""
    plots = current_app.extensions["dash.settings"].plots_dir
    if name not in {p.name for p in plots.glob("*.png")}:
        abort(404)
    return send_file(plots / name, mimetype="image/png", max_age=60)
