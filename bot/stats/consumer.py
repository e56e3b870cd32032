"""The statistics consumer: `python -m bot.stats.consumer` (docs/events.md).

Reads Rasa's event stream from RabbitMQ (RABBITMQ_URL; the queue `govbot.stats`,
declared exactly as Rasa's broker declares it) and keeps the supervisors' counters in
the desk's database (bot/stats/store.py). Messages come in order (one active consumer,
bot.stats.QUEUE_ARGUMENTS) and are handled in order, in batches: a batch's counts are
committed in one transaction and only then are its messages acknowledged. A consumer
that dies between the two gets the batch again and the events' keys make it count
nothing twice; a database that is down holds the batch (unacknowledged, retried) until
it is back. RabbitMQ down: aio-pika's robust connection reconnects and resumes.

It also serves, on BIND_HOST (loopback by default):$STATS_PORT (8790),
`GET /health/live`, `GET /health/ready` (connected to RabbitMQ and the database answers)
and `GET /metrics` (METRICS_TOKEN; bot/metrics.py).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import time
from typing import Any, Dict, List, Optional, Tuple

import aio_pika
import sqlalchemy as sa
from aiohttp import web

from bot import metrics, settings
from bot.stats import EXCHANGE, QUEUE, QUEUE_ARGUMENTS, robust_url, stream_names
from bot.stats.store import StatsStore

logger = logging.getLogger(__name__)

#: Messages RabbitMQ hands out before the first is acknowledged, and the largest batch.
PREFETCH = 500
BATCH = 200
#: Seconds between two tries while the database is down, and between prunes.
RETRY_SECONDS = 1.0
PRUNE_SECONDS = 3600.0
#: Seconds an acknowledgement may take (a connection being lost can hold it forever).
ACK_TIMEOUT = 2.0
#: Seconds the readiness check waits for the database.
READY_TIMEOUT = 2.0

_events = metrics.counter("govbot_stats_events_total",
                          "Stream events the statistics consumer counted (duplicates excluded)")
_duplicates = metrics.counter("govbot_stats_duplicate_events_total",
                              "Stream events delivered again and counted once")
_rejected = metrics.counter("govbot_stats_rejected_events_total",
                            "Stream messages that were no event (logged and dropped)")
_lag = metrics.gauge("govbot_stats_lag_seconds",
                     "Seconds between the newest counted event and its counting")


class StatsConsumer:
    """Consumes one queue into a StatsStore; `start`, then `stop`."""

    def __init__(self, url: str, store: StatsStore, *, queue: str = QUEUE,
                 exchange: str = EXCHANGE, prefetch: int = PREFETCH, batch: int = BATCH,
                 reconnect_interval: float = 2.0) -> None:
        self.url = url
        self.store = store
        self.queue_name = queue
        self.exchange_name = exchange
        self.prefetch = prefetch
        self.batch = batch
        self.reconnect_interval = reconnect_interval
        self.connection: Optional[aio_pika.abc.AbstractRobustConnection] = None
        self._inbox: "asyncio.Queue[aio_pika.abc.AbstractIncomingMessage]" = asyncio.Queue()
        self._worker: Optional["asyncio.Task[None]"] = None
        self._stopping = asyncio.Event()
        #: False while the database fails (the readiness check says so).
        self.database_ok = True
        #: Events whose counts are committed (acknowledged or not); for tests.
        self.handled = 0

    # -- connection -----------------------------------------------------------------

    async def start(self) -> None:
        """Connects (retrying until RabbitMQ answers), declares the exchange and queue
        as the broker does, and starts consuming."""
        while not self._stopping.is_set():
            try:
                self.connection = await aio_pika.connect_robust(
                    robust_url(self.url, self.reconnect_interval))
                break
            except Exception as exc:  # noqa: BLE001 - RabbitMQ not up yet: try again
                logger.warning("stats: RabbitMQ not reachable (%s); retrying",
                               type(exc).__name__)
                await asyncio.sleep(self.reconnect_interval)
        if self.connection is None:
            return
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.FANOUT, durable=True)
        queue = await channel.declare_queue(
            self.queue_name, durable=True, arguments=dict(QUEUE_ARGUMENTS))
        await queue.bind(exchange, "")
        await queue.consume(self._received)
        self._worker = asyncio.create_task(self._work())
        logger.info("stats: consuming %s", self.queue_name)

    @property
    def connected(self) -> bool:
        connection = self.connection
        return (connection is not None and not connection.is_closed
                and connection.connected.is_set())

    async def stop(self) -> None:
        self._stopping.set()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()

    async def _received(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await self._inbox.put(message)  # handled in order by one worker

    # -- counting -------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < self.batch and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            await self._handle(batch)

    async def _handle(self, batch: List[aio_pika.abc.AbstractIncomingMessage]) -> None:
        events: List[Dict[str, Any]] = []
        for message in batch:
            found, rejected = events_of(message.body)
            events.extend(found)
            if rejected:
                _rejected.inc(rejected)
                logger.error("stats: %d parts of a message that are no event were dropped "
                             "(%d bytes)", rejected, len(message.body))
        new = await self._commit(events)
        self.handled += len(events)
        _events.inc(new)
        _duplicates.inc(max(0, len(events) - new))
        stamps = [float(e.get("timestamp") or 0) for e in events if e.get("timestamp")]
        if stamps:
            _lag.set(max(0.0, time.time() - max(stamps)))
        lost = 0
        for message in batch:  # only now: the counts are committed
            if message.channel.is_closed:  # delivered before a reconnect: it comes again
                lost += 1
                continue
            try:
                await asyncio.wait_for(message.ack(), ACK_TIMEOUT)
            except Exception:  # noqa: BLE001 - channel gone: redelivered, counted once
                lost += 1
        if lost:
            logger.info("stats: %d messages not acknowledged (connection lost); they come "
                        "again and are recognised", lost)

    async def _commit(self, events: List[Dict[str, Any]]) -> int:
        """Commits the batch's counts, waiting out a database that is down. An event
        that breaks counting itself (not the database) is logged and skipped, so one bad
        event cannot stop the stream."""
        failing = False
        while True:
            try:
                new = await asyncio.to_thread(self.store.apply, events)
                self.database_ok = True
                return new
            except sa.exc.DBAPIError:
                if not failing:
                    logger.exception("stats: the database failed; retrying the batch")
                failing, self.database_ok = True, False
                await asyncio.sleep(RETRY_SECONDS)
            except Exception:  # noqa: BLE001 - an event counting cannot read
                if len(events) == 1:
                    logger.exception("stats: an event could not be counted; skipped")
                    _rejected.inc()
                    return 0
                new = 0
                for event in events:
                    new += await self._commit([event])
                return new

    # -- health ---------------------------------------------------------------------

    async def not_ready(self) -> Optional[str]:
        """Why the consumer cannot count now (None: it can)."""
        if not self.connected:
            return "not connected to RabbitMQ"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.ping), READY_TIMEOUT)
        except Exception:  # noqa: BLE001 - any failure: not ready
            return "database unavailable"
        if not self.database_ok:
            return "database unavailable"
        return None


def events_of(body: bytes) -> Tuple[List[Dict[str, Any]], int]:
    """The events of a message, in order, and how many of its parts were no event: a
    message holds one event (a JSON object) or several (a JSON array: Rasa's broker
    publishes what waits together, rasa_ext/event_broker.py)."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return [], 1
    parts = parsed if isinstance(parsed, list) else [parsed]
    events = [p for p in parts if isinstance(p, dict) and p.get("event")]
    rejected = (len(parts) - len(events)) if parts else 1  # an empty array is no event
    return events, rejected


