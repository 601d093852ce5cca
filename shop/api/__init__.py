"""Flask application factory for the shop API (and, later, the web pages)."""

from __future__ import annotations

from flask import Flask

from shop.api.errors import register_error_handlers
from shop.config import Settings
from shop.resolve import ProductResolver
from shop.store import Store


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """Build the app from explicit settings (default: the environment) and an optional store."""
    settings = settings or (store.settings if store else Settings.from_env())
    store = store or Store(settings)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["dash.store"] = store
    app.extensions["dash.search"] = {}
    app.extensions["dash.resolver"] = ProductResolver(settings.models_dir)
    register_error_handlers(app)

    from shop.api.routes import bp
    from shop.api.time_routes import bp as time_bp

    app.register_blueprint(bp)
    app.register_blueprint(time_bp)
    return app
