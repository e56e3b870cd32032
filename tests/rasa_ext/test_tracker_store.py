"""The windowed tracker store: bounded loading, nothing lost, same state as a full load."""
from __future__ import annotations

import re

import uuid

import pytest
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

    from rasa_ext.tracker_store import _snapshots

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


# -- nothing personal at rest (issue 11) ---------------------------------------------

COMPLAINT_PHONE, CALLBACK, MESSAGE_CALLBACK = "13812345678", "13900001111", "13900002222"
ID_NUMBER, LAST6, CODE = "310101199001011234", "140515", "482913"


class StandInDesk:
    """The desk as the handoff actions see it (bot.handoff.client.DeskClient)."""

    def __init__(self) -> None:
        self.orders: dict = {}

    async def create_work_order(self, **order):
        number = f"GD-20261127-{len(self.orders) + 1:04d}"
        self.orders[number] = dict(order)
        return number

    async def set_callback(self, number, conversation_id, phone):
        self.orders[number]["callback_phone"] = phone
        return True

    async def cancel_work_order(self, number, conversation_id):
        return self.orders[number].get("kind") == "message"

    async def request_agent(self, **request):
        return {"status": "no_agent"}


class Conversation:
    """Turns as Rasa runs them: retrieve, the user's message, the actions, save."""

    def __init__(self, store, sender: str) -> None:
        self.store, self.sender = store, sender

    async def turn(self, text: str, intent: str, steps) -> None:
        from rasa.shared.core.events import ActionExecuted, UserUttered

        tracker = await self.store.get_or_create_tracker(self.sender)
        tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0},
                                   parse_data={"text": text, "intent": {"name": intent},
                                               "entities": []}, input_channel="rest"))
        for step in steps:
            await step(tracker)
        tracker.update(ActionExecuted("action_listen"))
        await self.store.save(tracker)


def _sdk_tracker(tracker):
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker

    return Tracker.from_dict(tracker.current_state(EventVerbosity.ALL))


def _apply(tracker, events, dispatcher=None) -> None:
    from rasa.shared.core.events import BotUttered, Event

    for event in events:
        tracker.update(Event.from_parameters(event))
    for message in (dispatcher.messages if dispatcher else []):
        tracker.update(BotUttered(message.get("text")))


def run_action(action):
    async def step(tracker):
        from rasa.shared.core.events import ActionExecuted
        from rasa_sdk.executor import CollectingDispatcher

        tracker.update(ActionExecuted(action.name()))
        dispatcher = CollectingDispatcher()
        _apply(tracker, await action.run(dispatcher, _sdk_tracker(tracker), {}), dispatcher)
    return step


def form_fills(slot: str, next_slot=None):
    """action_extract_slots sets the from_text slot to what was typed; the form validates
    it (validate_work_order_form) and asks the next slot or ends."""
    async def step(tracker):
        from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet
        from rasa_sdk.executor import CollectingDispatcher

        from actions.handoff import ValidateWorkOrderForm

        tracker.update(ActionExecuted("action_extract_slots"))
        tracker.update(SlotSet(slot, tracker.latest_message.text))
        tracker.update(ActionExecuted("work_order_form"))
        dispatcher = CollectingDispatcher()
        validate = getattr(ValidateWorkOrderForm(), f"validate_{slot}")
        values = await validate(tracker.get_slot(slot), dispatcher, _sdk_tracker(tracker), {})
        _apply(tracker, [SlotSet(k, v).as_dict() for k, v in values.items()], dispatcher)
        if next_slot:
            tracker.update(SlotSet("requested_slot", next_slot))
        else:
            tracker.update(ActiveLoop(None))
            tracker.update(SlotSet("requested_slot", None))
    return step


def form_asks(slot: str):
    async def step(tracker):
        from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet

        tracker.update(ActionExecuted("work_order_form"))
        tracker.update(ActiveLoop("work_order_form"))
        tracker.update(SlotSet("requested_slot", slot))
    return step


