"""Which turns are captured for review and how (bot/review/capture.py): classification
from hand-built events, masking, idempotence and the cursor."""
from __future__ import annotations

import pytest

from bot.db import engine_for
from bot.handoff.records import local_day
from bot.review import capture
from bot.review.capture import capture_new, misses_in, settled_upto
from bot.review.store import ReviewStore
from tests.bot.review.events import (
    LISTEN, T0, action, answered, bot, events_db, insert, slot, stored, user,
)

CLEAN = answered("居住证要什么材料", "ask_materials",
                 action("action_answer_matter"), slot("matter_code", "SH-JZZ"), bot("办理…"))
FALLBACK = answered("呜啦啦噜噜", "nlu_fallback", action("action_fallback"), bot("没听懂"),
                    confidence=0.4)


def kinds(rows):
    return sorted((r["text"], r["kind"]) for r in rows)


def test_a_clean_turn_is_counted_not_captured():
    rows, counters = misses_in(stored({"a": CLEAN}))
    assert rows == []
    assert counters == {(local_day(T0 + 1), "model-a", "SH-JZZ"): {
        "turns": 1, "fallbacks": 0, "out_of_scope": 0, "unknown_matters": 0,
        "low_confidence": 0, "handoffs_after_miss": 0}}


def test_fallback_by_intent_or_by_the_fallback_action():
    core = answered("能不能快点", "ask_fee", action("action_fallback"), confidence=0.92)
    rows, counters = misses_in(stored({"a": FALLBACK + core}))
    assert kinds(rows) == [("呜啦啦噜噜", "fallback"), ("能不能快点", "fallback")]
    (entry,) = counters.values()
    assert entry["turns"] == 2 and entry["fallbacks"] == 2 and entry["low_confidence"] == 0


def test_out_of_scope():
    rows, counters = misses_in(stored({"a": answered(
        "帮我订一张机票", "out_of_scope", action("action_matter_first"), bot("12345"))}))
    assert kinds(rows) == [("帮我订一张机票", "out_of_scope")]
    assert next(iter(counters.values()))["out_of_scope"] == 1


def test_unknown_matter_keeps_the_name_the_citizen_used():
    rows, counters = misses_in(stored({"a": CLEAN + answered(
        "渔船登记要带什么材料", "ask_materials", action("action_answer_matter"),
        slot("unknown_matter", "渔船登记"), slot("matter_code", None), bot("没有找到"))}))
    (row,) = rows
    assert row["kind"] == "unknown_matter" and row["unknown_matter"] == "渔船登记"
    assert row["matter_code"] is None and row["context"] == ["居住证要什么材料"]
    assert sum(c["unknown_matters"] for c in counters.values()) == 1
    assert counters[(local_day(T0), "model-a", "")]["unknown_matters"] == 1


@pytest.mark.parametrize("confidence, second", [(0.75, 0.1), (0.86, 0.8)])
def test_low_confidence_or_ambiguous_intent(confidence, second):
    rows, _ = misses_in(stored({"a": answered(
        "那个证怎么弄", "ask_procedure", action("action_answer_matter"),
        confidence=confidence, second=second)}))
    (row,) = rows
    assert row["kind"] == "low_confidence" and row["intent"] == "ask_procedure"
    assert row["confidence"] == confidence
    assert row["ranking"][0] == {"name": "ask_procedure", "confidence": confidence}
    assert len(row["ranking"]) == 5


def test_a_fallback_is_not_also_low_confidence():
    rows, _ = misses_in(stored({"a": FALLBACK}))
    assert [r["kind"] for r in rows] == ["fallback"]


def test_handoff_after_a_miss_captures_the_missed_message():
    unknown = answered("渔船登记要带什么材料", "ask_materials", action("action_answer_matter"),
                       slot("unknown_matter", "渔船登记"))
    person = answered("/request_human", "request_human", action("action_handoff"),
                      {"event": "pause"}, confidence=1.0)
    rows, counters = misses_in(stored({"a": unknown + person}))
    assert kinds(rows) == [("渔船登记要带什么材料", "handoff_after_miss"),
                           ("渔船登记要带什么材料", "unknown_matter")]
    assert sum(c["handoffs_after_miss"] for c in counters.values()) == 1
    assert sum(c["turns"] for c in counters.values()) == 2


