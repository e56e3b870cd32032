"""RabbitMQ for the event-stream tests: this machine's (RABBITMQ_URL, else guest on
127.0.0.1:5672). Unreachable: the tests skip, except with CI=true, where they fail (CI
has RabbitMQ; a skip there would hide a broken stream)."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest

URL = os.environ.get("RABBITMQ_URL", "").strip() or "amqp://guest:guest@127.0.0.1:5672/%2F"


def reachable(url: str = URL) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 1.0):
            return True
    except OSError:
        return False


def require_rabbitmq() -> str:
    if not reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ is not reachable at {urlsplit(URL).hostname}:"
                        f"{urlsplit(URL).port or 5672} (CI=true: it must be)")
        pytest.skip("RabbitMQ is not reachable (start it: rabbitmq-server -detached)")
    return URL


def names() -> tuple:
    """A queue and an exchange of the test's own, so tests never share messages."""
    tag = uuid.uuid4().hex[:10]
    return f"test.stats.{tag}", f"test.events.{tag}"


async def delete(url: str, queue: str, exchange: str) -> None:
    from bot.stats import delete_queue_and_exchange

    await delete_queue_and_exchange(url, queue, exchange)


async def raw_messages(url: str, queue: str, count: int, timeout: float = 5.0) -> list:
    """Up to `count` message bodies read from the queue and put back (not acknowledged)."""
    import aio_pika

    bodies = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        q = await channel.get_queue(queue, ensure=False)
        deadline = asyncio.get_running_loop().time() + timeout
        messages = []
        while len(bodies) < count and asyncio.get_running_loop().time() < deadline:
            message = await q.get(no_ack=False, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            messages.append(message)
            bodies.append(message.body)
        for message in messages:
            await message.nack(requeue=True)
    return bodies


def local_rabbitmqctl() -> bool:
    """The RabbitMQ under test is this machine's own service, which the test may stop
    and start (`rabbitmqctl stop_app` / `start_app`)."""
    host = urlsplit(URL).hostname or ""
    return shutil.which("rabbitmqctl") is not None and host in ("127.0.0.1", "localhost")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


async def restart_briefly() -> None:
    """This machine's RabbitMQ stopped and started again, half a second apart."""
    await asyncio.to_thread(rabbitmqctl, "stop_app")
    await asyncio.sleep(0.5)
    await asyncio.to_thread(rabbitmqctl, "start_app")


@pytest.fixture
async def stream():
    """(url, queue, exchange) of this test; the queue and exchange deleted afterwards."""
    url = require_rabbitmq()
    queue, exchange = names()
    yield url, queue, exchange
    await delete(url, queue, exchange)
