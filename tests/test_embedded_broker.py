"""The demo path: the embedded amqtt broker (its own venv) with the bridge process, as
`make demo` starts them, answering a scan from a provisioned device."""

from __future__ import annotations

import json
import queue

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_bridge.runtime import BROKER_PYTHON, ScannerConfig, ScannerStack
from shop import carts
from shop.config import Settings
from shop.devices import add_device, refresh_auth_files
from shop.processes import free_port
from shop.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(assistant_db, tmp_path):
    if not BROKER_PYTHON.exists():
        pytest.fail(
            "the demo broker environment is missing: `make test` builds .venv-broker", pytrace=False
        )
    store = Store(Settings(database_url=assistant_db))
    with store.session() as s:
        device = add_device(s, 3, "pantry")
        secret = refresh_auth_files(s, tmp_path / "auth")
    running = ScannerStack(
        ScannerConfig(
            database_url=assistant_db,
            bridge_secret=secret,
            auth_dir=tmp_path / "auth",
            port=free_port(),
            log_dir=tmp_path / "logs",
        )
    )
    running.start()
    yield running, device, store
    running.stop()
    store.dispose()


def connect(port: int, user: str | None, password: str | None):
    answers: queue.Queue = queue.Queue()
    connected: queue.Queue = queue.Queue()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=user or "anon", protocol=mqtt.MQTTv311
    )
    if user:
        client.username_pw_set(user, password)
    client.on_connect = lambda _c, _u, _f, rc, _p=None: connected.put(rc)
    client.on_message = lambda _c, _u, m: answers.put(json.loads(m.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client, connected.get(timeout=10), answers


def test_demo_broker_and_bridge_take_a_scan(stack):
    running, device, store = stack
    client, rc, answers = connect(running.cfg.port, device.id, device.secret)
    assert not rc.is_failure
    client.subscribe(f"dash/{device.id}/ack", qos=1)
    client.publish(
        f"dash/{device.id}/scan", json.dumps({"id": "demo-1", "barcode": "2000000001012"}), qos=1
    )
    ack = answers.get(timeout=20)
    assert ack["id"] == "demo-1" and ack["status"] == "added"
    with store.session() as s:
        assert any(x.added_by == device.id for x in carts.get_cart(s, 3).lines)
    client.loop_stop()


def test_demo_broker_refuses_anonymous_and_wrong_passwords(stack):
    running, device, _ = stack
    for user, password in ((None, None), (device.id, "wrong")):
        client, rc, _ = connect(running.cfg.port, user, password)
        assert rc.is_failure
        client.loop_stop()
