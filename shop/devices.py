"""Scanner devices: provisioning, revocation, and the Mosquitto password and ACL files.

A device's secret is shown once and stored only as a Mosquitto PBKDF2-SHA512 hash (the ``$7$``
format of ``mosquitto_passwd``), so the password file is written straight from the database.
The ACL lets a device publish only its own event topics and read only its own acks (``%u``
patterns); with ``use_username_as_clientid`` in the shipped Mosquitto config a device cannot
take over another device's client id either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import Conflict, InvalidInput, NotFound
from shop.households import get_household
from shop.models import Device, utcnow

MODES = ("cart", "list", "price")
ITERATIONS = 101  # what mosquitto_passwd uses
BRIDGE_USER = "dash-bridge"

BRIDGE_ACL = """user {bridge}
topic read dash/+/scan
topic read dash/+/button
topic read dash/+/voice
topic read dash/+/status
topic write dash/+/ack
"""

ACL_TEMPLATE = """# Written by `dash device ...`; do not edit by hand.
# Bridge workers read every device's events and answer on every ack topic.
{bridges}
# Each device: its own events and status out, its own acks in (%u is its username = id).
pattern write dash/%u/scan
pattern write dash/%u/button
pattern write dash/%u/voice
pattern write dash/%u/status
pattern read dash/%u/ack
"""


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(got, base64.b64decode(digest))


@dataclass(frozen=True)
class NewDevice:
    id: str
    secret: str


def add_device(session: Session, household_id: int, name: str, mode: str = "cart") -> NewDevice:
    get_household(session, household_id)
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}")
    if not name.strip() or len(name) > 80:
        raise InvalidInput("give the device a name of 1-80 characters")
    device_id = f"dev-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(24)
    session.add(
        Device(
            id=device_id,
            household_id=household_id,
            name=name.strip(),
            secret_hash=mosquitto_hash(secret),
            mode=mode,
        )
    )
    session.flush()
    return NewDevice(device_id, secret)


def get_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def revoke_device(session: Session, device_id: str) -> Device:
    device = get_device(session, device_id)
    if device.revoked_at is not None:
        raise Conflict(f"device {device_id} is already revoked")
    device.revoked_at = utcnow()
    device.online = False
    return device


def list_devices(session: Session, household_id: int | None = None) -> list[Device]:
    query = select(Device).order_by(Device.household_id, Device.created_at)
    if household_id is not None:
        query = query.where(Device.household_id == household_id)
    return list(session.execute(query).scalars())


def write_mosquitto_auth(
    session: Session, directory: Path, bridges: Mapping[str, str]
) -> tuple[Path, Path]:
    """(Re)write ``passwd`` and ``acl`` for all live devices plus the bridge workers
    (``{username: password hash}``; each worker needs its own username, which is its client
    id)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{user}:{digest}" for user, digest in bridges.items()]
    lines += [
        f"{d.id}:{d.secret_hash}"
        for d in session.execute(
            select(Device).where(Device.revoked_at.is_(None)).order_by(Device.id)
        ).scalars()
    ]
    passwd, acl = directory / "passwd", directory / "acl"
    tmp = directory / "passwd.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(passwd)
    blocks = "\n".join(BRIDGE_ACL.format(bridge=user) for user in bridges)
    acl.write_text(ACL_TEMPLATE.format(bridges=blocks), encoding="utf-8")
    return passwd, acl


def refresh_auth_files(
    session: Session, directory: Path, bridge_users: list[str] | None = None
) -> str:
    """Rewrite passwd and acl; returns the bridge workers' password, kept (0600) in
    ``directory/bridge.secret`` and made on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    secret_file = directory / "bridge.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(24))
        secret_file.chmod(0o600)
    secret = secret_file.read_text().strip()
    users = bridge_users or [BRIDGE_USER]
    write_mosquitto_auth(session, directory, {u: mosquitto_hash(secret) for u in users})
    return secret
