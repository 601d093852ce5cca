"""`dash demo` (everything on loopback until Ctrl-C) and `dash chat`."""

from __future__ import annotations

import os

import click

from shop.cli import _Ctx, _redact, cli, pass_ctx
from shop.cli_scanners import _auth_dir
from shop.config import PROJECT_ROOT


def _refresh_offers(ctx: _Ctx) -> None:
    """Personal offers for every demo household (expired ones replaced), within budget."""
    from recommender.live import ModelWatcher
    from shop.offer_engine import refresh

    with ctx.store.session() as s:
        made = refresh(s, ctx.settings, ModelWatcher(ctx.settings.models_dir).current())
    click.echo(f"personal offers: {sum(len(v) for v in made.values())} new")


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
@click.option(
    "--assist-port",
    type=int,
    default=10700,
    show_default=True,
    help="Port of the Wyoming service for Home Assistant Assist (speaks for household 1).",
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
    assist_port: int,
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

    settings = ctx.settings.with_(
        secret_key=ctx.settings.secret_key or _secret_key(),
        rasa_public_url=f"http://127.0.0.1:{rasa_port}",
    )
    upgrade(settings)
    with ctx.store.session() as s:
        stats = run_seed(s, Params())
        tok = issue_token(s, 1, label="demo")
        operator = issue_token(s, None, role="operator", label="demo")
    if not stats.skipped:
        click.echo(
            f"demo store created: {stats.households} households, {stats.purchases} purchases"
        )
    if not (settings.models_dir / "manifest.json").exists():
        from shop.cli import _train_recommender

        click.echo("training the recommender on the demo history ...")
        _train_recommender(ctx)
    assistant = scanners = assist = None
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
                    models_dir=settings.models_dir,
                    secret_key=settings.secret_key,
                )
            )
            click.echo("starting the Rasa server and the action server ...")
            assistant.launch()  # it loads for 15-20 s: refresh the offers meanwhile
        _refresh_offers(ctx)
        if assistant:
            assistant.wait_ready()
            assist, assist_port = _start_assist(settings, assistant, assist_port)
        if not no_scanners:
            scanners, device_line = _start_scanners(ctx, assistant, mqtt_port)
    except BaseException:
        for running in (scanners, assist, assistant):
            if running:
                running.stop()
        raise
    port = port or settings.api_port
    server = make_server(
        settings.api_host, port, create_app(settings, store=ctx.store), threaded=True
    )
    base = f"http://{settings.api_host}:{port}"
    lines = [
        "",
        "Dash demo is running (Ctrl-C stops it)",
        f"  web            {base}/  (chat {base}/chat, operator dashboard {base}/dashboard)",
        f"  store API      {base}/api/health",
        f"  database       {_redact(settings.database_url)}",
        f"  household 1    token {tok}  (log in on the web page with it)",
        f"  operator       token {operator}",
    ]
    if assistant:
        lines += [
            f"  assistant      {assistant.webhook} (REST; sender = household id)",
            f"  socket.io      http://127.0.0.1:{rasa_port}/socket.io",
            f"  Rasa HTTP API  http://127.0.0.1:{rasa_port}"
            f" (auth token {assistant.cfg.auth_token})",
            f"  Home Assistant Wyoming tcp://127.0.0.1:{assist_port} (speaks for household 1;"
            " add it in Home Assistant as a Wyoming conversation agent)",
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
        if assist:
            assist.stop()
        if assistant:
            assistant.stop()
        ctx.store.dispose()
        click.echo("stopped")


def _secret_key() -> str:
    """The demo's signing secret, kept in var/secret_key so logins survive a restart."""
    import secrets

    path = PROJECT_ROOT / "var" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both end the demo cleanly (a shell may start it with SIGINT
    ignored, and SIGTERM would otherwise leave the child processes running)."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _start_assist(settings, assistant, port: int):  # noqa: ANN001, ANN202
    """The Wyoming handle service for Home Assistant, as its own process."""
    import sys

    from shop.processes import ProcessGroup, free_port, port_open

    if port_open("127.0.0.1", port):
        busy, port = port, free_port()
        click.echo(f"port {busy} is taken; the Wyoming service uses {port}")
    group = ProcessGroup(PROJECT_ROOT / "var" / "log")
    group.spawn(
        "assist",
        [
            sys.executable,
            "-m",
            "voice.wyoming_service",
            "--port",
            str(port),
            "--rasa-url",
            assistant.url,
            "--household",
            "1",
        ],  # fmt: skip
        {**os.environ, "DASH_DATABASE_URL": settings.database_url},
    )
    group.wait_until(lambda: port_open("127.0.0.1", port), "the Wyoming service", 30)
    return group, port


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
