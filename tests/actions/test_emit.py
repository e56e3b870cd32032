"""actions/emit.py: one turn of the domain as dispatcher messages and Rasa events."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emit import emit, slot_changes, utter
from bot.dialogue.turn import Turn, button


def tracker(slots):
    return Tracker("c-1", slots, {}, [], False, None, None, "action_listen")


def test_emit_says_sets_what_changes_and_waits_for_the_citizen():
    dispatcher = CollectingDispatcher()
    turn = Turn(slots={"matter_code": "M1", "pending_topic": None}).say("好", [button("是", "/affirm")])
    events = emit(turn.respond("utter_ok").show({"rotate": 1}), dispatcher,
                  tracker({"matter_code": None, "pending_topic": None}))
    assert [(m["text"], m["buttons"], m["response"], m["custom"]) for m in dispatcher.messages] == [
        ("好", [{"title": "是", "payload": "/affirm"}], None, {}),
        (None, [], "utter_ok", {}),
        (None, [], None, {"rotate": 1}),
    ]
    assert events == [
        {"event": "slot", "name": "matter_code", "value": "M1", "timestamp": None},
        {"event": "followup", "name": "action_listen", "timestamp": None},
    ]


def test_a_marked_text_carries_its_kind_into_the_bot_events_metadata():
    from rasa.core.actions.action import create_bot_utterance

    dispatcher = CollectingDispatcher()
    utter(dispatcher, Turn().say("没明白", kind="not_understood").say("好"))
    marked, plain = dispatcher.messages
    assert marked["kind"] == "not_understood" and "kind" not in plain
    # What Rasa does with the message (RemoteAction._utter_responses): empty keys dropped,
    # the ones it does not know kept as the event's metadata.
    event = create_bot_utterance({k: v for k, v in marked.items() if v})
    assert event.text == "没明白" and event.metadata == {"kind": "not_understood"}


def test_a_turn_that_hands_over_follows_with_the_handoff():
    events = emit(Turn().say("转人工").hand_over(), CollectingDispatcher(), tracker({}))
    assert events == [{"event": "followup", "name": "action_handoff", "timestamp": None}]


def test_form_actions_say_and_set_without_ending_the_turn():
    dispatcher = CollectingDispatcher()
    utter(dispatcher, Turn().say("第1题"))
    assert dispatcher.messages[0]["text"] == "第1题"
    assert slot_changes(tracker({"a": 1}), {"a": 1, "b": 2}) == [
        {"event": "slot", "name": "b", "value": 2, "timestamp": None}]


def test_a_handoff_pauses_for_the_person_or_goes_on_to_leaving_a_message():
    from bot.dialogue.turn import FollowUp

    paused = emit(Turn().say("请稍候").hand_over(FollowUp.PAUSE), CollectingDispatcher(), tracker({}))
    assert paused == [{"event": "pause", "timestamp": None}]
    message = emit(Turn().hand_over(FollowUp.LEAVE_MESSAGE), CollectingDispatcher(), tracker({}))
    assert message == [{"event": "followup", "name": "work_order_form", "timestamp": None}]
