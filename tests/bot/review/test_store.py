"""The review store (bot/review/store.py): misses kept once and masked, labelling, and
the measures per day, matter and model (SQLite, and PostgreSQL with DATABASE_URL)."""
from __future__ import annotations

import threading

import pytest

from bot.handoff.records import Records
from bot.review.store import KINDS, ReviewStore
from tests.bot.review.events import T0

DAY = 86400.0


@pytest.fixture
def store(database_url):
    return ReviewStore.open(database_url)


def miss(event_id: int, kind: str = "fallback", timestamp: float = T0, **values):
    return {"event_id": event_id, "kind": kind, "sender_id": "rest:a", "timestamp": timestamp,
            "text": "呜啦啦", "intent": "nlu_fallback", "confidence": 0.4,
            "ranking": [{"name": "nlu_fallback", "confidence": 0.4}], "entities": [],
            "matter_code": None, "unknown_matter": None, "channel": "rest",
            "model_id": "model-a", "context": [], **values}


def counts(turns: int, **values: int):
    return {"turns": turns, **values}


def test_open_twice_and_misses_once(store, database_url):
    assert ReviewStore.open(database_url).cursor() == 0
    assert store.add_misses([miss(1), miss(1, "handoff_after_miss"), miss(2)]) == 3
    assert store.add_misses([miss(1)]) == 0  # (event, kind) already stored
    assert [(m["event_id"], m["kind"]) for m in store.misses()] == [
        (2, "fallback"), (1, "handoff_after_miss"), (1, "fallback")]


def test_texts_are_masked_whatever_the_caller_passes(store):
    store.add_misses([miss(1, text="电话13812345678", context=["身份证310101199001011234"],
                           unknown_matter="13812345678的证",
                           entities=[{"entity": "x", "value": "13812345678",
                                      "start": 2, "end": 13}])])
    (row,) = store.misses()
    assert row["text"] == "电话138****5678"
    assert row["context"] == ["身份证310101********1234"]
    assert row["unknown_matter"] == "138****5678的证"
    assert row["entities"][0]["value"] == "138****5678"


def test_unknown_kinds_are_refused(store):
    assert "poor_rating" in KINDS
    with pytest.raises(ValueError):
        store.add_misses([miss(1, "confusing")])


def test_misses_by_time_status_and_ids_and_marking(store):
    store.add_misses([miss(1, timestamp=T0 - 2 * DAY), miss(2), miss(3, timestamp=T0 + 5)])
    assert [m["event_id"] for m in store.misses(since=T0 - DAY)] == [3, 2]
    ids = [m["id"] for m in store.misses()]
    label = {"intent": "ask_fee"}
    assert store.mark(ids[:2], "labelled", label, by="boss") == 2
    assert [m["event_id"] for m in store.misses()] == [1]
    labelled = store.by_ids(ids[:2] + [9999])
    assert [m["status"] for m in labelled] == ["labelled", "labelled"]
    assert labelled[0]["label"] == label and labelled[0]["labelled_by"] == "boss"
    assert len(store.misses(status=None)) == 3
    with pytest.raises(ValueError):
        store.mark(ids, "forgotten", None, by="boss")


def test_two_instances_capturing_the_same_events_count_them_once(store, database_url):
    other = ReviewStore.open(database_url)
    key = ("2026-12-05", "model-a", "")
    results = []

    def advance(s):
        results.append(s.advance(0, 10, [miss(5)], {key: counts(4, fallbacks=1)}))

    threads = [threading.Thread(target=advance, args=(s,)) for s in (store, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [1, None]
    assert store.cursor() == 10 and len(store.misses()) == 1
    (day,) = store.measures(T0 - DAY)["days"]
    assert day["turns"] == 4 and day["fallbacks"] == 1


def rated_handoff(records: Records, created_at: float, matter: str, rating: int) -> None:
    handoff = records.create_handoff(conversation_id="rest:x", channel="rest", kind="request",
                                     topic="t", summary="s", status="ended",
                                     matter_code=matter, created_at=created_at)
    assert records.rate(handoff, "rest:x", rating)


def test_measures_per_day_matter_and_model(store, database_url):
    d1, d2, d3 = "2026-12-04", "2026-12-05", "2026-12-06"
    store.advance(0, 100, [], {
        (d1, "model-a", ""): counts(10, fallbacks=2, unknown_matters=1, handoffs_after_miss=1),
        (d1, "model-a", "SH-JZZ"): counts(10, fallbacks=0, low_confidence=1),
        (d2, "model-a", "SH-JZZ"): counts(5, fallbacks=1),
        (d2, "model-b", "SH-JZZ"): counts(5, out_of_scope=1),
        (d3, "model-b", ""): counts(20, fallbacks=1, handoffs_after_miss=2),
    })
    store.advance(100, 110, [], {(d3, "model-b", ""): counts(5, fallbacks=1)})  # adds up
    records = Records.open(database_url)
    rated_handoff(records, T0 - DAY, "SH-JZZ", 2)  # d1
    rated_handoff(records, T0 - DAY + 60, "", 4)  # d1
    rated_handoff(records, T0 + DAY, "", 5)  # d3
    measures = store.measures(T0 - DAY - 36000)

    days = {d["day"]: d for d in measures["days"]}
    assert list(days) == [d1, d2, d3]
    assert days[d1]["turns"] == 20 and days[d1]["fallback_rate"] == 0.1
    assert days[d1]["unknown_matter_rate"] == 0.05 and days[d1]["handoff_after_miss_rate"] == 0.05
    assert days[d1]["satisfaction"] == 3.0 and days[d1]["ratings"] == 2
    assert days[d2]["satisfaction"] is None and days[d2]["out_of_scope_rate"] == 0.1
    assert days[d3]["turns"] == 25 and days[d3]["fallback_rate"] == 0.08

    matters = {m["matter_code"]: m for m in measures["matters"]}
    assert [m["matter_code"] for m in measures["matters"]] == ["", "SH-JZZ"]  # most turns first
    assert matters["SH-JZZ"]["turns"] == 20 and matters["SH-JZZ"]["fallback_rate"] == 0.05
    assert matters["SH-JZZ"]["satisfaction"] == 2.0
    assert matters[""]["satisfaction"] == 4.5

    models = measures["models"]
    assert [(m["model_id"], m["first_day"], m["last_day"]) for m in models] == [
        ("model-a", d1, d2), ("model-b", d2, d3)]
    assert models[0]["turns"] == 25 and models[0]["fallback_rate"] == 0.12
    assert models[1]["turns"] == 30 and models[1]["handoff_after_miss_rate"] == round(2 / 30, 4)
    assert models[0]["satisfaction"] == 3.0 and models[1]["satisfaction"] == 5.0

    later = store.measures(T0 + DAY)
    assert [d["day"] for d in later["days"]] == [d3]


def test_measures_without_the_desks_records(store):
    store.advance(0, 1, [], {("2026-12-05", "", ""): counts(1)})
    (day,) = store.measures(T0 - DAY)["days"]
    assert day["turns"] == 1 and day["satisfaction"] is None and day["fallback_rate"] == 0.0
