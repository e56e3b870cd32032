"""The web app's background capture of failed turns (web/desk/app.py): it waits for Rasa's
events table without failing, then captures what Rasa stores."""
from __future__ import annotations

import asyncio
import contextlib

from bot.handoff.config import HandoffConfig
from bot.review.store import ReviewStore
from tests.bot.review.events import action, answered, events_db, insert, stored
from web.desk.app import _capture_forever


def config(database_url: str, tracker_url: str) -> HandoffConfig:
    return HandoffConfig(
        desk_url="http://unused", rasa_url="http://unused", service_token="t", rasa_token="t",
        accept_timeout=180.0, minutes_per_citizen=3.0, presence_ttl=30.0,
        database_url=database_url, tracker_database_url=tracker_url, review_capture_seconds=0.05)


async def wait_for(condition, rounds: int = 400) -> bool:
    for _ in range(rounds):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_capture_waits_for_the_events_table_then_captures(tmp_path, database_url):
    tracker_path = tmp_path / "tracker.db"
    tracker_url = f"sqlite:///{tracker_path}"
    stop = asyncio.Event()
    task = asyncio.create_task(_capture_forever(config(database_url, tracker_url), 0.05, stop))
    try:
        store = ReviewStore.open(database_url)
        assert await wait_for(lambda: store.cursor() == 0 and not task.done())
        await asyncio.sleep(0.3)  # several rounds without an events table
        assert not task.done()
        events_db(tracker_path)
        insert(tracker_url, stored({"a": answered("呜啦啦", "nlu_fallback",
                                                  action("action_fallback"))}))
        assert await wait_for(lambda: store.misses())
        assert [m["kind"] for m in store.misses()] == ["fallback"]
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
