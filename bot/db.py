"""One SQLAlchemy engine per database URL and process.

SQLite by default (a file under var/), PostgreSQL in production through DATABASE_URL.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import create_engine, event
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