def test_the_bot_handing_over_after_two_fallbacks_captures_both():
    streak = answered("哦哦哦哦", "nlu_fallback", action("action_fallback"),
                      action("action_handoff"), confidence=0.3)
    rows, counters = misses_in(stored({"a": FALLBACK + streak}))
    assert kinds(rows) == [("呜啦啦噜噜", "fallback"), ("呜啦啦噜噜", "handoff_after_miss"),
                           ("哦哦哦哦", "fallback"), ("哦哦哦哦", "handoff_after_miss")]
    assert sum(c["handoffs_after_miss"] for c in counters.values()) == 1


def test_a_handoff_long_after_a_miss_is_not_after_the_miss():
    person = answered("转人工", "request_human", action("action_handoff"))
    rows, counters = misses_in(stored({"a": FALLBACK + CLEAN + CLEAN + CLEAN + person}))
    assert kinds(rows) == [("呜啦啦噜噜", "fallback")]
    assert sum(c["handoffs_after_miss"] for c in counters.values()) == 0


def rated(score: str):
    question = answered("社保卡丢了怎么补", "ask_procedure", action("action_answer_matter"),
                        slot("matter_code", "SH-SBK"))
    person = answered("转人工", "request_human", action("action_handoff"), {"event": "pause"})
    with_agent = [user("在吗", "greet"), bot("您好，我是客服小王"), user("好的谢谢", "thank")]
    ended = [{"event": "resume"}, slot("rating_handoff", "7"), LISTEN]
    rating = answered(f'/rate_service{{"satisfaction":"{score}"}}', "rate_service",
                      action("action_rate_service"), slot("rating_handoff", None), bot("谢谢"),
                      entities=[{"entity": "satisfaction", "value": score, "start": 0, "end": 1}],
                      confidence=1.0)
    return question + person + with_agent + ended + rating


def test_a_poor_rating_captures_the_question_that_led_to_the_handoff():
    rows, counters = misses_in(stored({"a": rated("1")}))
    (row,) = rows
    assert row["kind"] == "poor_rating" and row["rating"] == 1
    assert row["text"] == "社保卡丢了怎么补" and row["matter_code"] == "SH-SBK"
    # the messages to the agent are not the bot's turns
    assert sum(c["turns"] for c in counters.values()) == 3


def test_a_good_rating_captures_nothing():
    assert misses_in(stored({"a": rated("4")}))[0] == []


def test_a_row_keeps_entities_channel_model_time_and_context():
    events = CLEAN + answered("一二三", "nlu_fallback", action("action_fallback"),
                              channel="wechat_oa", model_id="model-b",
                              entities=[{"entity": "district", "value": "浦东新区", "start": 0,
                                         "end": 4, "extractor": "x"}])
    (row,) = misses_in(stored({"wx:1": events}))[0]
    first = stored({"wx:1": events})[len(CLEAN)]
    assert row["event_id"] == first["_id"] and row["sender_id"] == "wx:1"
    assert row["channel"] == "wechat_oa" and row["model_id"] == "model-b"
    assert row["timestamp"] == first["timestamp"] and row["day"] == local_day(first["timestamp"])
    assert row["entities"] == [{"entity": "district", "value": "浦东新区", "start": 0, "end": 4}]
    assert row["context"] == ["居住证要什么材料"]
    assert row["matter_code"] == "SH-JZZ"  # the conversation's matter after the turn


def test_context_is_the_three_latest_earlier_texts_masked():
    events = (answered("我电话13812345678", "inform", action("action_handle_inform"))
              + CLEAN + CLEAN + CLEAN + FALLBACK)
    (row,) = misses_in(stored({"a": events}))[0]
    assert row["context"] == ["居住证要什么材料"] * 3
    events = answered("我电话13812345678", "inform", action("action_handle_inform")) + FALLBACK
    (row,) = misses_in(stored({"a": events}))[0]
    assert row["context"] == ["我电话138****5678"]


