"""bot/dialogue/turn.py: the one result of a turn, and the message as NLU read it."""
from __future__ import annotations

from bot.dialogue.cues import HUMAN_BUTTON, STOP_INTAKE, STOP_STATUS, holds
from bot.dialogue.turn import FollowUp, Message, Said, Turn, button


def test_a_turn_says_texts_with_buttons_responses_and_payloads_in_order():
    turn = (Turn().say("您好", [button("护照")]).say("还有吗").respond("utter_ok")
            .show({"rotate": True}))
    assert turn.messages == [
        Message(text="您好", buttons=[{"title": "护照", "payload": "护照"}]),
        Message(text="还有吗"),
        Message(response="utter_ok"),
        Message(custom={"rotate": True}),
    ]
    assert turn.texts == ["您好", "还有吗"] and turn.follow_up is None


def test_a_text_may_be_marked_for_later_turns_to_recognise():
    turn = Turn().say("没明白", kind="not_understood").say("好")
    assert [m.kind for m in turn.messages] == ["not_understood", None]
    assert turn.texts == ["没明白", "好"]


def test_buttons_go_under_the_last_message():
    turn = Turn().say("一").say("二").with_buttons([button("好", "/affirm")])
    assert turn.messages[0].buttons == []
    assert turn.messages[1].buttons == [{"title": "好", "payload": "/affirm"}]


def test_one_turn_then_another_keeps_both_and_the_later_slots_and_follow_up():
    first = Turn(slots={"a": 1, "b": 1}).say("一")
    second = Turn(slots={"b": 2}).say("二").hand_over()
    joined = first.then(second)
    assert joined.texts == ["一", "二"] and joined.slots == {"a": 1, "b": 2}
    assert joined.follow_up is FollowUp.HANDOFF
    assert Turn().hand_over().then(Turn()).follow_up is FollowUp.HANDOFF


def test_said_reads_a_parsed_message_and_looks_up_entities():
    said = Said.of({"text": "查SH20261105000123", "intent": {"name": "check_application_status"},
                    "entities": [{"entity": "application_number", "value": ""},
                                 {"entity": "application_number", "value": "SH20261105000123"}]})
    assert said.intent == "check_application_status" and said.text.startswith("查")
    assert said.entity("application_number") == "SH20261105000123"  # the first with a value
    assert said.entity("matter") is None
    assert Said.of(None) == Said() == Said.of({"intent": None})


def test_cues_each_conversation_stops_on_its_own_words():
    assert holds("算了，不查了", STOP_STATUS) and holds("取消吧", STOP_INTAKE)
    assert holds("算了", STOP_STATUS) and not holds("算了", STOP_INTAKE)  # a no to a question
    assert HUMAN_BUTTON == {"title": "转人工", "payload": "/request_human"}
