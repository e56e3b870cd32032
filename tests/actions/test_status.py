"""actions/status.py: the Rasa adapter — slots it sets, messages, hand-overs."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.status as status_action
from bot.status.render import TEXTS
from tests.fixtures.status import backend, make_dialogue  # noqa: F401 (fixtures)

DOMAIN = {"responses": {"utter_ok": [{"text": "好的。还有什么可以帮您？"}]}}


def tracker(text, intent, slots=None, events=None, entities=None):
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
               "entities": entities or []}
    return Tracker("web-1", {"status_flow": None, "status_active": False,
                             "verified_person_id": None, "pending_topic": None,
                             **(slots or {})},
                   message, (events or []) + [{"event": "user", "text": text,
                                               "input_channel": "socketio"}],
                   False, None, None, "action_listen")


def test_bot_asked_last():
    events = [{"event": "action", "name": "action_status"}, {"event": "bot", "text": "…"},
              {"event": "slot", "name": "status_active", "value": True},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "好"}]
    assert status_action.bot_asked_last(events, "action_status")
    events.insert(3, {"event": "action", "name": "action_answer_matter"})
    assert not status_action.bot_asked_last(events, "action_status")
    assert not status_action.bot_asked_last([{"event": "user"}], "action_status")


async def test_action_sets_slots_says_and_ends_its_turn(make_dialogue, backend, monkeypatch):
    monkeypatch.setattr(status_action, "_dialogue", make_dialogue())
    dispatcher = CollectingDispatcher()
    events = await status_action.ActionStatus().run(
        dispatcher, tracker("查一下我的办件SH20261105000123", "check_application_status",
                            entities=[{"entity": "application_number",
                                       "value": "SH20261105000123"}]), DOMAIN)
    assert dispatcher.messages[0]["text"] == TEXTS["ask_last6"]
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"status_flow": {"step": "ask_last6", "number": "SH20261105000123"},
                     "status_active": True}
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


async def test_other_replies_are_handed_to_their_actions(make_dialogue, backend, monkeypatch):
    monkeypatch.setattr(status_action, "_dialogue", make_dialogue())
    dispatcher = CollectingDispatcher()
    events = await status_action.ActionStatus().run(
        dispatcher, tracker("是的", "affirm"), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_ok"
    assert events[-1]["event"] == "followup"


async def test_a_matter_named_meanwhile_is_answered_by_the_matter_dialogue(make_dialogue, backend,
                                                                          monkeypatch):
    monkeypatch.setattr(status_action, "_dialogue", make_dialogue())
    dispatcher = CollectingDispatcher()
    waiting = {"status_flow": {"step": "ask_number"}, "status_active": True,
               "pending_topic": "fee"}
    events = await status_action.ActionStatus().run(
        dispatcher, tracker("护照", "inform", waiting), DOMAIN)
    assert "「普通护照申请」" in dispatcher.messages[0]["text"]
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["matter_code"] and "status_flow" not in slots  # the check still waits
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


async def test_not_understood_twice_while_waiting_goes_to_a_person(make_dialogue, backend,
                                                                   monkeypatch):
    monkeypatch.setattr(status_action, "_dialogue", make_dialogue())
    before = [{"event": "user", "text": "呜呜呜", "parse_data": {"intent": {"name": "nlu_fallback"}}},
              {"event": "bot", "text": "…", "metadata": {"kind": "not_understood"}}]
    waiting = {"status_flow": {"step": "ask_consent"}, "status_active": True}
    dispatcher = CollectingDispatcher()
    latest = tracker("啦啦啦", "nlu_fallback", waiting, before)
    latest.events[-1]["parse_data"] = {"intent": {"name": "nlu_fallback"}}
    events = await status_action.ActionStatus().run(dispatcher, latest, DOMAIN)
    assert [(m["text"][:9], m["kind"]) for m in dispatcher.messages] == [
        ("不好意思，我还是没", "not_understood_twice")]
    assert events[-1] == {"event": "followup", "name": "action_handoff", "timestamp": None}
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"status_flow": None, "status_active": False}  # moved on: no consent
