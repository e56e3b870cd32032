"""actions/matters.py: a matter's answers go out as text and, where there is one, a card."""
from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emit import utter
from actions.matters import ActionAnswerMatter, ActionHandleInform
from bot.catalog.cards import card_problems, is_card
from bot.dialogue.turn import Turn, button


def tracker(text, intent, entities=(), slots=None):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99},
               "entities": [{"entity": "matter", "value": v, "start": 0, "end": len(v),
                             "extractor": "CatalogEntityRuler"} for v in entities]}
    return Tracker("test-cards", dict(slots or {}), message, [], False, None,
                   {"name": "rest"}, "action_listen")


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return dispatcher.messages, events


def test_the_materials_answer_sends_the_card_with_its_text():
    messages, events = run(ActionAnswerMatter(),
                           tracker("居住证要带什么材料", "ask_materials", ["居住证"]))
    assert len(messages) == 1
    message = messages[0]
    card = message["custom"]
    assert is_card(card) and card["kind"] == "materials" and card_problems(card) == []
    assert card["matter"]["code"] == "SH-P-001"
    # the text is there for channels and REST clients that read only texts
    assert message["text"] == card["text"] and "【免提交】居民身份证" in message["text"]
    assert message["buttons"] == []
    slot = {"event": "slot", "name": "matter_code", "value": "SH-P-001", "timestamp": None}
    assert slot in events


def test_a_follow_up_is_text_only():
    messages, _ = run(ActionAnswerMatter(),
                      tracker("那要多久？", "ask_processing_time", slots={"matter_code": "SH-P-001"}))
    assert messages[0]["custom"] == {} and "工作日" in messages[0]["text"]


def test_the_overview_keeps_its_buttons_and_carries_a_card():
    messages, _ = run(ActionHandleInform(), tracker("居住证", "inform", ["居住证"]))
    message = messages[0]
    titles = [b["title"] for b in message["buttons"]]
    assert titles[:2] == ["要带什么材料", "要多久"]
    card = message["custom"]
    assert card["kind"] == "overview" and card_problems(card) == []
    assert [c["payload"] for c in card["chips"]] == [b["payload"] for b in message["buttons"]]


def test_a_payload_without_text_is_sent_alone():
    dispatcher = CollectingDispatcher()
    utter(dispatcher, Turn().show({"govbot": "rotate_session"}).say("好", [button("是")]))
    assert [(m["text"], m["custom"]) for m in dispatcher.messages] == [
        (None, {"govbot": "rotate_session"}), ("好", {})]
