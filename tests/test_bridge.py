"""The bridge against a real Mosquitto (the shipped config, on a free loopback port), a real
SQLite store and real device clients with their own credentials and ACL."""

from __future__ import annotations

import json
import os
import pwd
import queue
import secrets
import shutil
import subprocess
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from mqtt_bridge.bridge import Bridge, BridgeOptions
from mqtt_bridge.broker import render_mosquitto_conf
from mqtt_bridge.handler import EventHandler, HandlerOptions
from shop import carts
from shop.config import Settings
from shop.demo.seed import seed_demo
from shop.devices import (
    BRIDGE_USER,
    add_device,
    mosquitto_hash,
    revoke_device,
    write_mosquitto_auth,
)
from shop.gtin import make_restricted
from shop.migrate import upgrade
from shop.models import Device, OutboxMessage, Product, ScanEvent
from shop.processes import port_open
from shop.store import Store
from tests.conftest import TEST_PARAMS, free_port

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None,
    reason="needs the mosquitto binary (make services installs it)",
)
KETCHUP = "2000000001012"


class World:
    """A store, a broker, devices and a bridge, for one test module."""

    def __init__(self, tmp, database_url: str | None = None):
        self.tmp = tmp
        settings = Settings(database_url=database_url or f"sqlite:///{tmp / 'bridge.db'}")
        upgrade(settings)
        self.store = Store(settings)
        with self.store.session() as s:
            seed_demo(s, TEST_PARAMS)
            self.kitchen = add_device(s, 1, "kitchen")
            self.garage = add_device(s, 2, "garage")
            self.pricer = add_device(s, 3, "hallway", mode="price")
            self.revoked = add_device(s, 4, "old")
            revoke_device(s, self.revoked.id)
            s.get(Device, self.garage.id).button_product_id = 1
        self.bridge_password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.write_auth()
        conf = tmp / "mosquitto.conf"
        (tmp / "data").mkdir()
        # The test files belong to whoever runs the tests; keep the broker as that user.
        user = pwd.getpwuid(os.geteuid()).pw_name
        conf.write_text(render_mosquitto_conf(self.port, tmp / "auth", tmp / "data", user=user))
        self.conf = conf
        self.start_broker()
        self.bridge = self.start_bridge()

    def start_broker(self):
        log = open(self.tmp / "mosquitto.log", "ab")  # noqa: SIM115 - the broker keeps it
        self.broker = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stderr=log)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            assert time.monotonic() < deadline, (self.tmp / "mosquitto.log").read_text()
            time.sleep(0.1)

    def restart_broker(self):
        self.broker.terminate()  # SIGTERM: Mosquitto saves sessions and queued messages
        self.broker.wait(10)
        self.start_broker()

    def write_auth(self):
        with self.store.session() as s:
            digest = mosquitto_hash(self.bridge_password)
            write_mosquitto_auth(
                s,
                self.tmp / "auth",
                {BRIDGE_USER: digest, f"{BRIDGE_USER}-2": digest, f"{BRIDGE_USER}-crash": digest},
            )

    def start_bridge(self, user: str = BRIDGE_USER, limit: int = 1_000_000, **options) -> Bridge:
        bridge = Bridge(
            EventHandler(self.store, HandlerOptions(max_events_per_minute=limit)),
            BridgeOptions(
                port=self.port,
                username=user,
                password=self.bridge_password,
                client_id=user,
                **options,
            ),
        )
        bridge.start()
        assert bridge.wait_connected(10)
        time.sleep(0.3)  # subscriptions acknowledged
        return bridge

    def close(self):
        self.bridge.stop()
        self.broker.terminate()
        self.broker.wait(10)
        self.store.dispose()


class Device_:
    """A scanner: connects with its credentials, publishes events, collects its acks."""

    def __init__(self, world: World, device_id: str, secret: str, listen_to: str | None = None):
        self.acks: queue.Queue = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(device_id, secret)
        self.client.on_message = lambda _c, _u, m: self.acks.put(json.loads(m.payload))
        self.refused = None
        connected = queue.Queue()
        ack_topic = f"dash/{listen_to or device_id}/ack"

        def on_connect(client, _u, _f, rc, _p=None):
            if not rc.is_failure:
                client.subscribe(ack_topic, qos=1)  # again after every reconnect
            connected.put(rc)

        self.client.on_connect = on_connect
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.connect("127.0.0.1", world.port)
        self.client.loop_start()
        rc = connected.get(timeout=10)
        if rc.is_failure:
            self.refused = rc
            return
        time.sleep(0.2)
        self.device_id = device_id

    def send(self, kind: str, body: dict | bytes, device_id: str | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        info = self.client.publish(f"dash/{device_id or self.device_id}/{kind}", payload, qos=1)
        info.wait_for_publish(10)

    def ack(self, timeout: float = 10.0) -> dict:
        return self.acks.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("mqtt"))
    yield w
    w.close()


