"""Shared fixtures: the real catalog, databases (SQLite always, PostgreSQL with
DATABASE_URL) and the switch for slow end-to-end tests."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import settings
from bot.catalog.loader import read_catalog
from bot.catalog.search import build_index
from bot.db import engine_for
from bot.kv import MemoryStore, RedisStore
from tests.stack import stack  # noqa: F401  (the running assistant, for e2e and attacks)

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "data" / "catalog"
REFERENCE_DIR = ROOT / "data" / "reference"
SHARED = ROOT.parent / "shared"

RUN_SLOW = os.environ.get("CI") == "true" or os.environ.get("RUN_SLOW") == "1"
# Nothing leaves the machine from tests either (Rasa's telemetry and error reports).
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
# Tests run as a development machine (bot/settings.py: production is the default and
# refuses development credentials); the production checks have tests of their own.
os.environ.setdefault("GOVBOT_ENV", "development")


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test reads the environment as it finds it (bot/settings.py reads it once
    per process)."""
    settings.reset()
    yield
    settings.reset()


@pytest.fixture
def monkeypatch(monkeypatch):
    """pytest's monkeypatch, whose `setenv` and `delenv` also make the next
    `settings.load()` read the changed environment (as a process started with it would)."""
    setenv, delenv = monkeypatch.setenv, monkeypatch.delenv

    def setenv_and_reread(*args, **kwargs):
        setenv(*args, **kwargs)
        settings.reset()

    def delenv_and_reread(*args, **kwargs):
        delenv(*args, **kwargs)
        settings.reset()

    monkeypatch.setenv, monkeypatch.delenv = setenv_and_reread, delenv_and_reread
    yield monkeypatch


def pytest_collection_modifyitems(config, items):
    if RUN_SLOW:
        return
    skip = pytest.mark.skip(reason="slow end-to-end test: set RUN_SLOW=1 (CI=true runs it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def catalog_documents():
    entries, problems = read_catalog(CATALOG_DIR)
    assert not problems, "\n".join(map(str, problems))
    return [e.data for e in entries]


@pytest.fixture(scope="session")
def index(catalog_documents):
    return build_index(catalog_documents, REFERENCE_DIR)



@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A fresh, empty database: SQLite always; PostgreSQL when DATABASE_URL is set
    (each test gets its own schema there, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        pytest.skip("DATABASE_URL not set to PostgreSQL")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = engine_for(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    yield url
    # engine_for keeps one engine per URL for the process: its pooled connections would
    # pile up test after test (PostgreSQL allows 100 clients in all).
    engine_for(url).dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _kv_kinds():
    yield "memory"
    if os.environ.get("REDIS_URL"):
        yield "redis"


@pytest.fixture(params=list(_kv_kinds()))
async def kv_store(request):
    """The shared key-value store (bot/kv.py): in memory, and in Redis with REDIS_URL."""
    if request.param == "memory":
        yield MemoryStore()
        return
    store = RedisStore(os.environ["REDIS_URL"])
    yield store
    await store.close()


@pytest.fixture(scope="session")
def domain():
    """The assistant's domain (domain.yml)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_store(request, domain, tmp_path):
    """The windowed SQL tracker store (4-turn windows) on SQLite, and on PostgreSQL when
    DATABASE_URL points there, configured as `make run` configures it."""
    from rasa_ext.endpoints import tracker_store as tracker_store_config
    from rasa_ext.tracker_store import WindowedSQLTrackerStore

    if request.param == "sqlite":
        store = WindowedSQLTrackerStore(domain, window_turns=4, dialect="sqlite",
                                        db=str(tmp_path / "t.db"))
    else:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres"):
            pytest.skip("DATABASE_URL not set to PostgreSQL")
        # A schema of its own, as `database_url` gives: tests may count what is stored.
        schema = f"t_{uuid.uuid4().hex[:10]}"
        with engine_for(url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        config = tracker_store_config(url)
        config.pop("type")
        store = WindowedSQLTrackerStore(domain, window_turns=4,
                                        query={"options": f"-csearch_path={schema}"}, **config)
    yield store
    store.engine.dispose()  # its pooled connections, before the next test opens more
    if request.param == "postgresql":
        with engine_for(url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
