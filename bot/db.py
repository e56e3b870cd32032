"""One SQLAlchemy engine per database URL and process.

SQLite by default (a file under var/), PostgreSQL in production through DATABASE_URL.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine


@lru_cache(maxsize=None)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, future=True, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record) -> None:  # readers never block the importer
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        return engine
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=5)


#: The PostgreSQL advisory lock key under which every process creates its tables.
SCHEMA_LOCK = 0x60B07AB1E


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Held while a process creates its tables. Several instances started at once on a
    fresh database (`make run-cluster`, a rolling deploy; `make run`'s processes on one
    SQLite file) would otherwise race between "does the table exist?" and CREATE TABLE:
    the loser fails on a duplicate table and does not start. PostgreSQL: an advisory
    lock; SQLite: an flock on a file beside the database (none for an in-memory one)."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.schema-lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
        try:
            yield
        finally:
            # a session lock, not transactional: no commit (Rasa's own engine, not a
            # `future` one, has connections without commit())
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """`metadata.create_all(engine)`, one process at a time (`schema_lock`)."""
    with schema_lock(engine):
        metadata.create_all(engine)
