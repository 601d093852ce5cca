"""The web app with a secret, tokens for two households and an operator, and logging in
through the login form (shared by tests/test_web.py and tests/test_dashboard.py)."""

from __future__ import annotations

import re

import pytest

from shop.api import create_app
from shop.households import issue_token

SECRET = "test-secret"


@pytest.fixture
def web(sqlite_demo_store):
    store = sqlite_demo_store
    store.settings = store.settings.with_(secret_key=SECRET)
    app = create_app(store=store)
    app.config.update(TESTING=True)
    with store.session() as s:
        tokens = {
            1: issue_token(s, 1, label="web"),
            2: issue_token(s, 2, label="web"),
            "operator": issue_token(s, None, role="operator"),
        }
    return app, store, tokens


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def login(client, token: str, next_: str = ""):
    form = {"csrf": csrf(client.get("/login").text), "token": token, "next": next_}
    return client.post("/login", data=form)


def logged_in(app, token: str):
    client = app.test_client()
    assert login(client, token).status_code == 302
    return client
