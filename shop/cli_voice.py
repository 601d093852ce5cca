"""`dash link`, `dash assist`, `dash telegram-webhook` and `dash alexa-model`: the speaker and
messaging-app doors (voice/, bot/channels/)."""

from __future__ import annotations

import click

from shop.cli import _Ctx, cli, pass_ctx


@cli.command("link")
@click.argument("channel", type=click.Choice(["telegram", "assist"]))
@click.argument("external_id")
@click.argument("household", type=int)
@click.option("--member", help="The member who speaks there (their preferences win).")
@pass_ctx
def link(ctx: _Ctx, channel: str, external_id: str, household: int, member: str | None) -> None:
    """Let a Telegram chat id or a Home Assistant satellite/device id speak for HOUSEHOLD."""
    from shop.links import link as make_link

    with ctx.store.session() as s:
        make_link(s, channel, external_id, household, member)
    click.echo(f"{channel} {external_id} now speaks for household {household}")


@cli.command("unlink")
@click.argument("channel", type=click.Choice(["telegram", "assist"]))
@click.argument("external_id")
@pass_ctx
def unlink(ctx: _Ctx, channel: str, external_id: str) -> None:
    """Remove a link: that chat or device is a visitor again."""
    from shop.links import unlink as drop

    with ctx.store.session() as s:
        drop(s, channel, external_id)
    click.echo("unlinked")


@cli.command("links")
@pass_ctx
def links(ctx: _Ctx) -> None:
    """List linked chats and devices."""
    from shop.links import list_links

    with ctx.store.session() as s:
        for row in list_links(s):
            who = f" ({row.member})" if row.member else ""
            click.echo(f"{row.channel:9} {row.external_id:30} household {row.household_id}{who}")


@cli.command("assist")
@click.option("--household", type=int, help="The household this home's speakers speak for.")
@click.option("--host", default="127.0.0.1", show_default=True, help="No auth: keep loopback.")
@click.option("--port", default=10700, show_default=True)
@click.option("--rasa-url", default="http://127.0.0.1:5005", show_default=True)
def assist(household: int | None, host: str, port: int, rasa_url: str) -> None:
    """Run the Wyoming handle service for Home Assistant Assist (Ctrl-C stops)."""
    from voice import wyoming_service

    args = ["--host", host, "--port", str(port), "--rasa-url", rasa_url]
    wyoming_service.main(args + (["--household", str(household)] if household else []))


@cli.command("telegram-webhook")
def telegram_webhook() -> None:
    """Point the Telegram bot at this deployment (DASH_TELEGRAM_TOKEN, DASH_TELEGRAM_SECRET,
    DASH_TELEGRAM_WEBHOOK_URL), with the secret Telegram must send back."""
    import asyncio

    from bot.channels.telegram import TelegramChannel, set_webhook

    channel = TelegramChannel.from_credentials({})
    try:
        click.echo(asyncio.run(set_webhook(channel)))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command("alexa-model")
@click.option(
    "--out", type=click.Path(), help="Skill package directory (default alexa/skill-package)."
)
@pass_ctx
def alexa_model(ctx: _Ctx, out: str | None) -> None:
    """Write the Alexa skill's interaction model (intents, samples, a PRODUCT slot type from
    the catalog) where the ASK CLI deploys it from."""
    from pathlib import Path

    from bot.alexa_model import SKILL_DIR, write_model

    with ctx.store.session() as s:
        click.echo(f"wrote {write_model(s, Path(out) if out else SKILL_DIR)}")
