"""The database handle: one engine and session factory per process, built from Settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from shop.config import Settings
from shop.errors import StoreUnavailable


def make_engine(settings: Settings) -> Engine:
    """Build the engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    from sqlalchemy import create_engine

    url = make_url(settings.database_url)
    kwargs: dict = {"future": True, "echo": settings.echo_sql}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLAlchemy 1.4 opens a new SQLite connection per session by default (NullPool),
            # which costs a connect, four PRAGMAs and a close per unit of work: pool them.
            kwargs["poolclass"] = QueuePool
            kwargs["pool_size"] = 5
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit when the block ends, roll back if it raises."""
        from sqlalchemy.exc import DBAPIError

        session = self._sessions()
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            _safe_rollback(session)
            if exc.connection_invalidated or _transient(exc):
                # Connection refused or lost, server shutting down, database locked: all
                # transient, and the transaction was rolled back, so callers may retry.
                raise StoreUnavailable("the database is unavailable; nothing was changed") from exc
            raise
        except BaseException:
            _safe_rollback(session)
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _transient(exc: Exception) -> bool:
    """Errors worth retrying: lost or refused connections, and a locked SQLite file (but not
    SQLite's other OperationalErrors, such as a missing table, which are bugs)."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    if "sqlite" in type(exc.orig).__module__:
        text = str(exc.orig).lower()
        return "locked" in text or "unable to open" in text or "disk i/o" in text
    return True


def _safe_rollback(session: Session) -> None:
    """Roll back, even when the connection is already gone."""
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the original error is the one worth raising
        session.invalidate()


def sync_id_sequence(session: Session, table: str, column: str = "id") -> None:
    """After inserting explicit ids on PostgreSQL, move the serial sequence past them."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )
    )
