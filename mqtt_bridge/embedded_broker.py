"""The demo's embedded MQTT broker: amqtt (MQTT 3.1.1) with password authentication on.

Run with the small separate environment `make demo` builds (.venv-broker: amqtt cannot share
Rasa's environment, see FIELD-NOTES), as a script, so it needs nothing but amqtt:

    .venv-broker/bin/python mqtt_bridge/embedded_broker.py --port 1883 \\
        --password-file var/mosquitto/passwd

It reads the same password file `dash device ...` writes for Mosquitto (PBKDF2-SHA512 ``$7$``
hashes), re-reading it when it changes, so new devices work without a restart. It is a demo
default: amqtt keeps sessions in memory and queues nothing for offline clients; production
uses Mosquitto with deploy/mosquitto/mosquitto.conf (set DASH_MQTT_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin


def verify(password: str, stored: str) -> bool:
    """Mosquitto's ``$7$`` PBKDF2-SHA512 check; the same as shop.devices.check_password, kept
    here because this script runs in the broker's environment, without the project."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(got, base64.b64decode(digest))


class PasswordFileAuth(BaseAuthPlugin):
    """Mosquitto-format password file; anonymous clients are refused."""

    @dataclass
    class Config:
        password_file: str = field(default="")

    _cache: tuple[float, dict[str, str]] = (0.0, {})

    def _users(self) -> dict[str, str]:
        path = Path(self._get_config_option("password-file", ""))
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {}
        if mtime != self._cache[0]:
            users = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                if ":" in line and not line.startswith("#"):
                    user, digest = line.split(":", 1)
                    users[user] = digest
            PasswordFileAuth._cache = (mtime, users)
        return self._cache[1]

    async def authenticate(self, *, session) -> bool:  # noqa: ANN001 - amqtt's Session
        if not session or not session.username:
            return False
        stored = self._users().get(session.username)
        return bool(stored) and verify(session.password or "", stored)


async def serve(port: int, password_file: str, bind: str) -> None:
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{bind}:{port}"}},
        "plugins": {f"{__name__}.PasswordFileAuth": {"password_file": password_file}},
    }
    broker = Broker(config)
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("embedded_broker").info("MQTT broker on %s:%s", bind, port)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("embedded_broker").setLevel(logging.INFO)
    asyncio.run(serve(args.port, args.password_file, args.bind))


if __name__ == "__main__":
    main()