@pytest.fixture
def kitchen(world):
    d = Device_(world, world.kitchen.id, world.kitchen.secret)
    yield d
    d.close()


def lines(world, household=1):
    with world.store.session() as s:
        return [
            (x.product.gtin, x.quantity, x.source, x.added_by)
            for x in carts.get_cart(s, household).lines
        ]


def clear(world, household=1):
    with world.store.session() as s:
        for line in carts.get_cart(s, household).lines:
            carts.remove_line(s, household, line.id)


def test_scan_lands_in_the_cart_and_is_acknowledged(world, kitchen):
    clear(world)
    event = str(uuid.uuid4())
    kitchen.send("scan", {"id": event, "barcode": KETCHUP, "qty": 2})
    ack = kitchen.ack()
    assert ack == {"id": event, "status": "added", "product": "Heinz Tomato Ketchup", "price": 2.49}
    assert lines(world) == [(KETCHUP, 2, "scanner", world.kitchen.id)]
    with world.store.session() as s:  # the assistant will be told, from the outbox
        note = s.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
        assert note.household_id == 1 and note.payload["device"] == "kitchen"
        assert note.payload["quantity"] == 2 and note.sent_at is None


def test_repeated_event_is_counted_once(world, kitchen):
    clear(world)
    event = str(uuid.uuid4())
    for _ in range(3):
        kitchen.send("scan", {"id": event, "barcode": KETCHUP})
    statuses = sorted(kitchen.ack()["status"] for _ in range(3))
    assert statuses == ["added", "duplicate", "duplicate"]
    assert lines(world) == [(KETCHUP, 1, "scanner", world.kitchen.id)]


