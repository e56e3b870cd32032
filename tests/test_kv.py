"""The shared key-value store behaves the same in memory and in Redis."""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from bot.kv import MemoryStore, RedisStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _stores():
    yield "memory"
    if os.environ.get("REDIS_URL"):
        yield "redis"


@pytest.fixture(params=list(_stores()))
async def store(request):
    if request.param == "memory":
        yield MemoryStore()
    else:
        redis_store = RedisStore(os.environ["REDIS_URL"])
        yield redis_store
        await redis_store.close()


@pytest.fixture
def key():
    return f"test:kv:{uuid.uuid4().hex}"


async def test_set_only_if_new_is_first_writer_wins(store, key):
    assert await store.set(key, "a", ttl=5, only_if_new=True)
    assert not await store.set(key, "b", ttl=5, only_if_new=True)
    assert await store.get(key) == "a"
    await store.delete(key)
    assert await store.get(key) is None


async def test_incr_counts_and_expires_from_first_increment(store, key):
    assert [await store.incr(key, ttl=60) for _ in range(3)] == [1, 2, 3]
    remaining = await store.ttl(key)
    assert remaining is not None and 50 < remaining <= 60
    await store.delete(key)


async def test_expiry_in_redis_is_real(store, key):
    if isinstance(store, MemoryStore):
        pytest.skip("memory expiry is tested with a clock")
    await store.set(key, "x", ttl=0.2)
    await asyncio.sleep(0.35)
    assert await store.get(key) is None


async def test_memory_expiry_with_clock():
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.set("k", "v", ttl=10)
    assert await store.incr("n", ttl=10) == 1
    clock.now += 9.9
    assert await store.get("k") == "v"
    clock.now += 0.2
    assert await store.get("k") is None
    assert await store.incr("n", ttl=10) == 1
    assert await store.set("k", "w", only_if_new=True)
