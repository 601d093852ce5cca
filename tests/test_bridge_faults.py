"""The bridge under faults and load: database outage, shared-subscription workers, a killed
bridge, a restarted broker, a device scanning too fast. Nothing lost, nothing counted twice."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select

from shop import carts
from shop.devices import (
    BRIDGE_USER,
)
from shop.models import Product, ScanEvent
from tests.mqtt_world import KETCHUP, Device_, World, clear, lines

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="DASH_TEST_MQTT=skip")


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
