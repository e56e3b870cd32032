"""Small shared key-value state with expiry: Redis when REDIS_URL is set, else local.

Several Rasa, action-server and web processes must agree on short-lived facts (a
message already handled, a failed-attempt counter, a cached access token). Redis holds
them in production. Without Redis:

- `store_from_env()` falls back to one process's memory (`MemoryStore`), which is right
  for facts that may be lost on a restart (a de-duplicated message, a cached token) as
  long as only one process of each kind runs;
- `durable_store_from_env()` falls back to a table of the bot's SQL database
  (`SQLStore`), for facts whose loss is a security hole: attempt counters, locks and
  pending codes of the status check must not vanish on a restart (an attacker would
  get fresh tries by crashing or waiting for a deploy), and SQL is shared by every
  process on the same database.

Keys are namespaced by the caller ("wechat:msg:…"); values are strings.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, Dict, Optional, Protocol, Tuple

from sqlalchemy import (Column, Float, Index, Integer, MetaData, String, Table, Text, cast,
                        delete, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot import settings
from bot.db import create_tables


class KeyValueStore(Protocol):
    async def get(self, key: str) -> Optional[str]: ...

    async def set(
        self, key: str, value: str, ttl: Optional[float] = None, only_if_new: bool = False
    ) -> bool:
        """Stores the value; with only_if_new, only when the key is absent (True if stored)."""

    async def incr(self, key: str, ttl: float) -> int:
        """Adds one; the key expires `ttl` seconds after its first increment."""

    async def delete(self, key: str) -> None: ...

    async def ttl(self, key: str) -> Optional[float]:
        """Seconds until the key expires; None when absent or without expiry."""


class MemoryStore:
    """The in-process fallback (one process only); expired keys vanish on access."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._data: Dict[str, Tuple[str, Optional[float]]] = {}

    def _live(self, key: str) -> Optional[Tuple[str, Optional[float]]]:
        item = self._data.get(key)
        if item is not None and item[1] is not None and item[1] <= self._clock():
            del self._data[key]
            return None
        return item

    def _sweep(self) -> None:
        # Bounded memory: every so often drop what expired.
        if len(self._data) % 1024 == 0:
            now = self._clock()
            for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
                del self._data[key]

    async def get(self, key: str) -> Optional[str]:
        item = self._live(key)
        return item[0] if item else None

    async def set(
        self, key: str, value: str, ttl: Optional[float] = None, only_if_new: bool = False
    ) -> bool:
        if only_if_new and self._live(key) is not None:
            return False
        self._sweep()
        self._data[key] = (value, self._clock() + ttl if ttl else None)
        return True

    async def incr(self, key: str, ttl: float) -> int:
        item = self._live(key)
        if item is None:
            self._sweep()
            self._data[key] = ("1", self._clock() + ttl)
            return 1
        value = int(item[0]) + 1
        self._data[key] = (str(value), item[1])
        return value

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def ttl(self, key: str) -> Optional[float]:
        item = self._live(key)
        if item is None or item[1] is None:
            return None
        return item[1] - self._clock()


