"""Schema migrations with Alembic, driven from code so `dash init-db` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from shop.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a URL (escaped passwords) must be doubled.
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (idempotent).

    Runs on an engine from :func:`shop.store.make_engine`, so SQLite gets its directory and
    WAL mode exactly as the running store does.
    """
    from shop.store import make_engine

    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(settings)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def revision(settings: Settings, message: str) -> None:
    """Autogenerate a new revision from the difference between the models and the database."""
    command.revision(alembic_config(settings), message=message, autogenerate=True)
