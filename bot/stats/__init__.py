"""The supervisors' statistics from Rasa's event stream (docs/events.md).

Rasa publishes every new event of a conversation, masked, to a RabbitMQ fanout exchange
(rasa_ext/event_broker.py) bound to a durable queue; `python -m bot.stats.consumer` reads
that queue, cuts the events into user turns as the review's capture does
(bot/review/capture.py) and adds each turn to the day's counters in the desk's database
(`store.py`), acknowledging a message only after its counts are committed. With
RABBITMQ_URL set the desk reads its counters from here; without it (`make run`) the
desk's capture counts from the tracker's events table as before.

Nothing here imports Rasa: the broker (Rasa's process) and the consumer agree only on
the names and the queue's declaration below, which both declare identically (RabbitMQ
refuses a second declaration with other arguments).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

#: The fanout exchange Rasa's broker publishes to (durable: it survives a RabbitMQ restart).
EXCHANGE = "govbot.events"
#: The statistics consumer's queue: durable, its messages persistent.
QUEUE = "govbot.stats"
#: One consumer at a time reads the queue (another started beside it waits as a standby):
#: a turn is counted from its events in order, which several consumers would interleave.
QUEUE_ARGUMENTS: Dict[str, Any] = {"x-single-active-consumer": True}


def stream_names(name: str) -> Tuple[str, str]:
    """(exchange, queue) of the stream called `name` (settings EVENT_STREAM); "govbot"
    gives EXCHANGE and QUEUE."""
    return f"{name}.events", f"{name}.stats"


def robust_url(url: str, reconnect_interval: float) -> str:
    """The URL with aio-pika's reconnect interval (aio-pika reads it only from the URL's
    query when given a URL; its keyword is ignored then); a value the URL sets stays."""
    from yarl import URL

    parsed = URL(url)
    if "reconnect_interval" in parsed.query:
        return url
    return str(parsed.update_query(reconnect_interval=str(reconnect_interval)))


async def delete_stream(url: str, name: str) -> None:
    """Deletes the stream's queue and exchange (a test's or a bench run's own stream,
    never the deployment's: what the queue holds is lost)."""
    exchange, queue = stream_names(name)
    await delete_queue_and_exchange(url, queue, exchange)


async def delete_queue_and_exchange(url: str, queue: str, exchange: str) -> None:
    """Deletes a queue and an exchange (nothing happens to either when it is missing)."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


async def backlog(url: str, name: str) -> int:
    """Messages waiting in the stream's queue, not yet taken by the stats consumer
    (a passive declaration: it creates nothing)."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(stream_names(name)[1], passive=True)
        return int(queue.declaration_result.message_count or 0)
