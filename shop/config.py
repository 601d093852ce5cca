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
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
