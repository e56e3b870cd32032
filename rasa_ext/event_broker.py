"""Rasa's event stream to RabbitMQ, masked and without losing events (docs/events.md).

`MaskedPikaEventBroker` is Rasa's PikaEventBroker (endpoints: `event_broker`, written
by rasa_ext/endpoints.py when RABBITMQ_URL is set) with three changes:

- **Masked.** RabbitMQ keeps persistent messages on disk, so what is published is what
  the tracker store keeps at rest (rasa_ext/tracker_store.py `masked_copy`: user texts,
  parse data and entity values masked, MASKED_SLOTS masked) and more: every other string
  of the event (any slot's value, bot texts, metadata, entities) has ID and mobile
  numbers masked and six-character secrets blanked (bot.privacy.mask_personal). Only
  the sender id, the event's type and its timestamp are left as they are (the tracker
  keeps them so too).
- **Never in the turn's way.** `publish` (called by the tracker store while saving a
  turn) only masks, serialises and appends to a buffer; one background task publishes
  the buffer in order, persistent, to a durable exchange and queue, with publisher
  confirms, and drops a message from the buffer only when RabbitMQ confirmed it. Rasa
  starts without waiting for RabbitMQ (Rasa's broker tried 20 times, 5 s apart, and
  then refused to start).
- **Nothing lost while RabbitMQ restarts.** Rasa 3.6's broker kept failed events for a
  reconnect callback that published them again out of order and lost any whose
  publication failed without an exception; here a failed or unconfirmed publication is
  tried again (the same bytes, in order) until confirmed, while aio-pika's robust
  connection reconnects. A publication confirmed but whose confirmation was lost may
  arrive twice: the consumer counts an event once (bot/stats/store.py keys).

The buffer is memory: events published while RabbitMQ is down are lost if Rasa itself
stops before it is back (they are in the tracker store all the same). It holds at most
`max_buffered` events (the oldest dropped beyond, logged); `govbot_event_stream_buffered`
says how many wait.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
import uuid
from typing import Any, Deque, Dict, Optional, Text

import aio_pika
import aiormq
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig

from bot import metrics, settings
from bot.privacy import mask_personal
from bot.stats import EXCHANGE, QUEUE, QUEUE_ARGUMENTS, robust_url
from rasa_ext.tracker_store import masked_copy

logger = logging.getLogger(__name__)

#: Keys whose values are left as they are (not citizens' data, needed to count).
_KEPT = frozenset({"sender_id", "event", "timestamp"})

#: Events published together in one message at most. One message per event, each waiting
#: for its confirmation, fell 11,000-13,000 events behind a Rasa instance at capacity
#: (make bench CLUSTER=1): the confirmation's round trip waits for the event loop, which
#: a loaded Rasa keeps busy with turns.
MAX_BATCH = 200


def batch_body(bodies: "list[bytes]") -> bytes:
    """One serialised event as it is (a JSON object); several as a JSON array of them,
    in order (bot/stats/consumer.py reads both)."""
    if len(bodies) == 1:
        return bodies[0]
    return b"[" + b",".join(bodies) + b"]"


_buffered = metrics.gauge("govbot_event_stream_buffered",
                          "Events waiting in Rasa's process to be published to RabbitMQ")
_published = metrics.counter("govbot_event_stream_published_total",
                             "Events RabbitMQ confirmed")
_failures = metrics.counter("govbot_event_stream_publish_failures_total",
                            "Publications RabbitMQ did not confirm (tried again)")
_dropped = metrics.counter("govbot_event_stream_dropped_total",
                           "Events dropped: the buffer was full or the event unreadable")


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def stream_copy(event: Dict[str, Any]) -> Dict[str, Any]:
    """The event as it may be kept on RabbitMQ's disk (see the module's doc)."""
    data = masked_copy(event)
    return {k: (v if k in _KEPT else _masked(v)) for k, v in data.items()}


class _NotTaken(Exception):
    """RabbitMQ did not confirm a message (returned: no queue took it, or nacked)."""


class MaskedPikaEventBroker(PikaEventBroker):
    """Rasa's Pika broker, masked, buffered and confirmed (module doc)."""

    def __init__(
        self,
        host: Optional[Text] = None,
        username: Text = "",
        password: Text = "",
        *,
        amqp_url: Optional[str] = None,
        queues: Any = (QUEUE,),
        exchange_name: Text = EXCHANGE,
        durable: bool = True,
        max_buffered: int = 100_000,
        max_batch: int = MAX_BATCH,
        publish_timeout: float = 5.0,
        reconnect_interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        if not durable:
            raise ValueError("the event stream's queue is durable (docs/events.md)")
        url = amqp_url or (host if host and host.startswith("amqp") else None) \
            or settings.rabbitmq_url()
        if not url:
            raise ValueError("event broker: RABBITMQ_URL is not set")
        super().__init__(url, username, password, queues=list(queues),
                         exchange_name=exchange_name, should_keep_unpublished_messages=False,
                         raise_on_failure=False, **kwargs)
        self.amqp_url = url
        self.max_buffered = int(max_buffered)
        self.max_batch = max(1, int(max_batch))
        #: Events at the buffer's head in the publication being confirmed.
        self._in_flight = 0
        self.publish_timeout = float(publish_timeout)
        self.reconnect_interval = float(reconnect_interval)
        self._pending: Deque[bytes] = collections.deque()
        self._wakeup = asyncio.Event()
        self._tasks: list = []
        self._closing = False
        self._failing = False
        #: Publications that failed and were tried again, in this broker's life.
        self.publish_failures = 0

    def __repr__(self) -> str:  # the URL holds a credential
        return f"<{type(self).__name__} queues={list(self.queues)}>"

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: Optional[EndpointConfig],
        event_loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> Optional["MaskedPikaEventBroker"]:
        """The broker, connecting in the background: Rasa starts whether RabbitMQ is
        up or not, and events wait in the buffer until it is."""
        if broker_config is None:
            return None
        broker = cls(broker_config.url, **broker_config.kwargs, event_loop=event_loop)
        broker.start()
        return broker

    def start(self) -> None:
        """Starts connecting and publishing (background tasks of the running loop)."""
        if not self._tasks:
            self._tasks = [self._loop.create_task(self._connect_forever()),
                           self._loop.create_task(self._publish_forever())]

    # -- connecting ---------------------------------------------------------------

    async def _connect(self) -> aio_pika.abc.AbstractRobustConnection:
        return await aio_pika.connect_robust(robust_url(self.amqp_url, self.reconnect_interval))

    async def _connect_forever(self) -> None:
        while not self._closing:
            try:
                await self.connect()
                self._wakeup.set()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - RabbitMQ not up yet: try again
                logger.warning("event stream: RabbitMQ not reachable (%s); events wait in "
                               "memory (%d)", type(exc).__name__, len(self._pending))
                await asyncio.sleep(self.reconnect_interval)

    async def connect(self) -> None:
        """Connects, declares the durable exchange and queues (bot.stats: the consumer
        declares them identically) and opens a channel with publisher confirms."""
        connection = await self._connect()
        try:
            channel = await connection.channel(publisher_confirms=True)
            self._exchange = await self._set_up_exchange(channel)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        logger.info("event stream: connected to RabbitMQ, publishing to %s", list(self.queues))

    async def _set_up_exchange(self, channel: aio_pika.abc.AbstractChannel) -> Any:
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.FANOUT, durable=True)
        for name in self.queues:
            queue = await channel.declare_queue(name, durable=True,
                                                arguments=dict(QUEUE_ARGUMENTS))
            await queue.bind(exchange, "")
        return exchange

    def is_ready(self) -> bool:
        connection = self._connection
        return (connection is not None and not connection.is_closed
                and connection.connected.is_set())

    # -- publishing ---------------------------------------------------------------

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        """Masks the event and queues it for publishing; never waits, never raises."""
        try:
            body = json.dumps(stream_copy(event), ensure_ascii=False).encode("utf-8")
        except Exception:  # noqa: BLE001 - an unreadable event must not fail the turn
            _dropped.inc()
            logger.exception("event stream: an event could not be serialised; dropped")
            return
        if len(self._pending) >= self.max_buffered:
            _dropped.inc()
            if len(self._pending) <= self._in_flight:  # all of them in one publication
                logger.error("event stream: %d events wait for RabbitMQ; this one was dropped",
                             self.max_buffered)
                return
            del self._pending[self._in_flight]  # the oldest not being published
            logger.error("event stream: %d events wait for RabbitMQ; the oldest was dropped",
                         self.max_buffered)
        self._pending.append(body)
        _buffered.set(len(self._pending))
        self._wakeup.set()

    def _message(self, body: bytes) -> aio_pika.Message:  # type: ignore[override]
        # (one event as a JSON object, several as a JSON array: batch_body)
        return aio_pika.Message(
            body, content_type="application/json", app_id=self.rasa_environment,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, timestamp=time.time(),
            # With an id, a message no queue took comes back as such (aiormq), not as a
            # silent confirmation.
            message_id=uuid.uuid4().hex)

    async def _publish_forever(self) -> None:
        """Publishes the buffer in order, the events waiting at its head together in one
        message (up to max_batch); they leave the buffer only when RabbitMQ confirmed it."""
        while True:
            if not self._pending or self._exchange is None:
                self._wakeup.clear()
                if self._closing and not self._pending:
                    return
                await self._wakeup.wait()
                continue
            self._in_flight = min(len(self._pending), self.max_batch)
            body = batch_body([self._pending[i] for i in range(self._in_flight)])
            try:
                confirmation = await self._exchange.publish(
                    self._message(body), "", timeout=self.publish_timeout)
                if not isinstance(confirmation, aiormq.spec.Basic.Ack):
                    raise _NotTaken(type(confirmation).__name__)
            except asyncio.CancelledError:
                self._in_flight = 0
                raise
            except Exception as exc:  # noqa: BLE001 - RabbitMQ away: the same events again
                self._in_flight = 0
                if not self._failing:
                    logger.warning("event stream: publishing failed (%s); %d events wait and "
                                   "are published in order when RabbitMQ is back",
                                   type(exc).__name__, len(self._pending))
                self._failing = True
                self.publish_failures += 1
                _failures.inc()
                await asyncio.sleep(min(1.0, self.reconnect_interval))
                if isinstance(exc, _NotTaken) and self.is_ready():
                    await self._declare_again()  # a queue was deleted under us
                continue
            for _ in range(self._in_flight):
                self._pending.popleft()
            _published.inc(self._in_flight)
            self._in_flight = 0
            _buffered.set(len(self._pending))
            if self._failing:
                logger.info("event stream: publishing again")
                self._failing = False

    async def _declare_again(self) -> None:
        """The exchange, queues and bindings declared again on a new channel (the
        connection is up but no queue took a message)."""
        try:
            channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._set_up_exchange(channel)
        except Exception as exc:  # noqa: BLE001 - the next failure tries again
            logger.warning("event stream: declaring the queues again failed (%s)",
                           type(exc).__name__)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Waits until the buffer is published (True) or `timeout` passed (False)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return not self._pending

    async def close(self, timeout: float = 5.0) -> None:
        """Publishes what waits (up to `timeout` seconds), then closes."""
        self._closing = True
        self._wakeup.set()
        if not await self.flush(timeout):
            logger.error("event stream: %d events not published at shutdown (they stay in "
                         "the tracker store)", len(self._pending))
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
