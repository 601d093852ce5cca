"""The MQTT side: subscribe, hand each message to the handler, answer, and only then ack.

paho runs callbacks on its network thread, and an exception there kills that thread silently,
so ``on_message`` only queues the message; one worker thread does the store work, publishes the
answer and sends the PUBACK (manual acks), all from that one thread. A message is acknowledged
only after its transaction committed: if the bridge dies first, the broker redelivers it (the
session is persistent) and the event id makes the second delivery a "duplicate". While the
database is down the worker retries the same message with backoff and acks nothing.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_bridge.handler import EventHandler
from mqtt_bridge.protocol import (
    KINDS,
    MAX_PAYLOAD_BYTES,
    Ack,
    BadEvent,
    parse_event,
    parse_status,
    split_topic,
)
from shop.errors import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BridgeOptions:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = "dash-bridge"
    password: str = ""
    client_id: str = "dash-bridge"
    #: Several workers sharing the load: subscribe as ``$share/<group>/dash/+/<kind>``.
    share_group: str | None = None
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_inflight: int = 100
    keepalive: int = 30

    @classmethod
    def from_url(cls, url: str, **overrides: object) -> BridgeOptions:
        """``mqtt://user:password@host:port``; the username is also the client id."""
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            raise ValueError("the MQTT URL must look like mqtt://user:password@host:1883")
        user = unquote(parsed.username or cls.username)
        values: dict = dict(
            host=parsed.hostname,
            port=parsed.port or 1883,
            username=user,
            password=unquote(parsed.password or ""),
            client_id=user,
        )
        values.update(overrides)
        return cls(**values)

    def topics(self) -> list[str]:
        prefix = f"$share/{self.share_group}/" if self.share_group else ""
        return [f"{prefix}dash/+/{kind}" for kind in KINDS] + ["dash/+/status"]


class Bridge:
    def __init__(self, handler: EventHandler, options: BridgeOptions) -> None:
        self.handler = handler
        self.options = options
        self._queue: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.connected = threading.Event()
        self.processed = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        client.username_pw_set(options.username, options.password)
        client.max_inflight_messages_set(options.max_inflight)  # before connect
        client.reconnect_delay_set(min_delay=1, max_delay=15)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    # -- paho callbacks (network thread: never raise, never block) --------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _props=None) -> None:
        if reason_code.is_failure:
            log.error("MQTT connection refused: %s", reason_code)
            return
        _no_delay(client)
        if self.options.share_group:
            # A persistent session keeps old subscriptions: a worker that used to read the
            # plain topics would otherwise get every message twice (its own copy and a share).
            client.unsubscribe([f"dash/+/{kind}" for kind in KINDS])
        client.subscribe([(topic, 1) for topic in self.options.topics()])
        self.connected.set()
        log.info("connected to %s:%s", self.options.host, self.options.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props=None) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        self._queue.put(message)

    # -- the worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                self.process(message)
            except Exception:  # noqa: BLE001 - the worker must survive anything
                log.exception("could not process a message on %s", message.topic)

    def process(self, message: mqtt.MQTTMessage) -> None:
        topic, payload = message.topic, message.payload
        try:
            device_id, kind = split_topic(topic)
        except BadEvent:
            log.warning("ignoring message on unexpected topic %r", topic)
            self._ack(message)
            return
        if kind == "status":
            try:
                self._retrying(lambda: self.handler.status(parse_status(device_id, payload)))
            except BadEvent as bad:
                log.warning("bad status from %s: %s", device_id, bad.reason)
            if not self._stop.is_set():
                self._ack(message)
            return
        bad: BadEvent | None = None
        try:
            event = parse_event(topic, payload, self.options.max_payload_bytes)
        except BadEvent as exc:
            bad = exc
        try:
            if bad is None:
                answer = self._retrying(lambda: self.handler.handle(event))
            else:
                answer = self._retrying(lambda: self.handler.handle_bad(bad))
        except _Stopping:
            return  # not acked: the broker redelivers it to the next bridge
        except Exception:  # noqa: BLE001
            log.exception("event on %s failed", topic)
            answer = Ack(None, "error", error="internal error; try again")
        if answer is None:
            return
        self.client.publish(f"dash/{device_id}/ack", answer.to_json(), qos=1)
        self._ack(message)
        self.processed += 1

    def _retrying(self, fn):
        delay = 0.2
        while True:
            try:
                return fn()
            except StoreUnavailable:
                if self._stop.is_set():
                    raise _Stopping() from None
                log.warning("database unavailable; retrying in %.1f s", delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _ack(self, message: mqtt.MQTTMessage) -> None:
        if message.qos > 0:
            self.client.ack(message.mid, message.qos)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._worker = threading.Thread(target=self._work, name="bridge-worker", daemon=True)
        self._worker.start()
        self.client.connect_async(self.options.host, self.options.port, self.options.keepalive)
        self.client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._worker:
            self._worker.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.connected.wait(timeout)


def _no_delay(client: mqtt.Client) -> None:
    """Send small packets (acks) at once: paho leaves Nagle's algorithm on, which together
    with delayed ACKs adds about 40 ms to every answer."""
    sock = client.socket()
    if sock is not None and hasattr(sock, "setsockopt"):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class _Stopping(Exception):
    pass
