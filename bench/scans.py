"""Scan pipeline benchmark: device -> Mosquitto (shipped config) -> bridge -> SQLite commit ->
ack, at fixed offered rates and as fast as possible, counting every scan (zero loss expected).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from mqtt_bridge.bridge import _no_delay
from mqtt_bridge.broker import render_mosquitto_conf
from shop import carts
from shop.config import Settings
from shop.demo.generator import Params
from shop.demo.seed import seed_demo
from shop.devices import BRIDGE_USER, add_device, refresh_auth_files
from shop.migrate import upgrade
from shop.models import Product
from shop.processes import free_port, port_open
from shop.store import Store

#: (scans per second offered, seconds); 1,500/s shows the margin over the 1,000/s target.
RATES = ((50, 4.0), (200, 4.0), (1000, 10.0), (1500, 10.0))
BURST = 2000
#: Scanners in as many households, scanning in turn: one cart line holds at most 50 of a
#: product, and 10,000 scans from one kitchen would mostly be refused as over that limit.
DEVICES = 8


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * (len(values) - 1)))], 2)


def run(workers: int = 1) -> dict:
    if shutil.which("mosquitto") is None:
        return {"skipped": "mosquitto binary not found (make services installs it)"}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}")
        upgrade(settings)
        store = Store(settings)
        with store.session() as s:
            seed_demo(s, Params(seed=1, households=DEVICES, days=30, end=date(2026, 1, 1)))
            devices = [add_device(s, h, "bench") for h in range(1, DEVICES + 1)]
            users = [BRIDGE_USER] + [f"{BRIDGE_USER}-{i}" for i in range(2, workers + 1)]
            secret = refresh_auth_files(s, tmp / "auth", users)
            codes = [p.gtin for p in s.execute(select(Product).order_by(Product.id)).scalars()]
        port = free_port()
        (tmp / "data").mkdir()
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            render_mosquitto_conf(
                port, tmp / "auth", tmp / "data", user=pwd.getpwuid(os.geteuid()).pw_name
            )
        )
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            while not port_open("127.0.0.1", port):
                time.sleep(0.05)
            # The bridge workers run as their own processes, as deployed (`python -m
            # mqtt_bridge`), so the device simulator in this process does not share their GIL.
            bridges = []
            for user in users:
                env = {
                    **os.environ,
                    "DASH_DATABASE_URL": settings.database_url,
                    "DASH_MQTT_URL": f"mqtt://{user}:{secret}@127.0.0.1:{port}",
                    "DASH_SCAN_RATE_LIMIT": str(10**9),
                    "DASH_LOG_LEVEL": "WARNING",
                }
                if workers > 1:
                    env["DASH_MQTT_SHARE_GROUP"] = "bench"
                bridges.append(subprocess.Popen([sys.executable, "-m", "mqtt_bridge"], env=env))
            time.sleep(3.0)  # connected and subscribed
            results = {}
            fleet = _Fleet(port, [(d.id, d.secret) for d in devices])
            for rate, seconds in RATES:
                _clear(store)
                results[f"{rate}_per_s"] = fleet.offer(codes, rate, seconds)
            _clear(store)
            results["burst"] = fleet.offer(codes, None, BURST)
            fleet.close()
            for bridge in bridges:
                bridge.terminate()
                bridge.wait(15)
        finally:
            broker.terminate()
            broker.wait(10)
            store.dispose()
    return {
        "workload": f"{DEVICES} devices in {DEVICES} households scanning in turn, QoS 1, "
        "distinct event ids over the demo catalog's barcodes; "
        f"Mosquitto with the shipped config; {workers} bridge worker process(es)"
        f"{' on a shared subscription' if workers > 1 else ''}; SQLite (WAL) store; "
        f"burst = {BURST} scans sent as fast as possible",
        "cores": os.cpu_count(),
        **results,
    }


def _clear(store: Store) -> None:
    with store.session() as s:
        for household in range(1, DEVICES + 1):
            for line in carts.get_cart(s, household).lines:
                carts.remove_line(s, household, line.id)


class _Fleet:
    """Scanners, each its own MQTT connection with its own credentials (the ACL lets a device
    publish only on its own topics), offered scans in turn from one clock."""

    def __init__(self, port: int, devices: list[tuple[str, str]]) -> None:
        self.sent: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        self.statuses: Counter[str] = Counter()
        self.done = threading.Condition()
        self.clients = []
        for device_id, secret in devices:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
            )
            client.username_pw_set(device_id, secret)
            client.max_inflight_messages_set(1000)
            client.on_message = self._on_ack
            client.connect("127.0.0.1", port)
            client.loop_start()
            client.subscribe(f"dash/{device_id}/ack", qos=1)
            self.clients.append((device_id, client))
        time.sleep(0.3)
        for _, client in self.clients:
            _no_delay(client)  # a device sends small packets too

    def _on_ack(self, _c, _u, message) -> None:  # noqa: ANN001
        now = time.perf_counter()
        ack = json.loads(message.payload)
        event = ack.get("id")
        with self.done:
            if event in self.sent and event not in self.latency:
                self.latency[event] = (now - self.sent[event]) * 1000
                self.statuses[ack.get("status")] += 1
            self.done.notify_all()

    def offer(self, codes: list[str], rate: float | None, amount: float) -> dict:
        self.sent, self.latency, self.statuses = {}, {}, Counter()
        n = int(rate * amount) if rate else int(amount)
        start = time.perf_counter()
        for i in range(n):
            if rate:
                due = start + i / rate
                while time.perf_counter() < due:
                    time.sleep(max(0.0, due - time.perf_counter()))
            event = f"b{time.time_ns()}-{i}"
            device_id, client = self.clients[i % len(self.clients)]
            with self.done:
                self.sent[event] = time.perf_counter()
            client.publish(
                f"dash/{device_id}/scan",
                json.dumps({"id": event, "barcode": codes[(i // len(self.clients)) % len(codes)]}),
                qos=1,
            )
        with self.done:
            self.done.wait_for(lambda: len(self.latency) >= n, timeout=120)
        elapsed = max(self.latency.values(), default=0) / 1000 + (
            max(self.sent.values()) - start if self.sent else 0
        )
        lat = list(self.latency.values())
        return {
            "offered_per_s": rate,
            "sent": n,
            "acked": len(lat),
            "lost": n - len(lat),
            "added": self.statuses["added"],  # the rest were refused: should be none
            "throughput_per_s": round(len(lat) / elapsed, 1) if elapsed else None,
            "ack_ms_p50": _percentile(lat, 0.5) if lat else None,
            "ack_ms_p99": _percentile(lat, 0.99) if lat else None,
            "ack_ms_mean": round(statistics.fmean(lat), 2) if lat else None,
        }

    def close(self) -> None:
        for _, client in self.clients:
            client.loop_stop()
            client.disconnect()
