"""Turns run after the webhook has answered, bounded and never lost silently.

WeChat gives a webhook 5 s and then sends the message again; a turn (NLU, actions, the
send API) can take longer under load. So the connectors answer at once and run the turn
here: at most `max_running` turns at a time per connector (a burst cannot exhaust the
action server or the platform's API), at most `max_waiting` more queued behind them.
Turns of one user run one after another, in the order their messages came (a quick
second message must not overtake the first, nor clear the options the first offered).
When even the queue is full, `submit` says no and the connector answers 503, so the
platform retries later instead of the message vanishing. A turn that fails is logged
(masked: the citizen's text may hold ID or phone numbers) and the citizen is told.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Awaitable, Callable, Dict, Optional, Set

from bot.kv import KeyValueStore
from bot.privacy import mask_text

logger = logging.getLogger(__name__)


class TurnRunner:
    def __init__(self, name: str, max_running: int = 8, max_waiting: int = 1000) -> None:
        self.name = name
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._semaphore: Optional[asyncio.Semaphore] = None
        self._tasks: Set[asyncio.Task] = set()
        self._user_locks: Dict[str, asyncio.Lock] = {}
        self._user_pending: Dict[str, int] = {}

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(
        self, turn: Callable[[], Awaitable[None]], describe: str,
        on_error: Optional[Callable[[], Awaitable[None]]] = None, user: str = "",
    ) -> bool:
        """Schedules the turn; False when the queue is full (nothing was scheduled)."""
        if len(self._tasks) >= self.max_running + self.max_waiting:
            logger.warning("%s: %d turns pending, refusing %s", self.name, self.pending,
                           mask_text(describe))
            return False
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_running)
        user = user or f"anonymous:{id(turn)}"  # no user: ordered with nothing else
        lock = self._user_locks.setdefault(user, asyncio.Lock())
        self._user_pending[user] = self._user_pending.get(user, 0) + 1
        task = asyncio.get_running_loop().create_task(
            self._run(turn, describe, on_error, user, lock))
        self._tasks.add(task)  # a strong reference, so the task is not collected mid-turn
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, turn, describe: str, on_error, user: str, lock: asyncio.Lock) -> None:
        try:
            async with lock:  # asyncio locks are fair: turns start in submission order
                await self._run_bounded(turn, describe, on_error)
        finally:
            self._user_pending[user] -= 1
            if not self._user_pending[user]:
                del self._user_pending[user], self._user_locks[user]

    async def _run_bounded(self, turn, describe: str, on_error) -> None:
        assert self._semaphore is not None
        async with self._semaphore:
            try:
                await turn()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one failing turn must not stop the others
                # the traceback holds the citizen's text too: masked as a whole
                logger.error("%s: turn failed: %s\n%s", self.name, mask_text(describe),
                             mask_text(traceback.format_exc()))
                if on_error is not None:
                    try:
                        await on_error()
                    except Exception:  # noqa: BLE001
                        logger.exception("%s: could not tell the user", self.name)

    async def drain(self, timeout: float = 30.0) -> None:
        """Waits for the pending turns (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


async def first_delivery(store: KeyValueStore, key: str, ttl: float) -> bool:
    """True the first time a message key is seen (WeChat and Alipay retry deliveries).

    If the shared store is down the message is handled: answering twice is better than
    never answering.
    """
    try:
        return await store.set(key, "1", ttl=ttl, only_if_new=True)
    except Exception:  # noqa: BLE001 - Redis down must not drop citizens' messages
        logger.exception("de-duplication store unavailable; handling %s anyway", key)
        return True


async def nonce_unused(store: KeyValueStore, key: str, fingerprint: str, ttl: float) -> bool:
    """False when the request's nonce was already used by a different message.

    WeChat's plain-mode signature covers token, timestamp and nonce but not the body, so
    a captured query would carry any body while its timestamp is fresh. The first message
    with a nonce is recorded (its fingerprint, for `ttl`); the same message again is a
    retry and passes on to the MsgId de-duplication. As with first_delivery, a store that
    is down lets the request through (logged): the signature and timestamp checks hold.
    """
    try:
        if await store.set(key, fingerprint, ttl=ttl, only_if_new=True):
            return True
        seen = await store.get(key)
    except Exception:  # noqa: BLE001 - Redis down must not drop citizens' messages
        logger.exception("replay store unavailable; accepting %s unchecked", key)
        return True
    return seen is None or seen == fingerprint  # None: it expired in between


async def forget_delivery(store: KeyValueStore, key: str) -> None:
    """Lets a retry through again (the message could not be queued)."""
    try:
        await store.delete(key)
    except Exception:  # noqa: BLE001
        logger.exception("could not release %s", key)
