"""The windowed tracker store: bounded loading, nothing lost, same state as a full load."""
from __future__ import annotations

import uuid

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered


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


async def test_long_conversation_loads_a_bounded_window(tracker_store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    sizes = []
    for n in range(1, 41):
        for event in turn(n):
            tracker.update(event)
        await tracker_store.save(tracker)
        tracker = await tracker_store.retrieve(sender)
        sizes.append(len(tracker.events))
    assert max(sizes[20:]) <= max(sizes[5:10]) + 4  # bounded, not growing with turns
    assert tracker.get_slot("matter_code") == "SH-P-040"
    assert tracker.get_slot("district") == "浦东新区"  # set in turn 3, long outside the window
    full = await tracker_store.retrieve_full_tracker(sender)
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 40
    assert full.current_slot_values() == tracker.current_slot_values()


async def test_short_conversation_is_loaded_whole(tracker_store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    for event in turn(1):
        tracker.update(event)
    await tracker_store.save(tracker)
    again = await tracker_store.retrieve(sender)
    assert [e.as_dict()["event"] for e in again.events] == [e.as_dict()["event"] for e in tracker.events]


async def test_saving_twice_stores_events_once(tracker_store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    for n in range(1, 8):
        for event in turn(n):
            tracker.update(event)
        await tracker_store.save(tracker)
        await tracker_store.save(tracker)
    full = await tracker_store.retrieve_full_tracker(sender)
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 7


async def test_young_conversation_is_read_from_its_first_event(tracker_store):
    import sqlalchemy as sa

    from bot.tracker_store import _snapshots

    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    for event in turn(1):
        tracker.update(event)
    await tracker_store.save(tracker)
    with tracker_store.engine.connect() as conn:
        start = conn.execute(
            sa.select(_snapshots.c.start_event_id).where(_snapshots.c.sender_id == sender)
        ).scalar()
    assert start == 0
    again = await tracker_store.retrieve(sender)
    assert len(again.events) == len(tracker.events)


async def test_form_and_pause_outlive_the_window(tracker_store):
    """A form started, or a handoff begun, many turns ago is still active after a reload."""
    from rasa.shared.core.events import ActiveLoop, ConversationPaused

    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    tracker.update(ActiveLoop("some_form"))
    for n in range(1, 12):
        for event in turn(n):
            tracker.update(event)
        await tracker_store.save(tracker)
        tracker = await tracker_store.retrieve(sender)
        assert tracker.active_loop_name == "some_form", n
    tracker.update(ConversationPaused())
    for n in range(12, 20):
        for event in turn(n):
            tracker.update(event)
        await tracker_store.save(tracker)
        tracker = await tracker_store.retrieve(sender)
        assert tracker.is_paused(), n
    assert len(tracker.events) < 40  # still a window, not the whole conversation
