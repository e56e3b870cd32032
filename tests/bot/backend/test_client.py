"""bot/backend/client.py against a real backend on a loopback port (SQLite): every
endpoint, distinct errors, one retry for GETs, deadlines, and the circuit breaker."""
from __future__ import annotations

import asyncio
import time

import pytest

from standins.gov_backend import seed as demo
from standins.gov_backend.state import DELAY, SETTINGS
from bot.backend.client import (
    BackendClient,
    BackendError,
    BackendUnavailable,
    BadRequest,
    CircuitOpen,
    InMemoryCircuitBreaker,
    NotFound,
    RateLimited,
    Unauthorized,
)
from tests.fixtures.gov_backend import TOKEN, free_port, start_server

APP = "SH20261105000123"  # 刘洋 510107199502140515, 13810000004


@pytest.fixture
async def client(sqlite_backend):
    async with BackendClient(sqlite_backend.url, TOKEN, timeout=2.0) as client:
        yield client


async def test_every_endpoint(client, sqlite_backend):
    from standins.gov_backend.sms import last_code

    assert (await client.health())["status"] == "ok"
    application = await client.get_application(APP)
    assert application["status"] == "awaiting_pickup" and application["history"]
    assert [a["number"] for a in await client.person_applications(demo.LIU_YANG)] == [
        "SH20261121000555", APP,
    ]
    verdict = await client.check_identity(APP, "140515")
    assert verdict["match"] is True and verdict["phone_masked"] == "138****0004"
    assert await client.check_identity(APP, "000000") == {
        "match": False, "phone_masked": None, "person_id": None}
    assert [a["number"] for a in await client.verified_applications(verdict["person_id"])] == [
        "SH20261121000555", APP,
    ]
    assert await client.send_sms("verification_code", {"code": "975310"},
                                 person_id=verdict["person_id"])
    assert last_code(sqlite_backend.engine, "13810000004") == "975310"
    message_id = await client.send_sms("verification_code", {"code": "135790"}, application_number=APP)
    assert message_id.startswith("sms-") and last_code(sqlite_backend.engine, "13810000004") == "135790"
    assert await client.send_sms("verification_code", {"code": "2468"}, phone="13810000001")
    assert (await client.get_enterprise(demo.PUJIANG))["name"] == "上海浦江云智科技有限公司"
    assert [e["name"] for e in await client.person_enterprises(demo.WANG_FANG)] == ["上海老弄堂餐饮管理有限公司"]
    licences = await client.licences(demo.ZHANG_WEI)
    assert {"居民身份证", "结婚证", "不动产权证书"} <= {x["licence_type"] for x in licences}
    assert [x["licence_type"] for x in await client.licences(demo.ZHANG_WEI, "结婚证")] == ["结婚证"]
    assert await client.breaker.state() == "closed"
    session = client._session
    await client.get_application(APP)
    assert client._session is session  # one session for all calls
    assert client.stats["failures"] == 0 and client.stats["retries"] == 0


async def test_answers_map_to_distinct_errors_and_never_open_the_breaker(client, sqlite_backend):
    with pytest.raises(NotFound):
        await client.get_application("SH20261105999999")
    with pytest.raises(NotFound):
        await client.person_applications(demo.make_id_number("310101", "20000101", "001"))
    with pytest.raises(BadRequest) as bad:
        await client.get_application("SH123")
    assert bad.value.status == 400 and bad.value.code == "invalid_field" and " / " in str(bad.value)
    for odd in ("../../healthz", "a/b", "办件", "SH2026?x=1", "%2e%2e", " "):
        with pytest.raises((BadRequest, NotFound)):
            await client.get_application(odd)
    with pytest.raises(BadRequest):
        await client.check_identity(APP, "12")
    with pytest.raises(BadRequest):
        await client.send_sms("free_text", {"text": "hello"}, phone="13810000001")
    for _ in range(5):
        await client.check_identity("SH20261124000045", "000000")
    with pytest.raises(RateLimited) as limited:
        await client.check_identity("SH20261124000045", "30028X")
    assert limited.value.retry_after == 900
    async with BackendClient(sqlite_backend.url, "wrong-token") as wrong:
        with pytest.raises(Unauthorized):
            await wrong.get_application(APP)
    assert await client.breaker.state() == "closed"
    assert not issubclass(NotFound, BackendUnavailable) and issubclass(CircuitOpen, BackendUnavailable)
    assert all(issubclass(e, BackendError) for e in (NotFound, BadRequest, Unauthorized, RateLimited))


