"""`dash device ...`, `dash broker-config`, `dash scan`: scanners and their broker."""

from __future__ import annotations

import os
from pathlib import Path

import click

from shop.cli import _Ctx, cli, pass_ctx
from shop.config import PROJECT_ROOT, Settings


@cli.group("device")
def device_group() -> None:
    """Scanner devices: provision, list, revoke (and the Mosquitto password/ACL files)."""


def _auth_dir(settings: Settings) -> Path:
    return Path(os.environ.get("DASH_MQTT_AUTH_DIR", PROJECT_ROOT / "var" / "mosquitto"))


def _write_auth(ctx: _Ctx) -> None:
    """Rewrite passwd and acl for Mosquitto (or the demo broker) from the store."""
    from shop.devices import refresh_auth_files

    directory = _auth_dir(ctx.settings)
    users = [u.strip() for u in os.environ.get("DASH_MQTT_BRIDGE_USERS", "").split(",") if u]
    with ctx.store.session() as s:
        refresh_auth_files(s, directory, users or None)
    click.echo(f"wrote {directory}/passwd and acl (send Mosquitto a SIGHUP to reload them)")


@device_group.command("add")
@click.argument("household", type=int)
@click.option("--name", required=True, help="Where the device is, e.g. kitchen.")
@click.option(
    "--mode", type=click.Choice(["cart", "list", "price"]), default="cart", show_default=True
)
@pass_ctx
def device_add(ctx: _Ctx, household: int, name: str, mode: str) -> None:
    """Provision a scanner for HOUSEHOLD; prints its id and secret (shown once)."""
    from shop.devices import add_device

    with ctx.store.session() as s:
        new = add_device(s, household, name, mode)
    click.echo(f"device id: {new.id}\nsecret:    {new.secret}")
    _write_auth(ctx)


@device_group.command("list")
@click.option("--household", type=int, default=None)
@pass_ctx
def device_list(ctx: _Ctx, household: int | None) -> None:
    """List devices with their status and last-seen time."""
    from shop.devices import list_devices

    with ctx.store.session() as s:
        for d in list_devices(s, household):
            state = "revoked" if d.revoked_at else ("online" if d.online else "offline")
            seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "never"
            click.echo(
                f"{d.id}  household {d.household_id}  {d.name:<12} {d.mode:<5} "
                f"{state:<8} last seen {seen}"
            )


@device_group.command("revoke")
@click.argument("device_id")
@pass_ctx
def device_revoke(ctx: _Ctx, device_id: str) -> None:
    """Revoke a device: it can no longer connect once Mosquitto reloads its password file."""
    from shop.devices import revoke_device

    with ctx.store.session() as s:
        revoke_device(s, device_id)
    click.echo(f"revoked {device_id}")
    _write_auth(ctx)


@cli.command("broker-config")
@click.option("--port", type=int, default=1883, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True)
@click.option(
    "--auth-dir",
    type=click.Path(),
    default=None,
    help="Where passwd and acl are (default var/mosquitto, DASH_MQTT_AUTH_DIR).",
)
@click.option("--data-dir", type=click.Path(), default="var/mosquitto/data", show_default=True)
@click.option("--user", default="mosquitto", show_default=True)
@pass_ctx
def broker_config(
    ctx: _Ctx, port: int, bind: str, auth_dir: str | None, data_dir: str, user: str
) -> None:
    """Print the shipped Mosquitto configuration with these paths and port."""
    from mqtt_bridge.broker import render_mosquitto_conf

    auth = Path(auth_dir) if auth_dir else _auth_dir(ctx.settings)
    click.echo(render_mosquitto_conf(port, auth.resolve(), Path(data_dir).resolve(), bind, user))


@cli.command("scan")
@click.argument("device_id")
@click.argument("barcode")
@click.option(
    "--secret",
    envvar="DASH_DEVICE_SECRET",
    required=True,
    help="The device's secret (or DASH_DEVICE_SECRET).",
)
@click.option("--qty", type=int, default=1, show_default=True)
@click.option(
    "--url",
    envvar="DASH_MQTT_BROKER",
    default="mqtt://127.0.0.1:1883",
    show_default=True,
    help="The broker (host and port; credentials are the device's).",
)
def scan(device_id: str, barcode: str, secret: str, qty: int, url: str) -> None:
    """Publish a scan as DEVICE_ID would, and print the bridge's answer."""
    import json
    import queue
    import uuid
    from urllib.parse import urlparse

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    where = urlparse(url)
    answers: queue.Queue = queue.Queue()
    connected: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311)
    client.username_pw_set(device_id, secret)
    client.on_connect = lambda _c, _u, _f, rc, _p=None: connected.put(rc)
    client.on_message = lambda _c, _u, m: answers.put(json.loads(m.payload))
    client.connect(where.hostname or "127.0.0.1", where.port or 1883)
    client.loop_start()
    try:
        rc = connected.get(timeout=10)
        if rc.is_failure:
            raise click.ClickException(f"the broker refused the device: {rc}")
        client.subscribe(f"dash/{device_id}/ack", qos=1)
        event = str(uuid.uuid4())
        client.publish(
            f"dash/{device_id}/scan",
            json.dumps({"id": event, "barcode": barcode, "qty": qty}),
            qos=1,
        )
        try:
            while True:
                answer = answers.get(timeout=15)
                if answer.get("id") == event:
                    click.echo(json.dumps(answer))
                    break
        except queue.Empty:
            raise click.ClickException("no answer from the bridge within 15 s") from None
    finally:
        client.loop_stop()
        client.disconnect()
