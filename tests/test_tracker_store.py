"""The windowed tracker store: bounded loading, nothing lost, same state as a full load."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.runtime import tracker_store as tracker_store_config
from bot.tracker_store import WindowedSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, domain, tmp_path):
    if request.param == "sqlite":
        return WindowedSQLTrackerStore(domain, window_turns=4, dialect="sqlite", db=str(tmp_path / "t.db"))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("DATABASE_URL not set to PostgreSQL")
    config = tracker_store_config(url)
    config.pop("type")
    return WindowedSQLTrackerStore(domain, window_turns=4, **config)


def turn(n: int):
    events = [
        UserUttered(f"第{n}句", {"name": "ask_materials", "confidence": 1.0}),
        ActionExecuted("action_answer_matter"),
        BotUttered(f"回答{n}"),
    ]
    if n % 5 == 0:
        events.append(SlotSet("matter_code", f"SH-P-{n:03d}"))
    if n == 3:
        events.append(SlotSet("district", "浦东新区"))
    events.append(ActionExecuted("action_listen"))
    return events


async def test_long_conversation_loads_a_bounded_window(store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await store.get_or_create_tracker(sender)
    sizes = []
    for n in range(1, 41):
        for event in turn(n):
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
        sizes.append(len(tracker.events))
    assert max(sizes[20:]) <= max(sizes[5:10]) + 4  # bounded, not growing with turns
    assert tracker.get_slot("matter_code") == "SH-P-040"
    assert tracker.get_slot("district") == "浦东新区"  # set in turn 3, long outside the window
    full = await store.retrieve_full_tracker(sender)
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 40
    assert full.current_slot_values() == tracker.current_slot_values()


async def test_short_conversation_is_loaded_whole(store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await store.get_or_create_tracker(sender)
    for event in turn(1):
        tracker.update(event)
    await store.save(tracker)
    again = await store.retrieve(sender)
    assert [e.as_dict()["event"] for e in again.events] == [e.as_dict()["event"] for e in tracker.events]


async def test_saving_twice_stores_events_once(store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await store.get_or_create_tracker(sender)
    for n in range(1, 8):
        for event in turn(n):
            tracker.update(event)
        await store.save(tracker)
        await store.save(tracker)
    full = await store.retrieve_full_tracker(sender)
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 7


async def test_young_conversation_is_read_from_its_first_event(store):
    import sqlalchemy as sa

    from bot.tracker_store import _snapshots

    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await store.get_or_create_tracker(sender)
    for event in turn(1):
        tracker.update(event)
    await store.save(tracker)
    with store.engine.connect() as conn:
        start = conn.execute(
            sa.select(_snapshots.c.start_event_id).where(_snapshots.c.sender_id == sender)
        ).scalar()
    assert start == 0
    again = await store.retrieve(sender)
    assert len(again.events) == len(tracker.events)


async def test_form_and_pause_outlive_the_window(store):
    """A form started, or a handoff begun, many turns ago is still active after a reload."""
    from rasa.shared.core.events import ActiveLoop, ConversationPaused

    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(ActiveLoop("some_form"))
    for n in range(1, 12):
        for event in turn(n):
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
        assert tracker.active_loop_name == "some_form", n
    tracker.update(ConversationPaused())
    for n in range(12, 20):
        for event in turn(n):
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
        assert tracker.is_paused(), n
    assert len(tracker.events) < 40  # still a window, not the whole conversation
