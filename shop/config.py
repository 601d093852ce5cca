"""Settings for every Dash process, read once from the environment and passed in explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"


def _default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATA_DIR / 'dash.db'}"


@dataclass(frozen=True)
class Settings:
    """Explicit configuration; build with :meth:`from_env` and override with :meth:`with_`."""

    database_url: str = field(default_factory=_default_database_url)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: Largest request body the HTTP API accepts (bytes); bigger bodies get a 413.
    max_body_bytes: int = 64 * 1024
    #: Default spending limit per order in cents for households that set none.
    default_spending_limit_cents: int = 30_000
    #: Largest quantity of one product on a cart line.
    max_line_quantity: int = 50
    echo_sql: bool = False
    #: Where `dash train` writes the recommender models and the assistant reads them.
    models_dir: Path = PROJECT_ROOT / "models" / "recommender"
    #: Local time zone of the households (quiet hours and "remind me tomorrow" are local).
    timezone: str = "UTC"
    #: No reminder is sent from ``quiet_start`` to ``quiet_end`` o'clock, local time.
    quiet_start: int = 21
    quiet_end: int = 8
    #: A reminder for one category is never repeated within this many hours.
    reminder_interval_hours: int = 72
    #: Discount money the offer engine may give one household per offer period (cents).
    offer_budget_cents: int = 500
    offer_period_days: int = 7
    #: Personal offers per household at a time; a declined product is not offered again for
    #: ``offer_decline_days``.
    offers_per_household: int = 3
    offer_decline_days: int = 30
    #: Signs the web login cookie and the chat tickets the action server checks: every process
    #: of one deployment needs the same value (`dash demo` keeps one in var/secret_key).
    secret_key: str = ""
    #: Where browsers reach Rasa's socket.io channel (the chat page connects there directly).
    rasa_public_url: str = "http://127.0.0.1:5005"
    #: The last `make bench` report and the recommender evaluation plots the dashboard shows.
    bench_report: Path = PROJECT_ROOT / "bench" / "results.json"
    evaluation_report: Path = PROJECT_ROOT / "bench" / "recommender-completejourney.json"
    plots_dir: Path = PROJECT_ROOT / "docs" / "recommender"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            database_url=env.get("DASH_DATABASE_URL", base.database_url),
            api_host=env.get("DASH_API_HOST", base.api_host),
            api_port=int(env.get("DASH_API_PORT", base.api_port)),
            max_body_bytes=int(env.get("DASH_MAX_BODY_BYTES", base.max_body_bytes)),
            default_spending_limit_cents=int(
                env.get("DASH_SPENDING_LIMIT_CENTS", base.default_spending_limit_cents)
            ),
            echo_sql=env.get("DASH_ECHO_SQL", "") == "1",
            models_dir=Path(env.get("DASH_MODELS_DIR", str(base.models_dir))),
            timezone=env.get("DASH_TIMEZONE", base.timezone),
            quiet_start=int(env.get("DASH_QUIET_START", base.quiet_start)),
            quiet_end=int(env.get("DASH_QUIET_END", base.quiet_end)),
            reminder_interval_hours=int(
                env.get("DASH_REMINDER_INTERVAL_HOURS", base.reminder_interval_hours)
            ),
            offer_budget_cents=int(env.get("DASH_OFFER_BUDGET_CENTS", base.offer_budget_cents)),
            offer_period_days=int(env.get("DASH_OFFER_PERIOD_DAYS", base.offer_period_days)),
            secret_key=env.get("DASH_SECRET_KEY", base.secret_key),
            rasa_public_url=env.get("DASH_RASA_PUBLIC_URL", base.rasa_public_url),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
