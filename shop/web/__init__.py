"""The web pages: server-rendered with Flask, a little JavaScript, vendored Chart.js and
socket.io client (shop/web/static/vendor, refreshed by `make vendor`)."""

from __future__ import annotations

from flask import Flask

from shop.serialize import money


def register_pages(app: Flask) -> None:
    from shop.web import access, chat, dashboard, household

    for module in (access, chat, household, dashboard):
        app.register_blueprint(module.bp)
    app.jinja_env.globals.update(csrf_token=access.csrf_token, viewer=access.viewer)
    app.jinja_env.filters["dollars"] = lambda cents: f"${money(cents or 0):,.2f}"
    app.jinja_env.filters["label"] = product_label


def product_label(product: dict) -> str:
    """ "Heinz Tomato Ketchup", not "Heinz Heinz Tomato Ketchup": most catalog names already
    start with the brand. (static/cart.js does the same.)"""
    name, brand = product["name"], product["brand"]
    return name if name.lower().startswith(brand.lower()) else f"{brand} {name}"