BAD = [
    (b"{nope", "not valid JSON"),
    (json.dumps({"id": "b1", "barcode": "2000000001013"}).encode(), "check digit"),
    (json.dumps({"id": "b2", "barcode": "20000000010"}).encode(), "digits"),
    (json.dumps({"id": "b3", "barcode": "2000A00001012"}).encode(), "other than digits"),
    (json.dumps({"id": "b4", "barcode": "0000000000000"}).encode(), "all zeros"),
    (json.dumps({"id": "b5", "barcode": "01234565"}).encode(), "UPC-E"),
    (json.dumps({"id": "b6", "barcode": "9800000000007"}).encode(), "coupon"),
    (json.dumps({"id": "b7", "barcode": KETCHUP, "qty": 99}).encode(), "between 1 and 20"),
    (json.dumps({"id": "b8"}).encode(), "'barcode' is required"),
    (json.dumps({"id": "b9", "barcode": KETCHUP, "pad": "x" * 3000}).encode(), "limit"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD)
def test_bad_input_gets_an_error_ack_and_changes_nothing(world, kitchen, payload, reason):
    clear(world)
    kitchen.send("scan", payload)
    ack = kitchen.ack()
    assert ack["status"] == "error" and reason in ack["error"], ack
    assert lines(world) == []


def test_unknown_barcode_is_recorded_for_the_chat(world, kitchen):
    code = make_restricted("29", 123_456_789)
    kitchen.send("scan", {"id": "u1", "barcode": code})
    ack = kitchen.ack()
    assert ack["status"] == "error" and "unknown barcode" in ack["error"]
    with world.store.session() as s:
        row = s.execute(select(ScanEvent).where(ScanEvent.event_id == "u1")).scalar_one()
        assert row.barcode == code and row.household_id == 1 and row.status == "error"


def test_price_check_mode_and_button(world):
    pricer = Device_(world, world.pricer.id, world.pricer.secret)
    pricer.send("scan", {"id": "p1", "barcode": KETCHUP})
    assert pricer.ack()["status"] == "priced" and lines(world, 3) == []
    pricer.close()
    garage = Device_(world, world.garage.id, world.garage.secret)
    garage.send("button", {"id": "btn1"})
    assert garage.ack()["status"] == "added" and len(lines(world, 2)) == 1
    garage.close()


def test_status_messages_update_the_device(world, kitchen):
    kitchen.send("status", b"offline")
    time.sleep(0.5)
    with world.store.session() as s:
        assert s.get(Device, world.kitchen.id).online is False
    kitchen.send("status", b"online")
    time.sleep(0.5)
    with world.store.session() as s:
        device = s.get(Device, world.kitchen.id)
        assert device.online is True and device.last_seen_at is not None


def test_revoked_wrong_password_and_anonymous_are_refused(world):
    assert Device_(world, world.revoked.id, world.revoked.secret).refused
    assert Device_(world, world.kitchen.id, "wrong-secret").refused
    anonymous = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    result = queue.Queue()
    anonymous.on_connect = lambda _c, _u, _f, rc, _p=None: result.put(rc)
    anonymous.connect("127.0.0.1", world.port)
    anonymous.loop_start()
    assert result.get(timeout=10).is_failure
    anonymous.loop_stop()


def test_a_device_cannot_use_another_devices_topics(world, kitchen):
    clear(world, 2)
    # The kitchen device publishes on the garage's scan topic, and listens to its acks.
    spy = Device_(world, world.kitchen.id, world.kitchen.secret, listen_to=world.garage.id)
    spy.send("scan", {"id": "spoof-1", "barcode": KETCHUP}, device_id=world.garage.id)
    garage = Device_(world, world.garage.id, world.garage.secret)
    garage.send("scan", {"id": "real-1", "barcode": KETCHUP})
    assert garage.ack()["id"] == "real-1"
    with pytest.raises(queue.Empty):
        spy.ack(timeout=1.0)  # the garage's ack never reaches the kitchen device
    assert lines(world, 2) == [(KETCHUP, 1, "scanner", world.garage.id)]  # spoof never counted
    spy.close()
    garage.close()


def test_scans_sent_while_the_bridge_is_down_arrive_exactly_once(world, kitchen):
    clear(world)
    world.bridge.stop()
    sent = [str(uuid.uuid4()) for _ in range(30)]
    for event in sent:
        kitchen.send("scan", {"id": event, "barcode": KETCHUP})
    kitchen.send("scan", {"id": sent[0], "barcode": KETCHUP})  # and a repeat
    world.bridge = world.start_bridge()
    acks = [kitchen.ack(timeout=20) for _ in range(31)]
    assert sorted(a["status"] for a in acks).count("added") == 30
    assert {a["id"] for a in acks} == set(sent)
    assert lines(world) == [(KETCHUP, 30, "scanner", world.kitchen.id)]


def test_dash_scan_publishes_like_a_device(world):
    from click.testing import CliRunner

    from shop.cli import cli

    clear(world)
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            world.kitchen.id,
            KETCHUP,
            "--secret",
            world.kitchen.secret,
            "--url",
            f"mqtt://127.0.0.1:{world.port}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "added"
    refused = CliRunner().invoke(
        cli,
        [
            "scan",
            world.kitchen.id,
            KETCHUP,
            "--secret",
            "wrong",
            "--url",
            f"mqtt://127.0.0.1:{world.port}",
        ],
    )
    assert refused.exit_code != 0 and "refused" in refused.output


@pytest.mark.postgres
def test_database_outage_loses_and_duplicates_nothing(tmp_path):
    """PostgreSQL refuses connections for a while mid-stream; the bridge retries, acks only
    after each commit, and every scan lands exactly once."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN_URL

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"dash_outage_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is needed for this test ({exc.__class__.__name__})")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    world = World(tmp_path, url)
    kitchen = Device_(world, world.kitchen.id, world.kitchen.secret)
    try:
        sent = [str(uuid.uuid4()) for _ in range(20)]
        for event in sent[:5]:
            kitchen.send("scan", {"id": event, "barcode": KETCHUP})
        assert all(kitchen.ack()["status"] == "added" for _ in range(5))
        with admin.connect() as c:  # the outage: no new connections, existing ones killed
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            )
        for event in sent[5:]:
            kitchen.send("scan", {"id": event, "barcode": KETCHUP})
        time.sleep(2.0)
        with pytest.raises(queue.Empty):
            kitchen.ack(timeout=0.5)  # nothing acknowledged while the database is down
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        acks = [kitchen.ack(timeout=30) for _ in range(15)]
        assert {a["id"] for a in acks} == set(sent[5:])
        assert all(a["status"] == "added" for a in acks)
        assert lines(world) == [(KETCHUP, 20, "scanner", world.kitchen.id)]
        with world.store.session() as s:
            assert len(s.execute(select(ScanEvent)).all()) == 20
    finally:
        kitchen.close()
        world.close()
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_workers_on_a_shared_subscription_count_every_scan_once(world, kitchen):
    """5,000 scans, two bridge workers sharing them: every scan in exactly one cart line."""
    clear(world)
    world.bridge.stop()
    workers = [
        world.start_bridge(user, limit=100_000, share_group="workers")
        for user in (BRIDGE_USER, f"{BRIDGE_USER}-2")
    ]
    try:
        with world.store.session() as s:
            codes = [p.gtin for p in s.execute(select(Product).order_by(Product.id)).scalars()]
        n = 5000
        sent = [f"load-{i}" for i in range(n)]
        for i, event in enumerate(sent):  # 100 products x 50 scans (the most per line)
            kitchen.client.publish(
                f"dash/{kitchen.device_id}/scan",
                json.dumps({"id": event, "barcode": codes[i % 100]}),
                qos=1,
            )
        acks = [kitchen.ack(timeout=60) for _ in range(n)]
        assert {a["id"] for a in acks} == set(sent)
        assert all(a["status"] == "added" for a in acks)
        assert min(w.processed for w in workers) > n * 0.2  # both did a real share
        with world.store.session() as s:
            cart_lines = carts.get_cart(s, 1).lines
            assert len(cart_lines) == 100 and {x.quantity for x in cart_lines} == {50}
            assert (
                s.execute(
                    select(func.count(ScanEvent.id)).where(ScanEvent.event_id.like("load-%"))
                ).scalar_one()
                == n
            )
    finally:
        for w in workers:
            w.stop()
        world.bridge = world.start_bridge()


def _bridge_process(world: World, user: str) -> subprocess.Popen:
    """``python -m mqtt_bridge`` as its own process, started the way operators start it."""
    import sys

    env = {
        **os.environ,
        "DASH_DATABASE_URL": world.store.settings.database_url,
        "DASH_MQTT_URL": f"mqtt://{user}:{world.bridge_password}@127.0.0.1:{world.port}",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONUNBUFFERED": "1",
        "DASH_SCAN_RATE_LIMIT": "1000000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mqtt_bridge"], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    for line in proc.stderr:
        if "connected to" in line:
            break
        assert time.monotonic() < deadline, "the bridge process did not connect"
    time.sleep(0.3)  # subscribed
    return proc


def test_bridge_killed_between_receiving_and_committing(world, kitchen):
    """The bridge receives a scan but cannot commit (another writer holds the database) and is
    killed: the scan was never acked, so the broker redelivers it to the next bridge, which
    adds it once."""
    import signal
    import sqlite3

    clear(world)
    world.bridge.stop()
    user = f"{BRIDGE_USER}-crash"
    first = _bridge_process(world, user)
    db_file = world.store.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(db_file, timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # hold the write lock: the bridge cannot commit
        kitchen.send("scan", {"id": "crash-1", "barcode": KETCHUP})
        time.sleep(1.5)  # received and stuck before its commit
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with pytest.raises(queue.Empty):
        kitchen.ack(timeout=0.5)  # the killed bridge never answered
    second = _bridge_process(world, user)
    try:
        ack = kitchen.ack(timeout=20)
        assert ack["id"] == "crash-1" and ack["status"] == "added"
        assert lines(world) == [(KETCHUP, 1, "scanner", world.kitchen.id)]
        with world.store.session() as s:
            assert (
                s.execute(
                    select(func.count(ScanEvent.id)).where(ScanEvent.event_id == "crash-1")
                ).scalar_one()
                == 1
            )
    finally:
        second.terminate()
        second.wait(10)
        world.bridge = world.start_bridge()


def test_broker_restart_mid_stream_loses_nothing(world, kitchen):
    """Mosquitto restarts while a device streams scans: the device resends what was not
    acknowledged, the broker keeps the bridge's queued messages, every scan lands once."""
    import threading

    clear(world)
    with world.store.session() as s:
        codes = [p.gtin for p in s.execute(select(Product).order_by(Product.id)).scalars()]
    sent = [f"restart-{i}" for i in range(100)]

    def stream():
        for i, event in enumerate(sent):
            kitchen.client.publish(
                f"dash/{kitchen.device_id}/scan",
                json.dumps({"id": event, "barcode": codes[i]}),
                qos=1,
            )
            time.sleep(0.01)

    streamer = threading.Thread(target=stream)
    streamer.start()
    time.sleep(0.4)
    world.restart_broker()
    streamer.join(30)
    deadline = time.monotonic() + 60
    while True:
        with world.store.session() as s:
            done = s.execute(
                select(func.count(ScanEvent.id)).where(ScanEvent.event_id.like("restart-%"))
            ).scalar_one()
        if done >= len(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert done == len(sent)
    assert sorted(x[0] for x in lines(world)) == sorted(codes[:100])
    assert {x[1] for x in lines(world)} == {1}


def test_a_device_scanning_too_fast_is_refused(world):
    pricer = Device_(world, world.pricer.id, world.pricer.secret)
    world.bridge.stop()
    world.bridge = world.start_bridge(limit=3)
    try:
        for i in range(5):
            pricer.send("scan", {"id": f"fast-{i}", "barcode": KETCHUP})
        statuses = [pricer.ack()["status"] for _ in range(5)]
        assert statuses.count("priced") <= 3 and "error" in statuses
    finally:
        pricer.close()
        world.bridge.stop()
        world.bridge = world.start_bridge()