#: Hang guard for calls that must end long before their timeout: generous on a busy
#: machine, far below the 30 s timeout of the test that uses it.
HANG_GUARD = 10.0


async def test_get_is_retried_once_on_a_port_with_nothing_listening():
    """A refused connection is an answer: the call fails with reason 'connection' (a GET
    after one retry, a POST after none), not with 'timeout' after waiting out its 30 s."""
    async with BackendClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=30.0) as client:
        with pytest.raises(BackendUnavailable) as error:
            await asyncio.wait_for(client.get_application(APP), HANG_GUARD)
        assert error.value.reason == "connection"
        assert client.stats["retries"] == 1
        with pytest.raises(BackendUnavailable) as error:
            await asyncio.wait_for(client.check_identity(APP, "140515"), HANG_GUARD)  # POST
        assert error.value.reason == "connection"
        with pytest.raises(BackendUnavailable) as error:
            await asyncio.wait_for(client.send_sms("verification_code", {"code": "1234"},
                                                   phone="13810000001"), HANG_GUARD)
        assert error.value.reason == "connection"
        assert client.stats["retries"] == 1  # POSTs are never retried


async def test_get_succeeds_when_the_server_starts_after_the_first_attempt(tmp_path):
    from standins.gov_backend.app import create_app

    port = free_port()
    app = create_app(f"sqlite:///{tmp_path / 'late.db'}", [TOKEN], sms_outbox=tmp_path / "o.jsonl",
                     delay_ms=0)
    async with BackendClient(f"http://127.0.0.1:{port}", TOKEN, timeout=3.0, retry_delay=0.8) as client:
        call = asyncio.create_task(client.get_application(APP))
        deadline = time.monotonic() + 2
        while client.stats["retries"] == 0:  # the first attempt has failed
            assert time.monotonic() < deadline and not call.done()
            await asyncio.sleep(0.005)
        runner, _ = await start_server(app, port)
        try:
            application = await call
        finally:
            await runner.cleanup()
    assert application["number"] == APP and client.stats["failures"] == 0


async def test_deadline_against_a_slow_backend(make_backend, monkeypatch):
    monkeypatch.setenv("BACKEND_DELAY_MS", "800")
    backend = await make_backend(delay_ms=None)  # read from the environment
    assert backend.app[SETTINGS].delay_ms == backend.app[DELAY].ms == 800
    async with BackendClient(backend.url, TOKEN, timeout=0.25) as client:
        assert (await client.health())["status"] == "ok"  # the health check is not slowed
        for call in (client.get_application(APP), client.check_identity(APP, "140515")):
            # The answer would come after 0.8 s: a client that waited for it would get
            # it, one that gives up at its deadline raises.
            start = time.perf_counter()
            with pytest.raises(BackendUnavailable) as error:
                await call
            assert error.value.reason == "timeout"
            assert time.perf_counter() - start >= 0.2  # it did wait (about) its 0.25 s
        assert client.stats["retries"] == 0  # timeouts are not retried


async def test_never_hangs_on_a_server_that_accepts_and_says_nothing():
    async def silent(reader, writer):
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with BackendClient(f"http://127.0.0.1:{port}", TOKEN, timeout=0.3) as client:
            # a client that hung would be stopped by the guard, ten times its timeout
            # (asyncio.TimeoutError, not the client's BackendUnavailable)
            with pytest.raises(BackendUnavailable) as error:
                await asyncio.wait_for(client.get_application(APP), 10 * client.timeout)
            assert error.value.reason == "timeout"
    finally:
        server.close()
        await server.wait_closed()


async def test_breaker_opens_fails_fast_and_recovers_half_open(make_backend, monkeypatch):
    """The breaker's cool-down runs on a stand-in clock; what reaches the backend is
    counted, so 'fails fast' means: raised without a request."""
    backend = await make_backend(delay_ms=500)
    delay = backend.app[DELAY]
    now = [1000.0]
    breaker = InMemoryCircuitBreaker(failure_threshold=3, cooldown=30, clock=lambda: now[0])
    async with BackendClient(backend.url, TOKEN, timeout=0.1, breaker=breaker) as client:
        sent = []
        once = client._once

        async def counted(method, url, *args):
            sent.append(f"{method} {url.path}")
            return await once(method, url, *args)

        monkeypatch.setattr(client, "_once", counted)
        for _ in range(3):
            with pytest.raises(BackendUnavailable) as error:
                await client.get_application(APP)
            assert error.value.reason == "timeout"
        assert await client.breaker.state() == "open" and len(sent) == 3

        for call in (client.get_application(APP), client.check_identity(APP, "140515")):
            with pytest.raises(CircuitOpen):
                await call
        assert len(sent) == 3  # neither call was sent
        assert client.stats["rejected"] == 2

        now[0] += 30  # cool-down over: one trial, still slow → open again
        assert await client.breaker.state() == "half_open"
        with pytest.raises(BackendUnavailable) as error:
            await client.get_application(APP)
        assert error.value.reason == "timeout" and len(sent) == 4
        with pytest.raises(CircuitOpen):
            await client.get_application(APP)

        delay.ms = 0  # the backend recovers
        now[0] += 29
        with pytest.raises(CircuitOpen):
            await client.get_application(APP)  # still cooling down
        assert len(sent) == 4
        now[0] += 1
        assert (await client.get_application(APP))["number"] == APP  # the trial succeeds
        assert await client.breaker.state() == "closed"
        assert (await client.person_applications(demo.LIU_YANG))


