"""The supervisors' measures come from the event stream (bot/stats) when RABBITMQ_URL is
set, and from the capture's scan of the tracker without it; the page's JSON keeps its
shape either way."""
from __future__ import annotations

import time

import pytest

from bot.handoff.records import local_day
from bot.review.store import COUNTERS, ReviewStore
from bot.stats.store import StatsStore
from tests.bot.review.events import action, answered, slot
from tests.web.desk.test_desk import (  # noqa: F401 - fixtures used by name
    desk_client, dev_accounts, login, make_config, rasa, shared, tracker_url,
)

TURN = answered("居住证要什么材料", "ask_materials", action("action_answer_matter"),
                slot("matter_code", "SH-P-009"))
MISS = answered("呜啦啦噜噜", "nlu_fallback", action("action_fallback"), confidence=0.4)


def seed(database_url):
    """The scan counted 99 turns, the stream 3 (one a fallback)."""
    now = time.time()
    ReviewStore.open(database_url).advance(0, 1, [], {
        (local_day(now), "model-a", ""): {**{name: 0 for name in COUNTERS}, "turns": 99}})
    events = [{"sender_id": "rest:a", **e, "timestamp": now + i * 0.001}
              for i, e in enumerate(TURN + MISS + TURN)]
    StatsStore.open(database_url).apply(events)


@pytest.mark.parametrize("stream, turns", [(True, 3), (False, 99)])
async def test_the_measures_come_from_the_stream_when_there_is_one(
        monkeypatch, database_url, tracker_url, rasa, shared, stream, turns):
    if stream:
        monkeypatch.setenv("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    else:
        monkeypatch.delenv("RABBITMQ_URL", raising=False)
    seed(database_url)
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        headers = await login(client, "supervisor1", "supervisor1-pass")
        response = await client.get("/desk/api/review/measures?days=7", headers=headers)
        assert response.status == 200
        data = await response.json()
    finally:
        await client.close()
    assert set(data) == {"days", "matters", "models"}
    assert data["days"][-1]["turns"] == turns
    assert set(data["days"][-1]) >= {"day", "fallbacks", "fallback_rate", "satisfaction"}
    if stream:
        assert data["days"][-1]["fallbacks"] == 1 and data["days"][-1]["handoffs"] == 0
        matter = data["matters"][0]
        assert (matter["matter_code"], matter["turns"]) == ("SH-P-009", 3)
        assert matter["name"]  # the catalog's name, as the page shows it
