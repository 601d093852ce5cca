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
    #: Messages waiting in the queue are handled together, in one transaction.
    batch_size: int = 100

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
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.options.batch_size:
                try:
                    message = self._queue.get_nowait()
                except queue.Empty:
                    break
                if message is None:
                    self._queue.put(None)
                    break
                batch.append(message)
            try:
                self.process_batch(batch)
            except Exception:  # noqa: BLE001 - the worker must survive anything
                log.exception("could not process a batch of %d messages", len(batch))

    def process(self, message: mqtt.MQTTMessage) -> None:
        self.process_batch([message])

    def process_batch(self, messages: list[mqtt.MQTTMessage]) -> None:
        """Handle what is waiting in one transaction, then answer and ack each message."""
        answers: list[tuple[mqtt.MQTTMessage, str | None, Ack | None]] = []
        events, bad = [], []
        for message in messages:
            try:
                device_id, kind = split_topic(message.topic)
            except BadEvent:
                log.warning("ignoring message on unexpected topic %r", message.topic)
                answers.append((message, None, None))
                continue
            if kind == "status":
                try:
                    self._retrying(
                        lambda m=message, d=device_id: self.handler.status(
                            parse_status(d, m.payload)
                        )
                    )
                except BadEvent as exc:
                    log.warning("bad status from %s: %s", device_id, exc.reason)
                except _Stopping:
                    return
                answers.append((message, None, None))
                continue
            try:
                events.append(
                    (
                        message,
                        device_id,
                        parse_event(message.topic, message.payload, self.options.max_payload_bytes),
                    )
                )
            except BadEvent as exc:
                bad.append((message, device_id, exc))
        try:
            if events:
                acks = self._handle_events([e for *_, e in events])
                answers += [(m, d, a) for (m, d, _), a in zip(events, acks, strict=True)]
            for message, device_id, exc in bad:
                answers.append(
                    (message, device_id, self._retrying(lambda x=exc: self.handler.handle_bad(x)))
                )
        except _Stopping:
            return  # nothing acked: the broker redelivers to the next bridge
        for message, device_id, answer in answers:
            if answer is not None:
                self.client.publish(f"dash/{device_id}/ack", answer.to_json(), qos=1)
                self.processed += 1
            self._ack(message)

    def _handle_events(self, events: list) -> list[Ack]:
        """The batch in one transaction; if it fails for another reason than the database,
        one by one, so that a single poisonous event cannot hold up the others."""
        try:
            return self._retrying(lambda: self.handler.handle_batch(events))
        except _Stopping:
            raise
        except Exception:  # noqa: BLE001
            log.exception("a batch of %d events failed; handling them one by one", len(events))
        acks = []
        for event in events:
            try:
                acks.append(self._retrying(lambda e=event: self.handler.handle_batch([e])[0]))
            except _Stopping:
                raise
            except Exception:  # noqa: BLE001
                log.exception("event %s from %s failed", event.event_id, event.device_id)
                acks.append(Ack(event.event_id, "error", error="internal error; try again"))
        return acks

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
