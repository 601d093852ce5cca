"""Starting the scanner side for `dash demo`: the embedded broker (unless DASH_MQTT_URL names a
real one) and one bridge worker, which also sends scan follow-ups to the assistant."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from shop.config import PROJECT_ROOT
from shop.processes import ProcessGroup, port_open

BROKER_PYTHON = PROJECT_ROOT / ".venv-broker" / "bin" / "python"
EMBEDDED_BROKER = PROJECT_ROOT / "mqtt_bridge" / "embedded_broker.py"


@dataclass
class ScannerConfig:
    database_url: str
    bridge_secret: str
    auth_dir: Path
    mqtt_url: str | None = None  # a real broker; None starts the embedded one
    port: int = 1883
    rasa_url: str | None = None
    rasa_token: str | None = None
    log_dir: Path | None = None


class ScannerStack:
    def __init__(self, cfg: ScannerConfig) -> None:
        self.cfg = cfg
        self.group = ProcessGroup(cfg.log_dir)

    @property
    def broker_url(self) -> str:
        return self.cfg.mqtt_url or f"mqtt://127.0.0.1:{self.cfg.port}"

    def start(self, timeout: float = 30.0) -> None:
        cfg = self.cfg
        env = {**os.environ, "DASH_DATABASE_URL": cfg.database_url, "PYTHONUNBUFFERED": "1"}
        if cfg.mqtt_url:
            bridge_url = cfg.mqtt_url
        else:
            if not BROKER_PYTHON.exists():
                raise RuntimeError(
                    "the embedded broker's environment .venv-broker is missing: "
                    "run `make demo` (it builds it) or set DASH_MQTT_URL"
                )
            self.group.spawn(
                "broker",
                [
                    str(BROKER_PYTHON),
                    str(EMBEDDED_BROKER),
                    "--port",
                    str(cfg.port),
                    "--password-file",
                    str(cfg.auth_dir / "passwd"),
                ],
                env,
            )
            self.group.wait_until(
                lambda: port_open("127.0.0.1", cfg.port), "the MQTT broker", timeout
            )
            bridge_url = f"mqtt://dash-bridge:{cfg.bridge_secret}@127.0.0.1:{cfg.port}"
        env["DASH_MQTT_URL"] = bridge_url
        if cfg.rasa_url:
            env["DASH_RASA_URL"] = cfg.rasa_url
            env["DASH_RASA_TOKEN"] = cfg.rasa_token or ""
        self.group.spawn("bridge", [sys.executable, "-m", "mqtt_bridge"], env)
        log = (cfg.log_dir / "bridge.log") if cfg.log_dir else None
        if log:
            self.group.wait_until(
                lambda: log.exists() and "connected to" in log.read_text(errors="replace"),
                "the scanner bridge",
                timeout,
            )

    def stop(self) -> None:
        self.group.stop()