class RedisStore:
    """The shared store: every process with the same REDIS_URL sees the same keys."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)

    async def get(self, key: str) -> Optional[str]:
        return await self._redis.get(key)

    async def set(
        self, key: str, value: str, ttl: Optional[float] = None, only_if_new: bool = False
    ) -> bool:
        px = int(ttl * 1000) if ttl else None
        return bool(await self._redis.set(key, value, px=px, nx=only_if_new))

    async def incr(self, key: str, ttl: float) -> int:
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.pttl(key)
        value, remaining = await pipe.execute()
        if remaining == -1:  # no expiry yet: the first increment (or one that lost it)
            await self._redis.pexpire(key, int(ttl * 1000))
        return int(value)

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)

    async def ttl(self, key: str) -> Optional[float]:
        ms = await self._redis.pttl(key)
        return ms / 1000 if ms and ms > 0 else None

    async def close(self) -> None:
        await self._redis.close()


metadata = MetaData()

entries = Table(
    "kv_entries",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=True),  # seconds since the epoch; None: never
    Index("ix_kv_entries_expires_at", "expires_at"),
)


class SQLStore:
    """The durable store without Redis: one row per key in `kv_entries`, so the keys
    survive a restart and are shared by every process on the same database.

    Expiry is wall-clock time (`time.time`: processes and restarts share it); an expired
    row is treated as absent by every call and swept now and then. The blocking SQL
    runs in a worker thread; writes of one process are serialised by a lock (SQLite
    has one writer anyway) and each is one transaction, so increments from several
    processes are counted once each (PostgreSQL row locks; SQLite's write lock).
    """

    SWEEP_EVERY = 256  # writes between two deletions of every expired row

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        create_tables(metadata, engine)

    # -- the async interface ------------------------------------------------------

    async def get(self, key: str) -> Optional[str]:
        row = await asyncio.to_thread(self._read, key)
        return row[0] if row else None

    async def set(
        self, key: str, value: str, ttl: Optional[float] = None, only_if_new: bool = False
    ) -> bool:
        return await asyncio.to_thread(self._write, self._set, key, value, ttl, only_if_new)

    async def incr(self, key: str, ttl: float) -> int:
        return await asyncio.to_thread(self._write, self._incr, key, ttl)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._write, self._delete, key)

    async def ttl(self, key: str) -> Optional[float]:
        row = await asyncio.to_thread(self._read, key)
        if row is None or row[1] is None:
            return None
        return row[1] - self._clock()

    # -- SQL (worker threads) ------------------------------------------------------

    def _read(self, key: str) -> Optional[Tuple[str, Optional[float]]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(entries.c.value, entries.c.expires_at)
                               .where(entries.c.key == key)).first()
        if row is None or (row[1] is not None and row[1] <= self._clock()):
            return None
        return row[0], row[1]

    def _write(self, operation: Callable, *args):
        with self._lock:
            with self.engine.begin() as conn:
                # First statement a write: SQLite takes its write lock here, PostgreSQL
                # the row's lock, so what follows sees no other writer of this key.
                conn.execute(delete(entries).where(entries.c.key == args[0],
                                                   entries.c.expires_at <= self._clock()))
                result = operation(conn, *args)
            self._writes += 1
            if self._writes % self.SWEEP_EVERY == 0:
                self._sweep()
        return result

    def _sweep(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(entries).where(entries.c.expires_at <= self._clock()))

    def _expiry(self, ttl: Optional[float]) -> Optional[float]:
        return self._clock() + ttl if ttl else None

    @staticmethod
    def _insert(conn: Connection, values: Dict) -> bool:
        """Inserts the row; False when another process inserted the key first."""
        try:
            with conn.begin_nested():
                conn.execute(insert(entries).values(**values))
        except IntegrityError:
            return False
        return True

    def _set(self, conn: Connection, key: str, value: str, ttl: Optional[float],
             only_if_new: bool) -> bool:
        values = {"value": value, "expires_at": self._expiry(ttl)}
        if only_if_new:
            exists = conn.execute(select(entries.c.key).where(entries.c.key == key)).first()
            return exists is None and self._insert(conn, {"key": key, **values})
        if conn.execute(update(entries).where(entries.c.key == key).values(**values)).rowcount:
            return True
        if not self._insert(conn, {"key": key, **values}):
            conn.execute(update(entries).where(entries.c.key == key).values(**values))
        return True

    def _incr(self, conn: Connection, key: str, ttl: float) -> int:
        bump = (update(entries).where(entries.c.key == key).values(
            value=cast(cast(entries.c.value, Integer) + 1, String),
            # like Redis: a key without expiry gets one on increment
            expires_at=func.coalesce(entries.c.expires_at, self._clock() + ttl)))
        if not conn.execute(bump).rowcount:
            if self._insert(conn, {"key": key, "value": "1", "expires_at": self._clock() + ttl}):
                return 1
            conn.execute(bump)  # inserted meanwhile by another process
        return int(conn.execute(select(entries.c.value).where(entries.c.key == key)).scalar())

    @staticmethod
    def _delete(conn: Connection, key: str) -> None:
        conn.execute(delete(entries).where(entries.c.key == key))


_default: Optional[KeyValueStore] = None
_durable: Optional[KeyValueStore] = None


def store_from_env() -> KeyValueStore:
    """The process's store: Redis at REDIS_URL (bot/settings.py), else one in-process
    MemoryStore."""
    global _default
    if _default is None:
        url = settings.load().redis_url
        _default = RedisStore(url) if url else MemoryStore()
    return _default


def durable_store_from_env() -> KeyValueStore:
    """The store for state that must survive a restart (attempt limits, locks, codes):
    Redis at REDIS_URL (the same store as `store_from_env`), else `SQLStore` on the
    bot's database (`settings.load().database_url`)."""
    global _durable
    if _durable is None:
        if settings.load().redis_url:
            _durable = store_from_env()
        else:
            from bot.db import engine_for

            _durable = SQLStore(engine_for(settings.load().database_url))
    return _durable
