"""Small shared key-value state with expiry: Redis when REDIS_URL is set, else in-process.

Several Rasa, action-server and web processes must agree on short-lived facts (a
message already handled, a failed-attempt counter, a cached access token). Redis holds
them in production; `make run` without Redis falls back to one process's memory, which
is right as long as only one process of each kind runs.

Keys are namespaced by the caller ("wechat:msg:…"); values are strings.
"""
from __future__ import annotations

import os
import time
from typing import Dict, Optional, Protocol, Tuple


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


_default: Optional[KeyValueStore] = None


def store_from_env() -> KeyValueStore:
    """The process's store: Redis at REDIS_URL, else one in-process MemoryStore."""
    global _default
    if _default is None:
        url = os.environ.get("REDIS_URL")
        _default = RedisStore(url) if url else MemoryStore()
    return _default
