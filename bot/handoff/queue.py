"""The waiting queue and the agents' presence, shared by every desk process.

Redis (REDIS_URL) holds both as sorted sets: the queue scored by the time a citizen
joined, presence scored by each agent's last heartbeat, so any desk process sees the same
order and the same online agents. Without Redis, `MemoryQueue` serves one desk process
(`make run`). Neither is the record of truth: the desk re-adds every handoff SQL says is
still waiting when it starts (`records.Records.handoffs_in("waiting")`), so a restart
loses nobody. bot/kv.py has no sorted sets, hence this small second Redis user.
"""
from __future__ import annotations

import hashlib
import time
from typing import Callable, Dict, List, Optional, Protocol, Tuple

from bot import settings


class HandoffQueue(Protocol):
    async def add(self, handoff_id: int, joined_at: float) -> None: ...

    async def remove(self, handoff_id: int) -> None: ...

    async def waiting(self) -> List[Tuple[int, float]]:
        """(handoff id, joined at), first come first."""

    async def position(self, handoff_id: int) -> Optional[int]:
        """1 for the first in line; None when not waiting."""

    async def heartbeat(self, agent: str) -> None: ...

    async def offline(self, agent: str) -> None: ...

    async def online(self) -> List[str]: ...


class MemoryQueue:
    """One process's queue and presence (the fallback without Redis)."""

    def __init__(self, presence_ttl: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.presence_ttl = presence_ttl
        self._clock = clock
        self._queue: Dict[int, float] = {}
        self._seen: Dict[str, float] = {}

    async def add(self, handoff_id: int, joined_at: float) -> None:
        self._queue[handoff_id] = joined_at

    async def remove(self, handoff_id: int) -> None:
        self._queue.pop(handoff_id, None)

    async def waiting(self) -> List[Tuple[int, float]]:
        return sorted(self._queue.items(), key=lambda item: (item[1], item[0]))

    async def position(self, handoff_id: int) -> Optional[int]:
        order = [h for h, _ in await self.waiting()]
        return order.index(handoff_id) + 1 if handoff_id in order else None

    async def heartbeat(self, agent: str) -> None:
        self._seen[agent] = self._clock()

    async def offline(self, agent: str) -> None:
        self._seen.pop(agent, None)

    async def online(self) -> List[str]:
        cutoff = self._clock() - self.presence_ttl
        return sorted(a for a, seen in self._seen.items() if seen > cutoff)


class RedisQueue:
    """The shared queue: sorted sets `<prefix>:queue` and `<prefix>:presence`."""

    def __init__(self, url: str, prefix: str = "govbot:handoff", presence_ttl: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, decode_responses=True)
        self._queue_key = f"{prefix}:queue"
        self._presence_key = f"{prefix}:presence"
        self.presence_ttl = presence_ttl
        self._clock = clock

    async def add(self, handoff_id: int, joined_at: float) -> None:
        await self._redis.zadd(self._queue_key, {str(handoff_id): joined_at})

    async def remove(self, handoff_id: int) -> None:
        await self._redis.zrem(self._queue_key, str(handoff_id))

    async def waiting(self) -> List[Tuple[int, float]]:
        items = await self._redis.zrange(self._queue_key, 0, -1, withscores=True)
        return [(int(member), score) for member, score in items]

    async def position(self, handoff_id: int) -> Optional[int]:
        rank = await self._redis.zrank(self._queue_key, str(handoff_id))
        return None if rank is None else rank + 1

    async def heartbeat(self, agent: str) -> None:
        await self._redis.zadd(self._presence_key, {agent: self._clock()})

    async def offline(self, agent: str) -> None:
        await self._redis.zrem(self._presence_key, agent)

    async def online(self) -> List[str]:
        cutoff = self._clock() - self.presence_ttl
        await self._redis.zremrangebyscore(self._presence_key, "-inf", cutoff)
        return sorted(await self._redis.zrange(self._presence_key, 0, -1))

    async def close(self) -> None:
        await self._redis.close()


def queue_from_env(database_url: str, presence_ttl: float = 30.0) -> HandoffQueue:
    """Redis at REDIS_URL (bot/settings.py), else memory. The queue indexes one
    database's handoffs, so its keys carry a digest of that database's URL: desks of
    other deployments (or test stacks) on the same Redis never see each other's
    handoff ids."""
    url = settings.load().redis_url
    if not url:
        return MemoryQueue(presence_ttl)
    digest = hashlib.sha1(database_url.encode()).hexdigest()[:10]
    return RedisQueue(url, prefix=f"govbot:handoff:{digest}", presence_ttl=presence_ttl)