async def test_breaker_counts_server_errors_not_client_errors(make_backend, monkeypatch):
    from standins.gov_backend import queries

    backend = await make_backend()
    async with BackendClient(backend.url, TOKEN, timeout=1.0, cooldown=30) as client:
        for _ in range(5):
            with pytest.raises(NotFound):
                await client.get_application("SH20261105999999")
        assert await client.breaker.state() == "closed"

        def broken(engine, number):
            raise RuntimeError("boom")

        monkeypatch.setattr(queries, "application", broken)
        for _ in range(2):
            with pytest.raises(BackendUnavailable) as error:
                await client.get_application(APP)
            assert error.value.reason == "server_error" and error.value.status == 500
        with pytest.raises(NotFound):  # a working answer resets the count
            await client.person_applications(demo.make_id_number("310101", "20000101", "001"))
        for _ in range(3):
            with pytest.raises(BackendUnavailable):
                await client.get_application(APP)
        assert await client.breaker.state() == "open"
        with pytest.raises(CircuitOpen):
            await client.licences(demo.LI_NA)


async def test_a_cancelled_trial_call_frees_the_half_open_slot(make_backend):
    backend = await make_backend(delay_ms=3000)
    async with BackendClient(backend.url, TOKEN, timeout=2.0, cooldown=0.2) as client:
        for _ in range(3):
            await client.breaker.record_failure()
        assert await client.breaker.state() == "open"
        await asyncio.sleep(0.25)
        trial = asyncio.create_task(client.get_application(APP))
        await asyncio.sleep(0.05)
        with pytest.raises(CircuitOpen):  # only one trial at a time
            await client.get_application(APP)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial
        backend.app[DELAY].ms = 0
        assert (await client.get_application(APP))["number"] == APP  # the next trial goes
        assert await client.breaker.state() == "closed"


async def test_in_memory_breaker_state_machine():
    now = [100.0]
    breaker = InMemoryCircuitBreaker(failure_threshold=3, cooldown=30, clock=lambda: now[0])
    for _ in range(2):
        await breaker.acquire()
        await breaker.record_failure()
    await breaker.record_success()  # resets the consecutive count
    for _ in range(3):
        await breaker.acquire()
        await breaker.record_failure()
    assert await breaker.state() == "open"
    with pytest.raises(CircuitOpen):
        await breaker.acquire()
    now[0] += 29.9
    with pytest.raises(CircuitOpen):
        await breaker.acquire()
    now[0] += 0.2
    assert await breaker.state() == "half_open"
    await breaker.acquire()  # the trial
    with pytest.raises(CircuitOpen):
        await breaker.acquire()  # nobody else meanwhile
    await breaker.record_failure()
    assert await breaker.state() == "open"
    now[0] += 30
    await breaker.acquire()
    await breaker.record_success()
    assert await breaker.state() == "closed"
    await breaker.acquire()
    # a trial that never reports (lost task) does not block the breaker forever
    for _ in range(3):
        await breaker.record_failure()
    now[0] += 30
    await breaker.acquire()
    now[0] += 31
    await breaker.acquire()
    with pytest.raises(ValueError):
        InMemoryCircuitBreaker(failure_threshold=0)


def test_client_from_environment(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", "http://backend.internal:9000/")
    monkeypatch.delenv("BACKEND_SERVICE_TOKEN", raising=False)
    monkeypatch.setenv("BACKEND_SERVICE_TOKENS", " first-token , second")
    monkeypatch.setenv("BACKEND_TIMEOUT", "1.5")
    client = BackendClient.from_env()
    assert client.base_url == "http://backend.internal:9000"
    assert client.token == "first-token" and client.timeout == 1.5
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", "own-token")
    assert BackendClient.from_env().token == "own-token"
