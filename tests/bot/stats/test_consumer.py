"""The statistics consumer on a real RabbitMQ and SQLite (docs/events.md): events the
broker publishes are counted; events published while the consumer is down are counted
when it starts; a consumer killed between commit and ack counts nothing twice; its
health and metrics endpoints. Each test has a queue and an exchange of its own."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import aiohttp
import pytest

from bot.stats.consumer import StatsConsumer, events_of, health_app
from bot.stats.store import StatsStore
from rasa_ext.event_broker import MaskedPikaEventBroker
from tests.bot.review.events import action, answered, bot, slot
from tests.bot.stats import rabbit
from tests.bot.stats.rabbit import stream  # noqa: F401 (fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

TURN = answered("居住证要什么材料，我的电话13812341234", "ask_materials",
                action("action_answer_matter"), slot("matter_code", "SH-P-009"), bot("办理…"))
MISS = answered("呜啦啦噜噜", "nlu_fallback", action("action_fallback"), confidence=0.4)
PERSON = answered("转人工", "request_human", action("action_handoff"), {"event": "pause"})


def conversation(sender, *turns):
    now = time.time()
    events = [e for turn in turns for e in turn]
    return [{"sender_id": sender, **e, "timestamp": now + i * 0.001} for i, e in enumerate(events)]


def broker(url, queue, exchange):
    b = MaskedPikaEventBroker(amqp_url=url, queues=[queue], exchange_name=exchange,
                              reconnect_interval=0.5)
    b.start()
    return b


async def publish(url, queue, exchange, events):
    b = broker(url, queue, exchange)
    for event in events:
        b.publish(event)
    assert await b.flush(10)
    await b.close()


async def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def queue_depth(url, queue):
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count


async def queued_events(url, queue):
    """Events in the queue's messages (the broker publishes what waits together)."""
    bodies = await rabbit.raw_messages(url, queue, 10_000, timeout=1)
    return sum(len(events_of(b)[0]) for b in bodies)


def totals(store):
    day = store.day()
    return day["turns"], day["fallbacks"], day["handoffs"], day["matters"]


async def test_events_the_broker_publishes_are_counted(stream, tmp_path):
    url, queue, exchange = stream
    store = StatsStore.open(f"sqlite:///{tmp_path / 'stats.db'}")
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange)
    await consumer.start()
    events = conversation("rest:a", TURN, MISS, TURN) + conversation("rest:b", TURN, PERSON)
    b = broker(url, queue, exchange)
    try:
        for event in events:
            b.publish(event)
        await until(lambda: consumer.handled >= len(events))
        # A matter stays the conversation's for its follow-ups (the miss after it too).
        assert totals(store) == (5, 1, 1, {"SH-P-009": 5})
        assert await queue_depth(url, queue) == 0  # all acknowledged
    finally:
        await b.close()
        await consumer.stop()


async def test_events_published_while_the_consumer_is_down_are_counted_when_it_starts(
        stream, tmp_path):
    url, queue, exchange = stream
    events = conversation("rest:a", TURN, TURN, MISS)
    await publish(url, queue, exchange, events)  # nobody consumes: the durable queue keeps them
    assert await queued_events(url, queue) == len(events)
    store = StatsStore.open(f"sqlite:///{tmp_path / 'stats.db'}")
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange)
    await consumer.start()
    try:
        await until(lambda: consumer.handled >= len(events))
        assert totals(store) == (3, 1, 0, {"SH-P-009": 3})
    finally:
        await consumer.stop()


CRASHING_CONSUMER = textwrap.dedent("""
    import asyncio, os, sys
    sys.path.insert(0, {root!r})
    from bot.stats import consumer as module
    from bot.stats.store import StatsStore

    class Crashing(module.StatsConsumer):
        async def _work(self):
            await asyncio.sleep(1.0)  # every event delivered: one batch
            await super()._work()

        async def _handle(self, batch):
            await self._commit([e for m in batch for e in module.events_of(m.body)[0]])
            os._exit(9)  # killed after the commit, before any acknowledgement

    async def main():
        c = Crashing({url!r}, StatsStore.open({db!r}), queue={queue!r}, exchange={exchange!r})
        await c.start()
        await asyncio.sleep(15)
        os._exit(3)  # nothing came

    asyncio.run(main())
""")


