"""Starting the assistant's processes: the Rasa server and the action server, on loopback.

Used by `dash demo` and by the end-to-end tests, so both run exactly the same commands.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shop.config import PROJECT_ROOT


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


def write_endpoints(cfg: AssistantConfig) -> Path:
    """endpoints.yml with this run's action-server port (the committed one says 5055)."""
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.run_dir / f"endpoints-{cfg.rasa_port}.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://{cfg.host}:{cfg.actions_port}/webhook"\n',
        encoding="utf-8",
    )
    return path


def _env(cfg: AssistantConfig) -> dict[str, str]:
    return {
        **os.environ,
        "DASH_DATABASE_URL": cfg.database_url,
        "SANIC_HOST": cfg.host,  # rasa_sdk listens on all interfaces without it
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore",
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
        "rasa",
        "run",
        "--model",
        str(cfg.model),
        "-i",
        cfg.host,
        "-p",
        str(cfg.rasa_port),
        "--enable-api",
        "--auth-token",
        cfg.auth_token,
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
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        out = subprocess.DEVNULL
        if self.cfg.log_dir:
            self.cfg.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.cfg.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - kept open
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=_env(self.cfg),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 180.0) -> None:
        endpoints = write_endpoints(self.cfg)
        self._spawn("actions", actions_command(self.cfg))
        self._spawn("rasa", rasa_command(self.cfg, endpoints))
        deadline = time.monotonic() + timeout
        checks = [
            f"http://{self.cfg.host}:{self.cfg.actions_port}/health",
            f"http://{self.cfg.host}:{self.cfg.rasa_port}/status?token={self.cfg.auth_token}",
        ]
        for url in checks:
            while not _answers(url):
                if any(p.poll() is not None for p in self.procs):
                    self.stop()
                    raise RuntimeError(
                        f"an assistant process exited early; logs: {self.cfg.log_dir}"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
                time.sleep(0.5)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()

    @property
    def webhook(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.rasa_port}/webhooks/rest/webhook"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as res:  # noqa: S310 - loopback only
            return res.status == 200
    except OSError:
        return False
