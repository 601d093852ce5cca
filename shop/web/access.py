"""Who is looking at a page: login with an access token, a signed session cookie, CSRF tokens,
and the two rules the pages follow (a household sees only its own pages; the dashboard needs an
operator).

The cookie holds only the token's row id; every request re-reads the row, so revoking a token
(`dash token --revoke`) logs its browser sessions out at once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from shop.errors import Unauthorized
from shop.households import authenticate
from shop.models import ApiToken

bp = Blueprint("access", __name__)


@dataclass(frozen=True)
class Viewer:
    token_id: int
    role: str  # household | operator
    household_id: int | None

    @property
    def operator(self) -> bool:
        return self.role == "operator"

    def may_see(self, household_id: int) -> bool:
        return self.operator or self.household_id == household_id


def store():  # noqa: ANN201 - shop.store.Store, without an import cycle
    return current_app.extensions["dash.store"]


def viewer() -> Viewer | None:
    """The logged-in viewer for this request (read once, cached on ``g``)."""
    if "viewer" not in g:
        g.viewer = None
        token_id = session.get("token_id")
        if isinstance(token_id, int):
            with store().session() as s:
                record = s.get(ApiToken, token_id)
                if record is not None and record.revoked_at is None:
                    g.viewer = Viewer(record.id, record.role, record.household_id)
            if g.viewer is None:
                session.clear()
    return g.viewer


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    """Every form post carries the session's CSRF token (a page of another site cannot)."""
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, "the form expired; reload the page and try again")


def _login_redirect():  # noqa: ANN202
    return redirect(url_for("access.login", next=request.full_path.rstrip("?")))


def household_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """The viewer must be that household (or an operator); others get a 403."""

    @wraps(view)
    def wrapped(household_id: int, *args: Any, **kwargs: Any) -> Any:
        who = viewer()
        if who is None:
            return _login_redirect()
        if not who.may_see(household_id):
            abort(403)
        if request.method == "POST":
            check_csrf()
        return view(household_id, *args, **kwargs)

    return wrapped


def operator_page(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        who = viewer()
        if who is None:
            return _login_redirect()
        if not who.operator:
            abort(403)
        if request.method == "POST":
            check_csrf()
        return view(*args, **kwargs)

    return wrapped


def home_for(who: Viewer) -> str:
    if who.operator:
        return url_for("dashboard.dashboard")
    return url_for("household.household", household_id=who.household_id)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: a login link must not bounce the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        check_csrf()
        token = request.form.get("token", "").strip()
        try:
            with store().session() as s:
                record = authenticate(s, token)
                token_id = record.id
        except Unauthorized:
            error = "That access token is not valid (or was revoked)."
        else:
            session.clear()  # a new session on login: no fixation
            session["token_id"] = token_id
            g.pop("viewer", None)
            who = viewer()
            assert who is not None
            return redirect(_safe_next(request.form.get("next")) or home_for(who))
    return render_template("login.html", error=error, next=request.args.get("next", "")), (
        401 if error else 200
    )


@bp.post("/logout")
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("access.login"))
