"""The one place where the API turns exceptions into JSON error responses."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from shop.errors import DomainError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **details: object):
    body: dict = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


def _wants_page() -> bool:
    """Web pages (everything outside /api, except the JSON feeds) get an HTML error page."""
    path = request.path
    return not path.startswith("/api/") and not path.endswith((".json", "/stream"))


def error_page(status: int, message: str):
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        if _wants_page():
            return error_page(exc.status, exc.message)
        return error_response(exc.status, exc.code, exc.message, **exc.details)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            message = (
                f"request body is larger than the {app.config['MAX_CONTENT_LENGTH']} bytes allowed"
            )
        if _wants_page():
            if exc.code == 403:
                message = "This page belongs to another household (or needs an operator login)."
            return error_page(exc.code or 500, message)
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        if _wants_page():
            return error_page(500, "Something went wrong on our side.")
        return error_response(500, "internal_error", "something went wrong on our side")
