"""``python -m mqtt_bridge``: run one bridge worker until SIGTERM or Ctrl-C.

Configuration (environment): DASH_MQTT_URL (mqtt://dash-bridge:PASSWORD@127.0.0.1:1883),
DASH_MQTT_SHARE_GROUP (set on every worker to share the load), DASH_MQTT_CLIENT_ID (default:
the username; give each worker its own), DASH_SCAN_RATE_LIMIT (events per device per
minute, default 60), DASH_DATABASE_URL, and DASH_RASA_URL / DASH_RASA_TOKEN for the
follow-up in conversation (without them accepted scans wait in the outbox). With a Rasa URL
the worker also queues due reminders every DASH_REMINDER_CHECK_S seconds (default 300; 0 turns
it off).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from mqtt_bridge.bridge import Bridge, BridgeOptions
from mqtt_bridge.handler import EventHandler, HandlerOptions
from shop.config import Settings
from shop.store import Store


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("DASH_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    url = os.environ.get("DASH_MQTT_URL")
    if not url:
        print("error: set DASH_MQTT_URL=mqtt://dash-bridge:PASSWORD@host:1883", file=sys.stderr)
        return 1
    overrides: dict = {}
    if os.environ.get("DASH_MQTT_SHARE_GROUP"):
        overrides["share_group"] = os.environ["DASH_MQTT_SHARE_GROUP"]
    if os.environ.get("DASH_MQTT_CLIENT_ID"):
        overrides["client_id"] = os.environ["DASH_MQTT_CLIENT_ID"]
    try:
        options = BridgeOptions.from_url(url, **overrides)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    limit = int(os.environ.get("DASH_SCAN_RATE_LIMIT", HandlerOptions.max_events_per_minute))
    store = Store(Settings.from_env())
    bridge = Bridge(EventHandler(store, HandlerOptions(max_events_per_minute=limit)), options)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    sender = reminders = None
    if os.environ.get("DASH_RASA_URL"):
        from mqtt_bridge.followup import FollowupOptions, OutboxSender

        sender = OutboxSender(
            store,
            FollowupOptions(
                rasa_url=os.environ["DASH_RASA_URL"], token=os.environ.get("DASH_RASA_TOKEN")
            ),
        )
        sender.start()
        every = float(os.environ.get("DASH_REMINDER_CHECK_S", "300"))
        if every > 0:
            from recommender.live import ModelWatcher
            from shop.reminders import ReminderScheduler

            watcher = ModelWatcher(store.settings.models_dir, background=True)
            reminders = ReminderScheduler(store, every, model=lambda: _timing(watcher))
            reminders.start()
    bridge.start()
    logging.getLogger("mqtt_bridge").info(
        "bridge %s -> %s:%s (%s)",
        options.client_id,
        options.host,
        options.port,
        f"share group {options.share_group}" if options.share_group else "no share group",
    )
    done.wait()
    bridge.stop()
    if sender:
        sender.stop()
    if reminders:
        reminders.stop()
    store.dispose()
    return 0


def _timing(watcher):
    models = watcher.current()
    return models.timing if models else None


if __name__ == "__main__":
    raise SystemExit(main())
