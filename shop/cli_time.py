"""`dash low`, `dash remind`, `dash offers ...` and `dash forecast`: the time axis and offers
from the command line (and from cron, for stores that run reminders and offers on a schedule)."""

from __future__ import annotations

import click

from shop.cli import _Ctx, cli, pass_ctx


def _models(ctx: _Ctx):
    from recommender.live import ModelWatcher

    return ModelWatcher(ctx.settings.models_dir).current()


def _timing(ctx: _Ctx):
    models = _models(ctx)
    return getattr(models, "timing", None) if models else None


@cli.command("low")
@click.argument("household", type=int)
@click.option("--days", default=7, show_default=True, help="Due within this many days.")
@pass_ctx
def low(ctx: _Ctx, household: int, days: int) -> None:
    """What HOUSEHOLD is running low on: predicted next purchase per category."""
    from shop.households import get_household
    from shop.replenishment import running_low

    with ctx.store.session() as s:
        get_household(s, household)
        items = running_low(s, household, model=_timing(ctx), horizon_days=days)
        if not items:
            click.echo("nothing due")
        for c in items:
            click.echo(
                f"{c.category:<20} due {c.predicted} ({c.earliest}..{c.latest}), "
                f"p7 {c.p7:.2f}, every {c.interval_days:.0f} d, last {c.last_bought}, "
                f"usual: {c.usual_product or '-'}"
            )


@cli.command("remind")
@pass_ctx
def remind(ctx: _Ctx) -> None:
    """Queue the reminders that are due now (one pass; the bridge sends them to the
    assistant and also runs this every DASH_REMINDER_CHECK_S seconds)."""
    from shop.models import utcnow
    from shop.reminders import in_quiet_hours, queue_due

    if in_quiet_hours(utcnow(), ctx.settings):
        click.echo("quiet hours: nothing sent")
        return
    with ctx.store.session() as s:
        sent = queue_due(s, ctx.settings, model=_timing(ctx))
        for item in sent:
            click.echo(f"household {item.household_id}: {item.cycle.category}")
    click.echo(f"{len(sent)} reminders queued")


@cli.group("offers")
def offers_group() -> None:
    """Personal offers: refresh them from the recommender, list them."""


@offers_group.command("refresh")
@click.option("--household", type=int, multiple=True, help="Only these households.")
@pass_ctx
def offers_refresh(ctx: _Ctx, household: tuple[int, ...]) -> None:
    """Expire old offers and give every household (or these) new ones, within budget."""
    from shop.offer_engine import refresh

    with ctx.store.session() as s:
        made = refresh(s, ctx.settings, _models(ctx), list(household) or None)
        count = sum(len(v) for v in made.values())
    click.echo(f"{count} offers for {len(made)} households")


@offers_group.command("list")
@click.argument("household", type=int, required=False)
@pass_ctx
def offers_list(ctx: _Ctx, household: int | None) -> None:
    """The offers HOUSEHOLD can take now (without HOUSEHOLD: the generic deals)."""
    from shop.offers import current_offers

    with ctx.store.session() as s:
        for o in current_offers(s, household):
            who = "you" if o.household_id else "everyone"
            click.echo(
                f"#{o.id} {o.product.name}: {o.discount_pct}% off, {o.price_cents / 100:.2f} "
                f"({o.kind}, for {who}: {o.reason}), until {o.expires_at:%Y-%m-%d}"
            )


@cli.command("forecast")
@click.option("--days", default=7, show_default=True, help="Days ahead (1-28).")
@pass_ctx
def forecast(ctx: _Ctx, days: int) -> None:
    """Units per category and delivery area per day, for staging stock before orders come."""
    from shop.forecast import demand_forecast

    if not 1 <= days <= 28:
        raise click.UsageError("--days must be from 1 to 28")
    with ctx.store.session() as s:
        report = demand_forecast(s, days, _timing(ctx))
    click.echo(f"{'area':<12} {'category':<20} " + " ".join(d[5:] for d in report["days"]))
    for row in report["rows"]:
        units = " ".join(f"{u:5.1f}" for u in row["units"])
        click.echo(f"{row['area']:<12} {row['category']:<20} {units}")
