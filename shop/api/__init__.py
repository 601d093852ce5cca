"""Flask application factory: the shop API under /api and the web pages (chat, household,
operator dashboard)."""

from __future__ import annotations

import secrets

from flask import Flask

from shop.api.errors import register_error_handlers
from shop.config import Settings
from shop.parsing import IdConverter
from shop.replenishment import CycleCache
from shop.resolve import ProductResolver
from shop.store import Store
from shop.web import register_pages


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """Build the app from explicit settings (default: the environment) and an optional store."""
    settings = settings or (store.settings if store else Settings.from_env())
    store = store or Store(settings)
    app = Flask(__name__, template_folder="../web/templates", static_folder="../web/static")
    app.url_map.converters["int"] = IdConverter  # before any route: ids past 2**63 - 1 are 404
    # Without a configured secret, logins last as long as this process and the action server
    # cannot check chat tickets (the web chat is then anonymous); `dash demo` sets one.
    secret = settings.secret_key or secrets.token_urlsafe(32)
    app.secret_key = secret
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["dash.store"] = store
    app.extensions["dash.search"] = {}
    app.extensions["dash.resolver"] = ProductResolver(settings.models_dir)
    app.extensions["dash.cycles"] = CycleCache()
    app.extensions["dash.secret"] = secret
    app.extensions["dash.settings"] = settings
    register_error_handlers(app)

    from shop.api.routes import bp
    from shop.api.time_routes import bp as time_bp

    app.register_blueprint(bp)
    app.register_blueprint(time_bp)
    register_pages(app)
    return app