def health_app(consumer: StatsConsumer, token: Optional[str] = None) -> web.Application:
    """/health/live, /health/ready and /metrics (bot/metrics.py)."""
    app = web.Application()
    metrics.add_aiohttp_routes(app, consumer.not_ready, token=token)
    return app


async def _prune_forever(store: StatsStore, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            keys, idle = await asyncio.to_thread(store.prune)
            if keys or idle:
                logger.info("stats: pruned %d event keys, %d idle conversations", keys, idle)
        except Exception:  # noqa: BLE001 - next time
            logger.exception("stats: pruning failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), PRUNE_SECONDS)


async def serve(url: str, database_url: str, host: str, port: int,
                queue: str = QUEUE, exchange: str = EXCHANGE) -> None:
    """Runs the consumer and its health endpoints until SIGINT or SIGTERM."""
    store = await asyncio.to_thread(StatsStore.open, database_url)
    consumer = StatsConsumer(url, store, queue=queue, exchange=exchange)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(health_app(consumer), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("stats: health and metrics on http://%s:%d", host, port)
    starting = asyncio.create_task(consumer.start())
    pruning = asyncio.create_task(_prune_forever(store, stop))
    try:
        await stop.wait()
    finally:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
        await consumer.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning
        await runner.cleanup()


def main(argv: Optional[List[str]] = None) -> int:
    from bot.logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m bot.stats.consumer",
                                     description="Counts Rasa's event stream for the desk.")
    exchange, queue = stream_names(settings.load().event_stream)
    parser.add_argument("--queue", default=queue)
    parser.add_argument("--exchange", default=exchange)
    args = parser.parse_args(argv)
    configure_logging("stats")
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
    url = settings.rabbitmq_url()
    if not url:
        raise SystemExit("RABBITMQ_URL is not set: there is no event stream to count "
                         "(the desk counts from the tracker then)")
    cfg = settings.load()
    settings.metrics_token()  # production refuses to start without one
    asyncio.run(serve(url, cfg.database_url, settings.bind_host(), cfg.stats_port,
                      args.queue, args.exchange))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
