"""Shared by the bridge tests: a real Mosquitto (the shipped config, on a free loopback port),
a real SQLite store, provisioned devices and a bridge, plus device clients."""

from __future__ import annotations

import json
import os
import pwd
import queue
import secrets
import shutil
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

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
from shop.migrate import upgrade
from shop.models import Device
from shop.processes import port_open
from shop.store import Store
from tests.conftest import TEST_PARAMS, free_port

if shutil.which("mosquitto") is None and os.environ.get("DASH_TEST_MQTT") != "skip":
    pytest.fail(
        "the MQTT tests need the mosquitto binary: run `make services`, or set DASH_TEST_MQTT=skip",
        pytrace=False,
    )
KETCHUP = "2000000001012"


class World:
    """A store, a broker, devices and a bridge, for one test module."""

    def __init__(
        self, tmp, database_url: str | None = None, *, seed: bool = True, bridge: bool = True
    ):
        """``seed=False``: the store at ``database_url`` is already migrated and seeded;
        ``bridge=False``: no in-process bridge (the caller runs its own workers)."""
        self.tmp = tmp
        settings = Settings(database_url=database_url or f"sqlite:///{tmp / 'bridge.db'}")
        if seed:
            upgrade(settings)
        self.store = Store(settings)
        with self.store.session() as s:
            if seed:
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
        self.bridge = self.start_bridge() if bridge else None

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
        if self.bridge:
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
