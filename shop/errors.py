"""Domain errors: raised by the services, turned into responses in one place per front door."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    status = 400
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class LimitExceeded(DomainError):
    """An order would exceed the household's spending limit."""

    status = 422
    code = "spending_limit_exceeded"


class StoreUnavailable(DomainError):
    status = 503
    code = "store_unavailable"