def test_history_gives_context_but_is_not_captured_again():
    events = stored({"a": FALLBACK + answered("转人工", "request_human", action("action_handoff"))})
    after = len(FALLBACK)  # the fallback was captured in an earlier round
    rows, counters = misses_in(events, after_id=after)
    assert kinds(rows) == [("呜啦啦噜噜", "handoff_after_miss")]
    assert sum(c["turns"] for c in counters.values()) == 1


def test_conversations_are_kept_apart():
    person = answered("转人工", "request_human", action("action_handoff"))
    rows, _ = misses_in(stored({"a": FALLBACK, "b": person}))
    assert kinds(rows) == [("呜啦啦噜噜", "fallback")]


def test_a_young_gap_in_the_ids_waits():
    class Row:
        def __init__(self, id, timestamp):
            self.id, self.timestamp = id, timestamp

    rows = [Row(11, 100.0), Row(12, 100.0), Row(15, 100.0), Row(16, 100.0)]
    assert settled_upto(rows, 10, now=110.0) == 12
    assert settled_upto(rows, 10, now=100.0 + capture.SETTLE_SECONDS + 1) == 16


# -- stored: masking, idempotence, cursor ---------------------------------------------


@pytest.fixture
def tracker_url(tmp_path):
    return events_db(tmp_path / "tracker.db")


@pytest.fixture
def store(database_url):
    return ReviewStore.open(database_url)


def test_a_phone_number_is_stored_masked(tracker_url, store):
    insert(tracker_url, stored({"a": answered("我电话13812345678呜啦啦", "nlu_fallback",
                                              action("action_fallback"))}))
    assert capture_new(engine_for(tracker_url), store) == 1
    (row,) = store.misses()
    assert row["text"] == "我电话138****5678呜啦啦" and "13812345678" not in str(row)


def test_capture_is_idempotent_and_follows_the_cursor(tracker_url, store, database_url):

    engine = engine_for(tracker_url)
    first = stored({"a": FALLBACK + CLEAN})
    insert(tracker_url, first)
    assert capture_new(engine, store) == 1
    assert store.cursor() == first[-1]["_id"]
    assert capture_new(engine, store) == 0
    second = stored({"a": answered("/request_human", "request_human", action("action_handoff"))},
                    first_id=first[-1]["_id"] + 1)
    insert(tracker_url, second)
    assert capture_new(engine, store) == 1
    assert sorted(r["kind"] for r in store.misses()) == ["fallback", "handoff_after_miss"]
    assert store.cursor() == second[-1]["_id"]
    turns = store.measures(T0 - 86400)["days"][0]["turns"]
    assert turns == 3  # every turn counted once
    # another instance that read the same events too late stores nothing
    assert store.advance(first[-1]["_id"], second[-1]["_id"], [], {}) is None
    assert store.add_misses([{**store.misses()[0], "kind": "fallback"}]) == 0


def test_small_batches_capture_what_one_batch_does(tracker_url, store):

    events = stored({"a": FALLBACK + CLEAN + answered("转人工", "request_human",
                                                     action("action_handoff")),
                     "b": rated("2")})
    insert(tracker_url, events)
    engine = engine_for(tracker_url)
    while capture.capture_batch(engine, store, batch=3)[1] or store.cursor() < events[-1]["_id"]:
        pass
    assert kinds(store.misses()) == [("呜啦啦噜噜", "fallback"), ("呜啦啦噜噜", "handoff_after_miss"),
                                     ("社保卡丢了怎么补", "poor_rating")]
    assert sum(d["turns"] for d in store.measures(T0 - 86400)["days"]) == 6


def test_no_events_table_yet_captures_nothing(tmp_path, store):

    assert capture_new(engine_for(f"sqlite:///{tmp_path / 'empty.db'}"), store) == 0
    assert store.cursor() == 0