def bot_says(text: str, **slots):
    async def step(tracker):
        from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

        tracker.update(ActionExecuted("action_status"))
        for name, value in slots.items():
            tracker.update(SlotSet(name, value))
        tracker.update(BotUttered(text))
    return step


def _everything(engine) -> str:
    import sqlalchemy as sa

    dump = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            dump += [repr(tuple(row)) for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    return "\n".join(dump)


async def test_no_full_number_or_code_at_rest_after_a_scripted_flow(tracker_store, monkeypatch):
    import actions.handoff as handoff_actions
    from actions.handoff import ActionHandoff, ActionSubmitWorkOrder
    from bot.conversations import conversation_events, sealed_text

    desk = StandInDesk()
    monkeypatch.setattr(handoff_actions, "_desk", desk)
    talk = Conversation(tracker_store, f"s-{uuid.uuid4().hex[:8]}")
    complaint = f"我要投诉，窗口态度太差。我电话{COMPLAINT_PHONE}，身份证{ID_NUMBER}"
    await talk.turn(complaint, "complain", [run_action(ActionHandoff()), form_asks("callback_phone")])
    await talk.turn(CALLBACK, "inform", [form_fills("callback_phone"),
                                         run_action(ActionSubmitWorkOrder())])
    await talk.turn("转人工", "request_human", [run_action(ActionHandoff()),
                                              form_asks("work_order_message")])
    message = f"身份证{ID_NUMBER}办居住证，验证码{CODE}一直收不到"
    await talk.turn(message, "inform", [form_fills("work_order_message", "callback_phone")])
    await talk.turn(f"电话 {MESSAGE_CALLBACK}", "inform", [form_fills("callback_phone"),
                                                           run_action(ActionSubmitWorkOrder())])
    await talk.turn("查一下我的办件SH20261105000123", "check_application_status", [bot_says(
        "请输入申请人身份证号码后6位", status_flow={"step": "last6", "number": "SH20261105000123"})])
    await talk.turn(LAST6, "inform", [bot_says("验证码已发送至138****0004", status_flow={
        "step": "code", "number": "SH20261105000123", "phone": "138****0004"})])
    await talk.turn(f"验证码 {CODE}", "inform", [bot_says("核验通过", status_flow=None)])

    # The desk got the full texts and numbers, in the turn that had them.
    first, second = desk.orders.values()
    assert first["message"] == complaint and first["callback_phone"] == CALLBACK
    assert second["message"] == message and second["callback_phone"] == MESSAGE_CALLBACK
    # Nothing of them is in any table of the tracker database.
    stored = _everything(tracker_store.engine)
    for secret in (COMPLAINT_PHONE, CALLBACK, MESSAGE_CALLBACK, ID_NUMBER, LAST6, CODE,
                   CALLBACK[-8:], ID_NUMBER[6:14]):
        # As a number of its own: a timestamp's digits may hold any six.
        assert not re.search(rf"(?<![\d.]){secret}(?!\d)", stored), secret
    assert "SH20261105000123" in stored  # application numbers are not personal
    # The audited reveal still gives the phone and ID back, never a code or last six.
    users = [e for e in conversation_events(tracker_store.engine, talk.sender) if e["event"] == "user"]
    revealed = [sealed_text(tracker_store.engine, talk.sender, e["timestamp"]) for e in users]
    assert revealed[0] == complaint and revealed[1] == CALLBACK
    assert revealed[3] == f"身份证{ID_NUMBER}办居住证，验证码******一直收不到"
    assert revealed[6] is None and revealed[7] is None  # "140515", "验证码 482913": nothing to show


def test_the_window_prefix_keeps_typed_slots_masked(domain):
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_ext.tracker_store import state_prefix

    tracker = DialogueStateTracker.from_events("p", [
        SlotSet("callback_phone", CALLBACK), SlotSet("work_order_message", f"身份证{ID_NUMBER}"),
        SlotSet("district", "浦东新区")], domain.slots)
    prefix = {e["name"]: e["value"] for e in state_prefix(tracker)}
    assert prefix == {"callback_phone": "139****1111", "work_order_message": "身份证310101********1234",
                      "district": "浦东新区"}


async def test_texts_kept_in_clear_by_an_earlier_version_are_sealed_at_start(tracker_store, domain):
    import sqlalchemy as sa

    from bot.conversations import sealed_text
    from rasa_ext.tracker_store import WindowedSQLTrackerStore, _sealed

    with tracker_store.engine.begin() as conn:
        conn.execute(_sealed.insert().values(sender_id="old", timestamp=1.0,
                                             text=f"我电话{CALLBACK}，验证码{CODE}"))
    assert sealed_text(tracker_store.engine, "old", 1.0) == f"我电话{CALLBACK}，验证码******"
    WindowedSQLTrackerStore(domain, window_turns=4, **_same_database(tracker_store))
    with tracker_store.engine.connect() as conn:
        stored = conn.execute(sa.select(_sealed.c.text).where(_sealed.c.sender_id == "old")).scalar()
    assert CALLBACK not in stored and CODE not in stored
    assert sealed_text(tracker_store.engine, "old", 1.0) == f"我电话{CALLBACK}，验证码******"


def _same_database(store) -> dict:
    """The arguments the `tracker_store` fixture (tests/conftest.py) built `store` with."""
    import os

    from rasa_ext.endpoints import tracker_store as tracker_store_config

    if store.engine.url.get_backend_name() == "sqlite":
        return {"dialect": "sqlite", "db": store.engine.url.database}
    config = tracker_store_config(os.environ["DATABASE_URL"])
    config.pop("type")
    return {**config, "query": dict(store.engine.url.query)}  # the fixture's own schema


def test_seal_key_is_required_in_production(monkeypatch):
    from bot import settings
    from bot.privacy import DEV_SEAL_KEY, sealer

    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("SEAL_KEY", raising=False)
    with pytest.raises(settings.InsecureConfiguration, match="SEAL_KEY"):
        sealer()
    monkeypatch.setenv("SEAL_KEY", DEV_SEAL_KEY)
    with pytest.raises(settings.InsecureConfiguration, match="SEAL_KEY"):
        sealer()
    monkeypatch.setenv("SEAL_KEY", "not a fernet key but long enough")
    with pytest.raises(settings.InsecureConfiguration, match="Fernet"):
        sealer()


async def test_scrub_masks_typed_slots_an_earlier_version_stored(tracker_store):
    import json

    import sqlalchemy as sa

    from rasa_ext.tracker_store import _snapshots, scrub_at_rest

    events = tracker_store.SQLEvent.__table__
    slot = {"event": "slot", "name": "callback_phone", "value": CALLBACK, "timestamp": 1.0}
    other = {"event": "slot", "name": "district", "value": "浦东新区", "timestamp": 1.0}
    with tracker_store.engine.begin() as conn:
        for data in (slot, other):
            conn.execute(events.insert().values(sender_id="old", type_name="slot", timestamp=1.0,
                                                data=json.dumps(data, ensure_ascii=False)))
        conn.execute(_snapshots.insert().values(sender_id="old", start_event_id=1, prefix=json.dumps(
            [{**slot, "name": "work_order_message", "value": f"身份证{ID_NUMBER}"}], ensure_ascii=False)))
    assert scrub_at_rest(tracker_store.engine) == 2
    stored = _everything(tracker_store.engine)
    assert CALLBACK not in stored and ID_NUMBER not in stored and "浦东新区" in stored
    assert "139****1111" in stored and "310101********1234" in stored
    assert scrub_at_rest(tracker_store.engine) == 0
    with tracker_store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 2
