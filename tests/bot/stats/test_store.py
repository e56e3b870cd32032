"""Counting from the stream (bot/stats/turns.py, bot/stats/store.py), without RabbitMQ:
the same counts as the review's scan of the tracker, each event counted once, old keys
pruned, no citizen's text kept."""
from __future__ import annotations

import json

import sqlalchemy as sa

from bot.review.capture import misses_in
from bot.review.store import COUNTERS as REVIEW_COUNTERS
from bot.stats.store import KEEP_SECONDS, StatsStore, conversations_table, event_key, seen_table
from tests.bot.review.events import T0, action, answered, bot, slot, stored, user

CLEAN = answered("居住证要什么材料", "ask_materials",
                 action("action_answer_matter"), slot("matter_code", "SH-JZZ"), bot("办理…"))
FALLBACK = answered("呜啦啦噜噜 13812341234", "nlu_fallback", action("action_fallback"),
                    bot("没听懂"), confidence=0.4)
UNKNOWN = answered("渔船登记要啥", "ask_materials", action("action_answer_matter"),
                   slot("unknown_matter", "渔船登记"))
OUT = answered("今天股票涨了吗", "out_of_scope", action("utter_out_of_scope"))
GUESS = answered("那个证怎么弄", "ask_materials", action("action_answer_matter"),
                 confidence=0.75)
PERSON = answered("转人工", "request_human", action("action_handoff"), {"event": "pause"})
WHILE_PAUSED = [user("人呢", "chitchat")]
RESUMED = [{"event": "resume"}, action("action_listen")]
BUTTON = answered("/request_human", "request_human", action("action_handoff"))
NEW_SESSION = [action("action_session_start"), {"event": "session_started"},
               action("action_listen")]

CONVERSATIONS = {
    "a": CLEAN + CLEAN + FALLBACK + FALLBACK + PERSON + WHILE_PAUSED + RESUMED + CLEAN,
    "b": UNKNOWN + OUT + GUESS + BUTTON,
    "c": CLEAN + NEW_SESSION + GUESS + OUT + CLEAN + FALLBACK + CLEAN + CLEAN + PERSON,
}


def stream_events(conversations):
    """The stored events as the broker publishes them, with "sender_id" (and none of
    the tracker's columns), in order."""
    return [{"sender_id": e["_sender"], **{k: v for k, v in e.items() if not k.startswith("_")}}
            for e in stored(conversations)]


def test_the_stream_counts_what_the_scan_of_the_tracker_counts(database_url):
    _, scanned = misses_in(stored(CONVERSATIONS))
    store = StatsStore.open(database_url)
    events = stream_events(CONVERSATIONS)
    # Interleaved across conversations (in order within each), in uneven batches.
    position = {}
    for event in events:
        position[id(event)] = sum(1 for e in events[:events.index(event)]
                                  if e["sender_id"] == event["sender_id"])
    events = sorted(events, key=lambda e: position[id(e)])
    for start in range(0, len(events), 7):
        store.apply(events[start:start + 7])
    rows = store.rows("2000-01-01")
    got = {(r["day"], r["model_id"], r["matter_code"]): {n: r[n] for n in REVIEW_COUNTERS}
           for r in rows}
    assert got == scanned
    assert sum(r["turns"] for r in rows) == sum(c["turns"] for c in scanned.values()) > 10
    assert sum(r["handoffs"] for r in rows) == 3  # two requests for a person, one button
    assert sum(r["handoffs_after_miss"] for r in rows) == 2


def test_each_event_counts_once_however_often_it_comes(database_url):
    store = StatsStore.open(database_url)
    events = stream_events({"a": CLEAN + FALLBACK})
    assert store.apply(events[:5]) == 5
    assert store.apply(events) == len(events) - 5  # a redelivered batch, and more
    assert store.apply(events + events) == 0
    day = store.day(store.rows("2000-01-01")[0]["day"])
    assert (day["turns"], day["fallbacks"], day["matters"]) == (2, 1, {"SH-JZZ": 2})


def test_two_events_alike_but_for_their_body_are_two():
    one = {"sender_id": "a", "event": "slot", "timestamp": T0, "name": "x", "value": 1}
    assert event_key(one) != event_key({**one, "name": "y"})
    assert event_key(one) == event_key(dict(reversed(list(one.items()))))


def test_old_keys_and_idle_conversations_are_pruned(database_url):
    store = StatsStore.open(database_url)
    store.apply(stream_events({"a": CLEAN}), now=T0)
    store.apply(stream_events({"b": CLEAN}), now=T0 + KEEP_SECONDS)
    keys, idle = store.prune(now=T0 + KEEP_SECONDS + 1)
    assert keys == len(CLEAN) and idle == 1
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(seen_table)).scalar()
    assert kept == len(CLEAN)


def test_no_citizen_text_is_kept(database_url):
    store = StatsStore.open(database_url)
    store.apply(stream_events({"a": UNKNOWN[:-1] + FALLBACK[:1]}))
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(conversations_table.c.state)).scalars()
        states = [json.loads(s) for s in rows]
    dumped = json.dumps(states, ensure_ascii=False)
    assert "渔船" not in dumped and "呜啦啦" not in dumped and "1381234" not in dumped


def test_the_desk_reads_the_measures_in_the_review_shape(database_url):
    store = StatsStore.open(database_url)
    store.apply(stream_events({"a": CLEAN + FALLBACK + PERSON}))
    data = store.measures(T0 - 86400)
    assert set(data) == {"days", "matters", "models"}
    day = data["days"][0]
    assert day["turns"] == 3 and day["fallbacks"] == 1 and day["handoffs"] == 1
    assert day["fallback_rate"] == round(1 / 3, 4) and "satisfaction" in day
    assert {m["matter_code"] for m in data["matters"]} == {"SH-JZZ"}
    assert data["models"][0]["model_id"] == "model-a"
