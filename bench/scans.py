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

RATES = ((50, 4.0), (200, 4.0), (1000, 3.0))  # (scans per second offered, seconds)
BURST = 2000


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
            seed_demo(s, Params(seed=1, households=3, days=30, end=date(2026, 1, 1)))
            device = add_device(s, 1, "bench")
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
            client = _Device(port, device.id, device.secret)
            for rate, seconds in RATES:
                _clear(store)
                results[f"{rate}_per_s"] = client.offer(codes, rate, seconds)
            _clear(store)
            results["burst"] = client.offer(codes, None, BURST)
            client.close()
            for bridge in bridges:
                bridge.terminate()
                bridge.wait(15)
        finally:
            broker.terminate()
            broker.wait(10)
            store.dispose()
    return {
        "workload": "one device, QoS 1, distinct event ids over the demo catalog's barcodes; "
        f"Mosquitto with the shipped config; {workers} bridge worker process(es)"
        f"{' on a shared subscription' if workers > 1 else ''}; SQLite (WAL) store; "
        f"burst = {BURST} scans sent as fast as possible",
        "cores": os.cpu_count(),
        **results,
    }


def _clear(store: Store) -> None:
    with store.session() as s:
        for line in carts.get_cart(s, 1).lines:
            carts.remove_line(s, 1, line.id)


class _Device:
    def __init__(self, port: int, device_id: str, secret: str) -> None:
        self.device_id = device_id
        self.sent: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        self.done = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(device_id, secret)
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"dash/{device_id}/ack", qos=1)
        time.sleep(0.3)
        _no_delay(self.client)  # a device sends small packets too

    def _on_ack(self, _c, _u, message) -> None:  # noqa: ANN001
        now = time.perf_counter()
        event = json.loads(message.payload).get("id")
        with self.done:
            if event in self.sent and event not in self.latency:
                self.latency[event] = (now - self.sent[event]) * 1000
            self.done.notify_all()

    def offer(self, codes: list[str], rate: float | None, amount: float) -> dict:
        self.sent, self.latency = {}, {}
        n = int(rate * amount) if rate else int(amount)
        start = time.perf_counter()
        for i in range(n):
            if rate:
                due = start + i / rate
                while time.perf_counter() < due:
                    time.sleep(max(0.0, due - time.perf_counter()))
            event = f"b{time.time_ns()}-{i}"
            with self.done:
                self.sent[event] = time.perf_counter()
            self.client.publish(
                f"dash/{self.device_id}/scan",
                json.dumps({"id": event, "barcode": codes[i % 150]}),
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
            "throughput_per_s": round(len(lat) / elapsed, 1) if elapsed else None,
            "ack_ms_p50": _percentile(lat, 0.5) if lat else None,
            "ack_ms_p99": _percentile(lat, 0.99) if lat else None,
            "ack_ms_mean": round(statistics.fmean(lat), 2) if lat else None,
        }

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
