"""The web pages in a real browser: Debian's Chromium driven by Playwright, against the real
Rasa server and action server, a real Mosquitto with a bridge, and the Flask app, all on
loopback and one SQLite store. Screenshots of each page land in test-artifacts/screenshots/.

Needs /usr/bin/chromium (`make services` installs it); DASH_TEST_BROWSER=skip skips these
tests where no Chromium can be had. Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid

import pytest

from shop import carts
from shop.api import create_app
from shop.config import PROJECT_ROOT, Settings
from shop.households import issue_token
from shop.models import Product
from shop.store import Store
from tests.conftest import free_port, pristine, start_assistant

CHROMIUM = os.environ.get("DASH_CHROMIUM", "/usr/bin/chromium")
SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
SECRET = "browser-test-secret"

if os.environ.get("DASH_TEST_BROWSER") == "skip":
    pytest.skip("DASH_TEST_BROWSER=skip", allow_module_level=True)
if shutil.which(CHROMIUM) is None:
    pytest.fail(
        f"the browser tests need Chromium at {CHROMIUM}: run `make services` (installs Debian's "
        "chromium), or set DASH_TEST_BROWSER=skip",
        pytrace=False,
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(trained_model, assistant_db, tmp_path_factory):
    """Rasa + actions, Mosquitto + bridge, and the web app, on one store."""
    from werkzeug.serving import make_server

    from tests.mqtt_world import World

    tmp = tmp_path_factory.mktemp("browser")
    url = pristine(assistant_db, tmp / "site.db")
    assistant = start_assistant(trained_model, url, tmp, secret_key=SECRET)
    world = World(tmp / "mqtt", database_url=url, seed=False)
    settings = Settings(
        database_url=url, secret_key=SECRET, rasa_public_url=assistant.url, models_dir=tmp
    )
    store = Store(settings)
    server = make_server("127.0.0.1", free_port(), create_app(settings, store), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with store.session() as s:
        tokens = {1: issue_token(s, 1), "operator": issue_token(s, None, role="operator")}
    try:
        yield {
            "base": f"http://127.0.0.1:{server.server_port}",
            "store": store,
            "world": world,
            "tokens": tokens,
            "rasa": assistant.url,
        }
    finally:
        server.shutdown()
        world.close()
        assistant.stop()
        store.dispose()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, site, who) -> None:
    page.goto(f"{site['base']}/login")
    shot(page, "login")
    page.fill("#token", site["tokens"][who])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def say(page, text: str) -> None:
    before = page.locator("#messages li.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#messages li.bot').length > n", arg=before, timeout=30_000
    )
    page.wait_for_timeout(300)  # a turn may say more than one thing


def cart_rows(site, household: int = 1) -> list[tuple[str, int, str]]:
    with site["store"].session() as s:
        return [
            (line.product.category_id, line.quantity, line.source)
            for line in carts.get_cart(s, household).lines
        ]


def test_household_orders_by_chat_and_the_cart_follows(site, page):
    log_in(page, site, 1)
    assert page.url.endswith("/households/1")
    page.goto(f"{site['base']}/chat")
    expect(page.locator("#chat[data-ready='1']")).to_be_attached(timeout=20_000)
    expect(page.locator("#cart[data-live='1']")).to_be_attached(timeout=10_000)
    say(page, "order ketchup")
    expect(page.locator("#messages li.bot").last).to_contain_text("Added", timeout=5_000)
    row = page.locator("#cart-lines tr", has_text=re.compile("ketchup", re.I))
    expect(row).to_be_visible(timeout=10_000)
    assert ("ketchup", 1, "chat") in cart_rows(site)
    say(page, "make it two")
    expect(row.locator("td").nth(1)).to_have_text("2", timeout=10_000)
    say(page, "check out")
    yes = page.locator("#messages li.bot .replies button", has_text="Yes, place it")
    expect(yes).to_be_visible()
    shot(page, "chat")
    yes.click()  # the bot's button sends its payload
    expect(page.locator("#messages li.bot").last).to_contain_text("placed", timeout=30_000)
    expect(page.locator("#cart-lines tr.empty")).to_be_visible(timeout=10_000)
    assert cart_rows(site) == []


def test_a_scan_over_mqtt_appears_in_the_open_page(site, page):
    from tests.mqtt_world import Device_

    world = site["world"]
    with site["store"].session() as s:
        product = s.query(Product).filter(Product.category_id != "ketchup").first()
        gtin, name = product.gtin, product.name
    log_in(page, site, 1)
    expect(page.locator("#cart[data-live='1']")).to_be_attached(timeout=10_000)
    shot(page, "household")
    device = Device_(world, world.kitchen.id, world.kitchen.secret)
    try:
        device.send("scan", {"id": str(uuid.uuid4()), "barcode": gtin, "qty": 1})
        assert device.ack()["status"] == "added"
    finally:
        device.close()
    row = page.locator(f"#cart-lines tr[data-gtin='{gtin}']")
    expect(row).to_contain_text(name, timeout=10_000)
    expect(row).to_contain_text("scanner")
    shot(page, "household-after-scan")


def test_the_dashboard_chart_renders(site, page):
    log_in(page, site, "operator")
    assert page.url.endswith("/dashboard")
    chart = page.locator("#forecast-chart[data-rendered]")
    expect(chart).to_be_attached(timeout=30_000)
    assert chart.get_attribute("data-rendered") not in ("error", "0")
    painted = chart.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted > 1000, "the forecast canvas is blank"
    expect(page.locator("#forecast-areas tbody tr").first).to_be_visible()
    expect(page.locator("canvas.bench-chart[data-rendered]").first).to_be_attached()
    images = page.locator(".plots img")
    assert images.count() >= 1
    images.first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plots img')].every(i => i.complete)"
    )
    assert images.first.evaluate("img => img.naturalWidth") > 0
    shot(page, "dashboard")


def test_a_visitor_chats_but_cannot_order(site, page):
    page.goto(f"{site['base']}/chat")
    expect(page.locator("#chat[data-ready='1']")).to_be_attached(timeout=20_000)
    assert page.locator("#cart").count() == 0
    say(page, "order ketchup")
    expect(page.locator("#messages li.bot").last).to_contain_text("Log in", timeout=5_000)
    shot(page, "chat-visitor")


def test_a_forged_session_or_household_orders_nothing(site, page):
    """A browser script that joins another session, or claims a household in its metadata,
    with or without a real ticket, is treated as a visitor."""
    log_in(page, site, 1)
    page.goto(f"{site['base']}/chat")
    expect(page.locator("#chat[data-ready='1']")).to_be_attached(timeout=20_000)
    ticket = page.locator("#chat").get_attribute("data-ticket")
    before = {h: cart_rows(site, h) for h in (1, 2)}
    for session, metadata in (("2", {"ticket": ticket}), ("web-2-x", {"household_id": 2})):
        reply = page.evaluate(
            """([url, session, metadata]) => new Promise(resolve => {
                 const s = io(url, {transports: ['websocket'], forceNew: true});
                 s.on('connect', () => s.emit('session_request', {session_id: session}));
                 s.on('session_confirm', () => s.emit('user_uttered',
                     {message: 'order ketchup', session_id: session, metadata}));
                 s.on('bot_uttered', m => { s.close(); resolve(m.text); });
               })""",
            [site["rasa"], session, metadata],
        )
        assert "Log in" in reply
    assert {h: cart_rows(site, h) for h in (1, 2)} == before
