"""Rasa's event stream (rasa_ext/event_broker.py) on a real RabbitMQ: what reaches the
queue is masked and persistent, a turn never waits for RabbitMQ, Rasa's own tracker
store publishes through it, and no event is lost while RabbitMQ restarts."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import yaml

from bot import settings
from bot.stats import QUEUE_ARGUMENTS
from bot.stats.consumer import events_of
from rasa_ext import endpoints
from rasa_ext.event_broker import MaskedPikaEventBroker, batch_body, stream_copy
from tests.bot.stats import rabbit
from tests.bot.stats.rabbit import stream  # noqa: F401 (fixture)

ID_NUMBER = "310101199001011234"
PHONE = "13812341234"
CODE = "482913"


def personal_event(sender="rest:a"):
    text = f"我的身份证{ID_NUMBER}，电话{PHONE}，验证码 {CODE}"
    return {
        "sender_id": sender, "event": "user", "timestamp": time.time(), "text": text,
        "parse_data": {"text": text, "intent": {"name": "inform", "confidence": 0.9},
                       "entities": [{"entity": "phone", "value": PHONE, "start": 0, "end": 1}]},
        "metadata": {"model_id": "m1", "caller": PHONE, "nested": [{"id": ID_NUMBER}]},
        "input_channel": "rest",
    }


def contains_personal(raw: str) -> bool:
    return ID_NUMBER in raw or PHONE in raw or CODE in raw


def test_the_stream_copy_masks_texts_slots_entities_and_metadata():
    events = [
        personal_event(),
        {"sender_id": "rest:a", "event": "slot", "name": "callback_phone", "value": PHONE,
         "timestamp": 1.0},
        {"sender_id": "rest:a", "event": "slot", "name": "intake_answers",
         "value": {"owner_id": ID_NUMBER}, "timestamp": 1.0},
        {"sender_id": "rest:a", "event": "bot", "text": f"已记下回电号码{PHONE}",
         "data": {"custom": {"phone": PHONE}}, "metadata": {}, "timestamp": 1.0},
    ]
    for event in events:
        copy = stream_copy(event)
        assert not contains_personal(json.dumps(copy, ensure_ascii=False)), copy
        assert (copy["sender_id"], copy["event"], copy["timestamp"]) == (
            event["sender_id"], event["event"], event["timestamp"])
    assert "138****1234" in stream_copy(events[0])["text"]
    assert stream_copy(events[0])["parse_data"]["intent"]["name"] == "inform"
    assert personal_event()["text"].startswith("我的身份证3101011990")  # the original untouched


# -- endpoints ----------------------------------------------------------------------


def test_no_event_broker_without_rabbitmq(monkeypatch):
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    assert "event_broker" not in endpoints.endpoints()


def test_the_event_broker_section_names_no_credential(monkeypatch, tmp_path):
    monkeypatch.setenv("RABBITMQ_URL", "amqp://govbot:s3cret-password@127.0.0.1:5672/%2F")
    section = endpoints.endpoints()["event_broker"]
    assert section == {"type": "rasa_ext.event_broker.MaskedPikaEventBroker",
                       "queues": ["govbot.stats"], "exchange_name": "govbot.events",
                       "durable": True}
    out = tmp_path / "endpoints.yml"
    monkeypatch.setattr("sys.argv", ["x", str(out)])
    endpoints.main()
    assert "s3cret" not in out.read_text() and yaml.safe_load(out.read_text())["event_broker"]


@pytest.mark.parametrize("url", [
    "amqp://guest:guest@rabbit:5672/%2F", "amqp://govbot@rabbit:5672/%2F",
    "amqp://govbot:short@rabbit:5672/%2F", "http://rabbit",
])
def test_production_refuses_guest_and_weak_rabbitmq_credentials(monkeypatch, url):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.setenv("RABBITMQ_URL", url)
    with pytest.raises(settings.InsecureConfiguration):
        settings.rabbitmq_url()


def test_production_accepts_an_account_of_its_own(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    url = "amqps://govbot:" + "x" * 32 + "@rabbit.internal:5671/govbot"
    monkeypatch.setenv("RABBITMQ_URL", url)
    assert settings.rabbitmq_url() == url


# -- never in the turn's way ----------------------------------------------------------


async def test_rasa_starts_and_turns_go_on_with_rabbitmq_unreachable():
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(type=endpoints.EVENT_BROKER, queues=["q"], exchange_name="x",
                            durable=True, amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    started = time.monotonic()
    broker = await EventBroker.create(config)
    assert isinstance(broker, MaskedPikaEventBroker)
    for _ in range(1000):
        broker.publish(personal_event())
    assert time.monotonic() - started < 1.0  # no waiting for the connection
    assert not broker.is_ready() and len(broker._pending) == 1000
    closing = time.monotonic()
    await broker.close(timeout=0.2)
    assert time.monotonic() - closing < 2.0


async def test_a_full_buffer_drops_the_oldest_not_the_turn():
    broker = MaskedPikaEventBroker(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F",
                                   queues=["q"], exchange_name="x", max_buffered=3)
    for i in range(5):
        broker.publish({**personal_event(), "timestamp": float(i)})
    assert [json.loads(b)["timestamp"] for b in broker._pending] == [2.0, 3.0, 4.0]


# -- on RabbitMQ ----------------------------------------------------------------------


def make_broker(url, queue, exchange, **kwargs):
    broker = MaskedPikaEventBroker(amqp_url=url, queues=[queue], exchange_name=exchange,
                                   reconnect_interval=0.5, **kwargs)
    broker.start()
    return broker


async def test_what_rabbitmq_keeps_on_disk_is_masked_and_persistent(stream):
    import aio_pika

    url, queue, exchange = stream
    broker = make_broker(url, queue, exchange)
    broker.publish(personal_event())
    assert await broker.flush(10)
    await broker.close()
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        message = await declared.get(no_ack=False)
        raw = message.body.decode("utf-8")
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await message.nack(requeue=True)
    assert not contains_personal(raw), raw
    assert "138****1234" in raw and '"sender_id": "rest:a"' in raw
    # Durable, with the consumer's arguments: RabbitMQ refuses a redeclaration that differs.
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True, arguments=dict(QUEUE_ARGUMENTS))


async def test_the_tracker_store_publishes_a_turn_masked(stream, tracker_store, domain):
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    url, queue, exchange = stream
    broker = make_broker(url, queue, exchange)
    tracker_store.event_broker = broker
    turns = 7  # more than the store's window of 4 turns: each turn's events once
    try:
        for turn in range(turns):
            tracker = (await tracker_store.retrieve("rest:t")
                       or DialogueStateTracker("rest:t", domain.slots))
            tracker.update(UserUttered(f"回电 {PHONE} #{turn}",
                                       intent={"name": "inform", "confidence": 0.9}))
            tracker.update(ActionExecuted("action_submit_work_order"))
            tracker.update(SlotSet("callback_phone", PHONE))
            tracker.update(ActionExecuted("action_listen"))
            await tracker_store.save(tracker)
        assert await broker.flush(10)
    finally:
        await broker.close()
    bodies = await rabbit.raw_messages(url, queue, 4 * turns + 10, timeout=2)
    events = [e for b in bodies for e in events_of(b)[0]]
    assert [e["event"] for e in events] == ["user", "action", "slot", "action"] * turns
    assert [e["text"][-2:] for e in events if e["event"] == "user"] == [
        f"#{turn}" for turn in range(turns)]
    assert all(e["sender_id"] == "rest:t" for e in events)
    assert not any(contains_personal(b.decode("utf-8")) for b in bodies)


async def test_no_event_is_lost_while_rabbitmq_restarts(stream):
    if not rabbit.local_rabbitmqctl():
        pytest.skip("needs this machine's own RabbitMQ and rabbitmqctl")
    url, queue, exchange = stream
    broker = make_broker(url, queue, exchange, publish_timeout=2.0)
    await asyncio.wait_for(_until(broker.is_ready), 10)
    total = 300

    async def publish_steadily():
        for i in range(total):
            broker.publish({"sender_id": "rest:r", "event": "action", "name": f"a{i}",
                            "timestamp": float(i)})
            await asyncio.sleep(0.01)

    publishing = asyncio.create_task(publish_steadily())
    try:
        await asyncio.sleep(0.3)
        await rabbit.restart_briefly()
        await publishing
        assert await broker.flush(15), f"{len(broker._pending)} events still wait"
        assert broker.publish_failures > 0  # the restart did interrupt publishing
    finally:
        publishing.cancel()
        await broker.close(timeout=1)
        await asyncio.to_thread(rabbit.rabbitmqctl, "start_app")  # whatever happened
    bodies = await rabbit.raw_messages(url, queue, total * 2, timeout=3)
    names = [e["name"] for b in bodies for e in events_of(b)[0]]
    assert set(names) == {f"a{i}" for i in range(total)}, f"missing {total - len(set(names))}"
    # in order: a repetition (a confirmation lost in the restart) only goes back, and
    # every event's first appearance comes after the one before it
    first = sorted(set(names), key=names.index)
    assert first == [f"a{i}" for i in range(total)]


def test_what_waits_is_published_together_and_read_back_in_order():
    bodies = [json.dumps({"event": "action", "name": f"a{i}"}).encode() for i in range(3)]
    assert batch_body(bodies[:1]) == bodies[0]  # one event: a JSON object, as Rasa's broker
    events, rejected = events_of(batch_body(bodies))
    assert [e["name"] for e in events] == ["a0", "a1", "a2"] and rejected == 0
    assert events_of(b"[{\"event\": \"user\"}, 7, {}]") == ([{"event": "user"}], 2)
    assert events_of(b"not json") == ([], 1)


async def test_a_backlog_leaves_in_few_messages_in_order(stream):
    """Events that wait while a publication is confirmed go together in the next one (up
    to max_batch): a Rasa instance at capacity fell 11,000-13,000 events behind when each
    event waited for its own confirmation (make bench CLUSTER=1)."""
    url, queue, exchange = stream
    broker = make_broker(url, queue, exchange, max_batch=50)
    await asyncio.wait_for(_until(broker.is_ready), 10)
    total = 1000
    try:
        for i in range(total):  # all at once, as a loaded event loop hands them over
            broker.publish({"sender_id": "rest:b", "event": "action", "name": f"a{i}",
                            "timestamp": float(i)})
        assert await broker.flush(15), f"{len(broker._pending)} events still wait"
    finally:
        await broker.close()
    bodies = await rabbit.raw_messages(url, queue, total, timeout=2)
    assert total / 50 <= len(bodies) <= total / 10
    assert [e["name"] for b in bodies for e in events_of(b)[0]] == [
        f"a{i}" for i in range(total)]


async def test_a_full_buffer_keeps_the_events_being_published():
    broker = MaskedPikaEventBroker(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F",
                                   queues=["q"], exchange_name="x", max_buffered=3)
    for i in range(3):
        broker.publish({**personal_event(), "timestamp": float(i)})
    broker._in_flight = 2  # the first two are in a publication awaiting its confirmation
    broker.publish({**personal_event(), "timestamp": 3.0})
    assert [json.loads(b)["timestamp"] for b in broker._pending] == [0.0, 1.0, 3.0]


async def _until(condition):
    while not condition():
        await asyncio.sleep(0.05)


async def test_a_full_buffer_being_published_whole_drops_the_new_event_and_keeps_its_bound():
    broker = MaskedPikaEventBroker(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F",
                                   queues=["q"], exchange_name="x", max_buffered=2)
    for i in range(2):
        broker.publish({**personal_event(), "timestamp": float(i)})
    broker._in_flight = 2  # both in the publication awaiting its confirmation
    broker.publish({**personal_event(), "timestamp": 2.0})
    assert [json.loads(b)["timestamp"] for b in broker._pending] == [0.0, 1.0]
