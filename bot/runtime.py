"""Starting the assistant's processes: the Rasa server and the action server, on loopback.

Used by `dash demo` and by the end-to-end tests, so both run exactly the same commands.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shop.config import PROJECT_ROOT
from shop.processes import ProcessGroup, http_ok


@dataclass
class AssistantConfig:
    model: Path
    database_url: str
    rasa_port: int = 5005
    actions_port: int = 5055
    host: str = "127.0.0.1"
    auth_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    run_dir: Path = PROJECT_ROOT / "var" / "run"
    log_dir: Path | None = None
    #: Recommender models for the action server (default: DASH_MODELS_DIR or models/recommender).
    models_dir: Path | None = None
    #: Shared with the web app: the action server checks the web chat's tickets with it.
    secret_key: str = ""
    #: More environment for both processes (channel settings: DASH_ALEXA_*, DASH_TELEGRAM_*).
    env: dict[str, str] = field(default_factory=dict)


def write_endpoints(cfg: AssistantConfig) -> Path:
    """endpoints.yml with this run's action-server port (the committed one says 5055)."""
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.run_dir / f"endpoints-{cfg.rasa_port}.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://{cfg.host}:{cfg.actions_port}/webhook"\n',
        encoding="utf-8",
    )
    return path


def process_env(cfg: AssistantConfig) -> dict[str, str]:
    return {
        **os.environ,
        "DASH_DATABASE_URL": cfg.database_url,
        "SANIC_HOST": cfg.host,  # rasa_sdk listens on all interfaces without it
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore",
        "RASA_TELEMETRY_ENABLED": "false",  # no network beyond loopback
        **({"DASH_MODELS_DIR": str(cfg.models_dir)} if cfg.models_dir else {}),
        **({"DASH_SECRET_KEY": cfg.secret_key} if cfg.secret_key else {}),
        **cfg.env,
    }


def actions_command(cfg: AssistantConfig) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rasa_sdk",
        "--actions",
        "bot.actions",
        "-p",
        str(cfg.actions_port),
    ]


def rasa_command(cfg: AssistantConfig, endpoints: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.rasa_server",  # `rasa run`, with the action-response check made cheap
        "run",
        "--model",
        str(cfg.model),
        "-i",
        cfg.host,
        "-p",
        str(cfg.rasa_port),
        "--enable-api",
        f"--auth-token={cfg.auth_token}",  # "=": a token may start with "-"
        "--endpoints",
        str(endpoints),
        "--credentials",
        "credentials.yml",
        "--cors",
        f"http://{cfg.host}:*",
    ]


class Assistant:
    """The two processes; ``start`` waits until both answer, ``stop`` ends them."""

    def __init__(self, cfg: AssistantConfig) -> None:
        self.cfg = cfg
        self.group = ProcessGroup(cfg.log_dir)

    def start(self, timeout: float = 180.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start both processes without waiting (the Rasa server takes 15-20 s to load; the
        demo sets up the rest meanwhile)."""
        endpoints = write_endpoints(self.cfg)
        self.group.spawn("actions", actions_command(self.cfg), process_env(self.cfg))
        self.group.spawn("rasa", rasa_command(self.cfg, endpoints), process_env(self.cfg))

    def wait_ready(self, timeout: float = 180.0) -> None:
        host = self.cfg.host
        actions = f"http://{host}:{self.cfg.actions_port}/health"
        rasa = f"http://{host}:{self.cfg.rasa_port}/status?token={self.cfg.auth_token}"
        self.group.wait_until(lambda: http_ok(actions), "the action server", timeout)
        self.group.wait_until(lambda: http_ok(rasa), "the Rasa server", timeout)

    def stop(self) -> None:
        self.group.stop()

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.rasa_port}"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"