async def test_a_consumer_killed_before_its_ack_counts_each_event_once(stream, tmp_path):
    url, queue, exchange = stream
    db = f"sqlite:///{tmp_path / 'stats.db'}"
    events = conversation("rest:a", TURN, MISS, PERSON)
    await publish(url, queue, exchange, events)
    script = CRASHING_CONSUMER.format(root=ROOT, url=url, db=db, queue=queue, exchange=exchange)
    env = {**os.environ, "PYTHONPATH": ROOT}
    process = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], env=env, timeout=20, capture_output=True)
    assert process.returncode == 9, process.stderr.decode()[-2000:]
    store = StatsStore.open(db)
    assert totals(store) == (3, 1, 1, {"SH-P-009": 3})  # committed …
    await until(lambda: True)
    assert await queued_events(url, queue) == len(events)  # … but not acknowledged
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange)
    await consumer.start()  # the restart: every event comes again
    try:
        await until(lambda: consumer.handled >= len(events))
        assert totals(store) == (3, 1, 1, {"SH-P-009": 3})  # counted once
        deadline = time.monotonic() + 5
        while await queue_depth(url, queue) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await queue_depth(url, queue) == 0
    finally:
        await consumer.stop()


async def test_health_and_metrics(stream, tmp_path):
    url, queue, exchange = stream
    store = StatsStore.open(f"sqlite:///{tmp_path / 'stats.db'}")
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange)
    app = health_app(consumer, token="t" * 32)
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/health/live")).status == 200
        assert (await client.get("/health/ready")).status == 503  # not connected yet
        await consumer.start()
        try:
            ready = await client.get("/health/ready")
            assert ready.status == 200, await ready.text()
            assert (await client.get("/metrics")).status == 401
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32})
            assert scraped.status == 200
            assert "govbot_stats_events_total" in await scraped.text()
        finally:
            await consumer.stop()
        assert (await client.get("/health/ready")).status == 503


async def test_rabbitmq_restarting_loses_no_statistics(stream, tmp_path):
    if not rabbit.local_rabbitmqctl():
        pytest.skip("needs this machine's own RabbitMQ and rabbitmqctl")
    url, queue, exchange = stream
    store = StatsStore.open(f"sqlite:///{tmp_path / 'stats.db'}")
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange, reconnect_interval=0.5)
    await consumer.start()
    b = broker(url, queue, exchange)
    conversations = [conversation(f"rest:{i}", TURN, MISS) for i in range(40)]
    events = [e for c in conversations for e in c]

    async def publish_steadily():
        for event in events:
            b.publish(event)
            await asyncio.sleep(0.005)

    publishing = asyncio.create_task(publish_steadily())
    try:
        await asyncio.sleep(0.2)
        await rabbit.restart_briefly()
        await publishing
        assert await b.flush(15)
        assert b.publish_failures > 0  # the restart did interrupt the stream
        await until(lambda: totals(store)[0] >= 80, timeout=15)
        assert totals(store) == (80, 40, 0, {"SH-P-009": 80})
    finally:
        publishing.cancel()
        await b.close(timeout=1)
        await consumer.stop()
        await asyncio.to_thread(rabbit.rabbitmqctl, "start_app")  # whatever happened


async def test_python_m_bot_stats_consumer_serves_until_stopped(stream, tmp_path):
    import signal
    import socket

    url, queue, exchange = stream
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": ROOT, "GOVBOT_ENV": "development", "RABBITMQ_URL": url,
           "STATS_PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'stats.db'}",
           "METRICS_TOKEN": "m" * 32}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.stats.consumer", "--queue", queue, "--exchange", exchange,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 15
            status = None
            while time.monotonic() < deadline and status != 200:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health/ready") as r:
                        status = r.status
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            assert status == 200
        await publish(url, queue, exchange, conversation("rest:cli", TURN))
        store = StatsStore.open(f"sqlite:///{tmp_path / 'stats.db'}")
        await until(lambda: totals(store)[0] == 1)
    finally:
        process.send_signal(signal.SIGTERM)
        stderr = await asyncio.wait_for(process.stderr.read(), 10)
        assert await asyncio.wait_for(process.wait(), 10) == 0, stderr.decode()[-2000:]
