"""The shared key-value store behaves the same in memory, in SQL and in Redis; the SQL
store (the durable fallback without Redis) keeps its keys across store instances."""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from bot import kv
from bot.db import engine_for
from bot.kv import MemoryStore, RedisStore, SQLStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _kinds():
    yield "memory"
    yield "sql"
    if os.environ.get("REDIS_URL"):
        yield "redis"


@pytest.fixture(params=list(_kinds()))
async def kv_store(request, tmp_path):
    """Every store kind (overrides tests/conftest.py's to add the SQL store)."""
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sql":
        yield SQLStore(engine_for(f"sqlite:///{tmp_path / 'kv.db'}"))
    else:
        store = RedisStore(os.environ["REDIS_URL"])
        yield store
        await store.close()


@pytest.fixture
def key():
    return f"test:kv:{uuid.uuid4().hex}"


async def test_set_only_if_new_is_first_writer_wins(kv_store, key):
    assert await kv_store.set(key, "a", ttl=5, only_if_new=True)
    assert not await kv_store.set(key, "b", ttl=5, only_if_new=True)
    assert await kv_store.get(key) == "a"
    await kv_store.delete(key)
    assert await kv_store.get(key) is None


async def test_incr_counts_and_expires_from_first_increment(kv_store, key):
    assert [await kv_store.incr(key, ttl=60) for _ in range(3)] == [1, 2, 3]
    remaining = await kv_store.ttl(key)
    assert remaining is not None and 50 < remaining <= 60
    await kv_store.delete(key)


async def test_expiry_in_redis_is_real(kv_store, key):
    if isinstance(kv_store, MemoryStore):
        pytest.skip("memory expiry is tested with a clock")
    await kv_store.set(key, "x", ttl=0.2)
    await asyncio.sleep(0.35)
    assert await kv_store.get(key) is None


async def test_memory_expiry_with_clock():
    clock = FakeClock()
    kv_store = MemoryStore(clock=clock)
    await kv_store.set("k", "v", ttl=10)
    assert await kv_store.incr("n", ttl=10) == 1
    clock.now += 9.9
    assert await kv_store.get("k") == "v"
    clock.now += 0.2
    assert await kv_store.get("k") is None
    assert await kv_store.incr("n", ttl=10) == 1
    assert await kv_store.set("k", "w", only_if_new=True)


async def test_sql_expiry_with_clock(tmp_path):
    clock = FakeClock()
    store = SQLStore(engine_for(f"sqlite:///{tmp_path / 'kv.db'}"), clock=clock)
    await store.set("k", "v", ttl=10)
    await store.set("forever", "v")
    assert await store.incr("n", ttl=10) == 1
    clock.now += 9.9
    assert await store.get("k") == "v" and abs(await store.ttl("k") - 0.1) < 1e-6
    clock.now += 0.2
    assert await store.get("k") is None and await store.ttl("k") is None
    assert await store.incr("n", ttl=10) == 1  # expired: counting starts again
    assert await store.set("k", "w", only_if_new=True)
    assert await store.get("forever") == "v" and await store.ttl("forever") is None


async def test_sql_counters_survive_a_new_store_on_the_same_database(database_url):
    """A restart (a new process, a new store instance) keeps attempt counters and codes."""
    first = SQLStore(engine_for(database_url))
    assert [await first.incr("fail:number:SH1", ttl=900) for _ in range(3)] == [1, 2, 3]
    await first.set("challenge:u", "digest", ttl=300)
    again = SQLStore(engine_for(database_url))
    assert await again.get("fail:number:SH1") == "3"
    assert await again.incr("fail:number:SH1", ttl=900) == 4
    assert 890 < await again.ttl("fail:number:SH1") <= 900  # expiry from the first increment
    assert await again.get("challenge:u") == "digest"
    assert not await again.set("challenge:u", "other", ttl=300, only_if_new=True)


async def test_sql_concurrent_increments_in_one_process_count_each_once(database_url):
    store = SQLStore(engine_for(database_url))
    values = await asyncio.gather(*(store.incr("busy", ttl=60) for _ in range(40)))
    assert sorted(values) == list(range(1, 41))
    firsts = await asyncio.gather(*(store.set("once", str(i), ttl=60, only_if_new=True)
                                    for i in range(10)))
    assert firsts.count(True) == 1


async def test_durable_store_is_redis_with_redis_url_else_sql_on_the_bot_database(
        monkeypatch, tmp_path):
    monkeypatch.setattr(kv, "_durable", None)
    monkeypatch.setattr(kv, "_default", None)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("BOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    store = kv.durable_store_from_env()
    assert isinstance(store, SQLStore) and kv.durable_store_from_env() is store
    assert str(store.engine.url) == f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setattr(kv, "_durable", None)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # made lazily: no connection
    assert isinstance(kv.durable_store_from_env(), RedisStore)
