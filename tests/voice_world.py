"""The assistant behind every voice and messaging door, once per test run: the real Rasa and
action servers (Alexa trusting a test CA, Telegram pointed at a stand-in Bot API), the Wyoming
service as its own process, and a private copy of the assistant store with links and tokens."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from shop.config import PROJECT_ROOT, Settings
from shop.households import issue_token
from shop.links import link
from shop.processes import port_open
from shop.store import Store
from tests.alexa_ca import CERT_URL, SKILL_ID, TestCA
from tests.conftest import free_port, pristine, start_assistant
from tests.telegram_standin import TelegramStandIn

TG_TOKEN = "123456:TEST-token"
TG_SECRET = "telegram-test-secret"


@pytest.fixture(scope="session")
def doors(trained_model, assistant_db, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voice")
    url = pristine(assistant_db, tmp / "voice.db")
    ca = TestCA(now=datetime.now(timezone.utc))
    (tmp / "trust.pem").write_bytes(ca.root.public_bytes(serialization.Encoding.PEM))
    (tmp / "certs").mkdir()
    (tmp / "certs" / (hashlib.sha256(CERT_URL.encode()).hexdigest() + ".pem")).write_bytes(ca.pem())
    telegram = TelegramStandIn(TG_TOKEN)
    assistant = start_assistant(
        trained_model,
        url,
        tmp,
        env={
            "DASH_ALEXA_SKILL_ID": SKILL_ID,
            "DASH_ALEXA_TRUST_PEM": str(tmp / "trust.pem"),
            "DASH_ALEXA_CERT_DIR": str(tmp / "certs"),
            "DASH_TELEGRAM_TOKEN": TG_TOKEN,
            "DASH_TELEGRAM_SECRET": TG_SECRET,
            "DASH_TELEGRAM_API_URL": telegram.url,
        },
    )
    store = Store(Settings(database_url=url))
    with store.session() as s:
        link(s, "assist", "satellite-bedroom", 2, member=None)
        link(s, "telegram", "555", 4)
        alexa_token = issue_token(s, 3, label="alexa account linking")
    wyoming_port = free_port()
    log = open(tmp / "logs" / "wyoming.log", "wb")  # noqa: SIM115 - the child keeps it
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voice.wyoming_service",
            "--port",
            str(wyoming_port),
            "--rasa-url",
            assistant.url,
            "--household",
            "1",
        ],  # fmt: skip
        cwd=PROJECT_ROOT,
        env={**os.environ, "DASH_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not port_open("127.0.0.1", wyoming_port):
        assert service.poll() is None and time.monotonic() < deadline, "wyoming did not start"
        time.sleep(0.2)
    try:
        yield {
            "store": store,
            "rasa": assistant.url,
            "wyoming": wyoming_port,
            "ca": ca,
            "alexa_token": alexa_token,
            "telegram": telegram,
            "rasa_token": assistant.cfg.auth_token,
        }
    finally:
        service.terminate()
        service.wait(10)
        assistant.stop()
        telegram.close()
        store.dispose()
