"""The shared key-value store behaves the same in memory and in Redis."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.kv import MemoryStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
