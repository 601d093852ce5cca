"""Shared fixtures: stores on SQLite and PostgreSQL, a seeded demo store, the Flask client.

PostgreSQL tests use a throwaway database created on the server named by
``DASH_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
If that server is unreachable they fail with instructions; set ``DASH_TEST_POSTGRES=skip``
to skip them on a machine without PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shop.config import Settings
from shop.demo.generator import Params
from shop.demo.seed import seed_demo
from shop.households import issue_token
from shop.migrate import upgrade
from shop.processes import free_port  # noqa: F401 - re-exported for the tests
from shop.store import Store

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Property tests draw new examples on every local run (one found a real tie-breaking bug on
# 2026-12-08); under CI (``CI`` set, as `.ci/run` is run) they draw the same ones each time,
# so a red CI means a change broke something, not that the draw was unlucky.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PG_ADMIN_URL = os.environ.get(
    "DASH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Small, fixed demo data for tests: fast and the same on every run.
TEST_PARAMS = Params(seed=7, households=12, days=180, end=date(2026, 6, 30))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if os.environ.get("DASH_TEST_POSTGRES") == "skip":
        pytest.skip("DASH_TEST_POSTGRES=skip")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"dash_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same thing
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}). Start it "
            "(`make services`), point DASH_TEST_POSTGRES_URL at one, or set "
            "DASH_TEST_POSTGRES=skip.",
            pytrace=False,
        )
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request, tmp_path) -> Iterator[str]:
    """The database URL of each backend; PostgreSQL tables are emptied after each test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dash.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def store(backend_url, tmp_path) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    settings = Settings(database_url=backend_url, models_dir=tmp_path / "models")
    upgrade(settings)
    s = Store(settings)
    yield s
    s.dispose()


@pytest.fixture
def demo_store(store) -> Store:
    """The store with the demo catalog and a small seeded set of households."""
    with store.session() as s:
        seed_demo(s, TEST_PARAMS)
    return store


@pytest.fixture
def sqlite_demo_store(tmp_path) -> Iterator[Store]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", models_dir=tmp_path / "models"
    )
    upgrade(settings)
    s = Store(settings)
    with s.session() as session:
        seed_demo(session, TEST_PARAMS)
    yield s
    s.dispose()


@pytest.fixture
def app(sqlite_demo_store):
    from shop.api import create_app

    app = create_app(store=sqlite_demo_store)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(sqlite_demo_store) -> str:
    with sqlite_demo_store.session() as s:
        return issue_token(s, 1, label="test")


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def assistant_db(tmp_path_factory) -> str:
    """A seeded SQLite store for the assistant tests (the trained model's catalog comes from it)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('assistant') / 'a.db'}")
    upgrade(settings)
    store = Store(settings)
    with store.session() as s:
        seed_demo(s, TEST_PARAMS)
    store.dispose()
    # A pristine copy: suites that start their own assistant start from the seeded state,
    # whatever earlier tests did to this store.
    seeded = Path(settings.database_url.removeprefix("sqlite:///"))
    copy_sqlite(settings.database_url, seeded.with_name("pristine.db"))
    return settings.database_url


def start_assistant(model: Path, database_url: str, tmp: Path, **options):  # noqa: ANN201
    """The real Rasa and action servers on free loopback ports (bot.runtime.Assistant), logs
    and recommender models under ``tmp``; ``options`` go to AssistantConfig."""
    from bot.runtime import Assistant, AssistantConfig

    assistant = Assistant(
        AssistantConfig(
            model=model,
            database_url=database_url,
            rasa_port=free_port(),
            actions_port=free_port(),
            log_dir=tmp / "logs",
            models_dir=tmp / "models",
            **options,
        )
    )
    assistant.start(timeout=240)
    return assistant


def pristine(assistant_db: str, target: Path) -> str:
    """A private copy of the assistant store as seeded (see ``assistant_db``)."""
    source = Path(assistant_db.removeprefix("sqlite:///")).with_name("pristine.db")
    return copy_sqlite(f"sqlite:///{source}", target)


@pytest.fixture(scope="session")
def trained_model(assistant_db):
    """Train the Rasa model once per test run; Rasa reuses it when data and config are
    unchanged (models/ survives between runs). The catalog snapshot and spaCy pipeline are
    rewritten from the demo catalog."""
    from bot.training import export_catalog, train_rasa

    store = Store(Settings(database_url=assistant_db))
    with store.session() as s:
        export_catalog(s)
    store.dispose()
    return train_rasa()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A Mosquitto, a store with devices and a bridge, per test module (tests/mqtt_world.py)."""
    from tests.mqtt_world import World

    w = World(tmp_path_factory.mktemp("mqtt"))
    yield w
    w.close()


@pytest.fixture
def kitchen(world):
    """Household 1's kitchen scanner, connected with its own credentials."""
    from tests.mqtt_world import Device_

    d = Device_(world, world.kitchen.id, world.kitchen.secret)
    yield d
    d.close()


#: A demo history that ends yesterday: the time axis (what is due, reminders, offers) is
#: read against the real clock in the actions.
RECENT_PARAMS = Params(seed=11, households=24, days=180, end=date.today() - timedelta(days=1))


@pytest.fixture(scope="session")
def recent_db(tmp_path_factory) -> Path:
    """The seeded SQLite file, built once; ``recent_store`` hands each test its own copy."""
    path = tmp_path_factory.mktemp("recent") / "dash.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    upgrade(settings)
    store = Store(settings)
    with store.session() as s:
        seed_demo(s, RECENT_PARAMS)
    store.dispose()
    return path


@pytest.fixture
def recent_store(recent_db, tmp_path) -> Iterator[Store]:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        source = recent_db.with_name(recent_db.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / f"dash.db{suffix}")
    store = Store(
        Settings(database_url=f"sqlite:///{tmp_path / 'dash.db'}", models_dir=tmp_path / "models")
    )
    yield store
    store.dispose()


def copy_sqlite(url: str, target: Path) -> str:
    """A private copy of the session's assistant store (SQLite's backup API: WAL included)."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite:///{target}"


# The voice and messaging doors, shared by tests/test_voice_channels.py and test_speech.py.
from tests.chat_helpers import chat, ctx, matcher  # noqa: E402, F401
from tests.voice_world import doors  # noqa: E402, F401
from tests.web_helpers import web  # noqa: E402, F401
