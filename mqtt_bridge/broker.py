"""Rendering the shipped Mosquitto configuration (deploy/mosquitto/mosquitto.conf)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from shop.config import PROJECT_ROOT

SHIPPED_CONF = PROJECT_ROOT / "deploy" / "mosquitto" / "mosquitto.conf"


def render_mosquitto_conf(
    port: int, auth_dir: Path, data_dir: Path, bind: str = "127.0.0.1", user: str = "mosquitto"
) -> str:
    return Template(SHIPPED_CONF.read_text(encoding="utf-8")).substitute(
        port=port, bind=bind, auth_dir=str(auth_dir), data_dir=str(data_dir), user=user
    )
