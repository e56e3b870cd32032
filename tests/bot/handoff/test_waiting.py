"""bot/handoff/waiting.py: what a waiting citizen's message asks for, and what it gets."""
from __future__ import annotations

import pytest

from bot.handoff.waiting import (ACK_EVERY, CANCEL, HUMAN, MESSAGE, Watch, paused_at, reading,
                                 replies)


def user(text, intent="inform"):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


@pytest.mark.parametrize("text, intent, read", [
    ("算了", "deny", CANCEL), ("取消", "inform", CANCEL), ("算了不等了", "deny", CANCEL),
    ("人呢", "nlu_fallback", HUMAN), ("转人工", "request_human", HUMAN),
    ("我要找人工客服", "request_human", HUMAN),
    # a cancel word inside a question is a message for the agent
    ("取消预约的话要带什么材料吗", "ask_materials", MESSAGE),
    ("我的居住证办了一个月还没好", "check_application_status", MESSAGE),
])
def test_what_a_message_while_waiting_asks_for(text, intent, read):
    assert reading(user(text, intent)) == read


def test_buttons_and_the_bots_own_events_are_no_messages():
    assert reading(user('/rate_service{"satisfaction":"5"}')) is None
    assert reading({"event": "bot", "text": "x"}) is None
    assert reading(user("/request_human", "request_human")) == HUMAN


def test_words_at_most_once_a_minute_and_the_bar_at_every_change():
    watch = Watch(seen=1, place=2)
    first = replies([MESSAGE], watch, 100.0, "socketio", place=2, minutes=6)
    assert [e.get("text") for e in first][0].startswith("已转给工作人员")
    assert first[-1]["data"]["custom"]["delivered"] == 1
    again = replies([MESSAGE], watch, 100.0 + ACK_EVERY / 2, "socketio", place=2, minutes=6)
    assert [e.get("text") for e in again] == [None]  # the bar only
    moved = replies([], watch, 130.0, "socketio", place=1, minutes=3)
    assert moved[0]["data"]["custom"]["place"] == 1
    assert replies([], watch, 131.0, "socketio", place=1, minutes=3) == []
    asked = replies([HUMAN], watch, 132.0, "wechat", place=1, minutes=3)
    assert len(asked) == 1 and "您是下一位" in asked[0]["text"]  # always answered, no bar


def test_the_wait_starts_at_this_handoffs_pause():
    events = [{"event": "pause", "_id": 3, "timestamp": 10.0}, user("x") | {"_id": 4},
              {"event": "resume", "_id": 5}, {"event": "pause", "_id": 7, "timestamp": 100.0}]
    assert paused_at(events, since=99.5) == 7
    assert paused_at(events[:3], since=99.5) is None  # an earlier handoff's pause
    assert paused_at([], since=0) is None
