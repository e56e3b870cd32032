"""The production topology on one machine (`make run-cluster`, scripts/run-cluster.sh):
two Rasa and two action servers behind Debian's nginx, sharing PostgreSQL, Redis and
RabbitMQ. What a citizen must not notice: which instance takes a turn, two turns sent at
once, an agent writing through another instance than the citizen's socket, an instance
killed mid-conversation (docs/cluster.md).

Needs the machine's PostgreSQL, Redis and RabbitMQ (CI has them); it gets a database, a
Redis database and a stats queue of its own.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

from bot.handoff.accounts import DEV_ACCOUNTS
from connectors.widget.session import session_of
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_widget_socket import Tab
from tests.stack import (CREDENTIALS, ROOT, _OFFSET, _get, rasa_headers, start_assistant,
                         stop_assistant)

pytestmark = pytest.mark.slow

PORTS = {name: port + _OFFSET for name, port in {
    "RASA_PORT": 15105, "ACTION_PORT": 15155, "WEB_PORT": 18810, "BACKEND_PORT": 18710,
    "EDGE_PORT": 18080, "RASA_INTERNAL_PORT": 15104, "ACTION_INTERNAL_PORT": 15154,
    "STATS_PORT": 18790}.items()}
RASA_A = f"http://127.0.0.1:{PORTS['RASA_PORT']}"
RASA_B = f"http://127.0.0.1:{PORTS['RASA_PORT'] + 1}"
ACTIONS = [PORTS["ACTION_PORT"], PORTS["ACTION_PORT"] + 1]
EDGE = f"http://127.0.0.1:{PORTS['EDGE_PORT']}"
INSIDE = f"http://127.0.0.1:{PORTS['RASA_INTERNAL_PORT']}"  # the balancer over Rasa
TIMEOUT = 60


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def _services() -> dict:
    """The machine's services for the cluster, each with a part of its own; fails (CI) or
    skips (a laptop without them) when one is missing."""
    database = os.environ.get("DATABASE_URL", "").strip()
    redis_url = os.environ.get("REDIS_URL", "").strip()
    rabbitmq = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    missing = [name for name, url, default in (
        ("PostgreSQL (DATABASE_URL)", database, 5432), ("Redis (REDIS_URL)", redis_url, 6379),
        ("RabbitMQ", rabbitmq, 5672))
        if not url or not _reachable(urlparse(url).hostname or "127.0.0.1",
                                      urlparse(url).port or default)]
    if database and not database.startswith("postgres"):
        missing.append("PostgreSQL (DATABASE_URL is not PostgreSQL)")
    if missing:
        message = "the cluster needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")
    url = urlparse(database)
    cluster_db = f"govbot_cluster_{_OFFSET}"
    admin = urlunparse(url._replace(path="/postgres"))
    for sql in (f'DROP DATABASE IF EXISTS "{cluster_db}" WITH (FORCE)',
                f'CREATE DATABASE "{cluster_db}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    redis = urlunparse(urlparse(redis_url)._replace(path=f"/{7 - (_OFFSET // 1000) % 8}"))
    import redis as redis_client

    client = redis_client.Redis.from_url(redis)
    client.flushdb()
    client.close()
    return {"DATABASE_URL": urlunparse(url._replace(path=f"/{cluster_db}")),
            "REDIS_URL": redis, "RABBITMQ_URL": rabbitmq,
            # an exchange and a queue of its own on the machine's RabbitMQ
            "EVENT_STREAM": f"govbot-test-{uuid.uuid4().hex[:8]}"}


def _ready() -> bool:
    try:
        for rasa in (RASA_A, RASA_B):  # a model, and the conversations in PostgreSQL
            _get(rasa + "/health/ready")
        for port in ACTIONS:
            _get(f"http://127.0.0.1:{port}/health")
        _get(f"http://127.0.0.1:{PORTS['STATS_PORT']}/health/ready")
        _get(EDGE + "/")  # the portal through the edge
        _get(INSIDE + "/", headers=rasa_headers())
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not (ROOT / "models" / "govbot.tar.gz").exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    services = _services()
    var = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, **{k: str(v) for k, v in PORTS.items()}, **CREDENTIALS, **services,
           "BOT_VAR_DIR": str(var), "GOVBOT_ENV": "development", "RASA_INSTANCES": "2",
           "ACTION_INSTANCES": "2", "HANDOFF_ACCEPT_TIMEOUT": "30",
           "REVIEWED_DATA_DIR": str(var / "reviewed"),
           "REVIEWED_ALIASES_FILE": str(var / "reviewed_aliases.yml"),
           # The widget's socket goes to instance A, the desk's calls to Rasa to instance B:
           # an agent's message must cross instances to reach the citizen.
           "RASA_PUBLIC_URL": RASA_A, "RASA_URL": RASA_B}
    env.pop("BOT_DATABASE_URL", None)
    env.pop("TRACKER_DATABASE_URL", None)
    process = start_assistant(var, env, _ready, script="scripts/run-cluster.sh", timeout=420)
    yield {"var": var, "env": env, "process": process,
           "WEB_PORT": f"http://127.0.0.1:{PORTS['WEB_PORT']}"}
    stop_assistant(process)
    _delete_stream(services["RABBITMQ_URL"], services["EVENT_STREAM"])


def _delete_stream(url: str, name: str) -> None:
    import asyncio

    from bot.stats import delete_stream

    asyncio.run(delete_stream(url, name))


def rest(base: str, sender: str, text: str) -> str:
    """One REST turn (the development channel) on `base`; the bot's texts joined."""
    request = urllib.request.Request(
        base + "/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return "\n".join(m.get("text") or "" for m in json.loads(response.read()))


def tracker(base: str, sender: str) -> list:
    request = urllib.request.Request(f"{base}/conversations/rest:{sender}/tracker",
                                     headers=rasa_headers())
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())["events"]


def test_a_conversation_keeps_its_context_across_instances(cluster):
    sender = uuid.uuid4().hex
    assert "居民身份证" in rest(RASA_A, sender, "居住证要什么材料")
    answer = rest(RASA_B, sender, "那要多久？")  # the other instance knows the matter
    assert "上海市居住证申领" in answer and "工作日" in answer
    users = [e["text"] for e in tracker(RASA_A, sender) if e["event"] == "user"]
    assert users == ["居住证要什么材料", "那要多久？"]


def test_two_turns_sent_at_once_are_processed_in_order(cluster):
    """Redis's lock store: the second turn waits for the first, on whichever instance."""
    sender = uuid.uuid4().hex
    answers: dict = {}

    def send(base: str, text: str) -> None:
        answers[text] = rest(base, sender, text)

    first = threading.Thread(target=send, args=(RASA_A, "居住证要什么材料"))
    second = threading.Thread(target=send, args=(RASA_B, "那要多久？"))
    first.start()
    time.sleep(0.05)
    second.start()
    first.join(TIMEOUT)
    second.join(TIMEOUT)
    assert "居民身份证" in answers["居住证要什么材料"]
    assert "工作日" in answers["那要多久？"]  # it saw the first turn's matter
    events = tracker(RASA_B, sender)
    kinds = [(e["event"], e.get("name") or e.get("text")) for e in events
             if e["event"] in ("user", "action")]
    users = [i for i, (kind, _) in enumerate(kinds) if kind == "user"]
    assert [kinds[i][1] for i in users] == ["居住证要什么材料", "那要多久？"]
    # the first turn ended (the bot listened) before the second began
    assert ("action", "action_listen") in kinds[users[0]:users[1]]


async def test_an_agent_message_through_one_instance_reaches_a_socket_on_another(cluster):
    tab = Tab()
    try:
        token = await tab.connect({"RASA_PORT": RASA_A})
        conversation = session_of(token)
        request = urllib.request.Request(
            f"{RASA_B}/conversations/{conversation}/tracker/events"
            "?output_channel=socketio&execute_side_effects=true",
            data=json.dumps([{"event": "bot", "text": "您好，我是人工客服，请讲。",
                              "metadata": {"agent": "agent1"}}]).encode("utf-8"),
            headers={**rasa_headers(), "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            assert response.status == 200
        assert "我是人工客服" in await tab.reply_texts()
    finally:
        await tab.close()


async def test_an_identity_check_on_one_instance_evicts_copies_of_the_session_on_another(
        cluster):
    """After the status check's identity proof (on A) only the proving socket keeps the
    session: a copy of it opened on B (another tab, or a token read from a shared
    computer) hears nothing of what follows."""
    from tests.e2e.test_status_conversations import last_code

    citizen, copy = Tab(), Tab()
    try:
        token = await citizen.connect({"RASA_PORT": RASA_A})
        assert session_of(await copy.connect({"RASA_PORT": RASA_B}, token)) == session_of(token)
        await citizen.say(token, "查一下我的办件SH20261112004321")
        await citizen.reply_texts()
        await citizen.say(token, "231281")
        await citizen.reply_texts()
        await citizen.say(token, last_code(cluster, "138****0003"))
        assert "当前环节" in await citizen.reply_texts()
        rotated = await asyncio.wait_for(citizen.confirmed.get(), TIMEOUT)
        await asyncio.sleep(0.5)
        while not copy.replies.empty():  # what it heard before the proof
            copy.replies.get_nowait()
        assert await citizen.say(rotated, "居住证要什么材料") == {"status": "ok"}
        assert "居民身份证" in await citizen.reply_texts()
        await asyncio.sleep(1.0)
        assert copy.replies.empty(), "a copy on another instance still hears the session"
    finally:
        await citizen.close()
        await copy.close()


def test_citizen_on_one_instance_and_agent_through_another_in_two_browsers(browser, cluster):
    """Two Chromiums through the edge: the citizen's widget socket is on instance A, the
    desk reaches Rasa through instance B (the fixture's RASA_URL)."""
    from playwright.sync_api import expect

    from tests.e2e.test_handoff_widget_browser import Desk
    from tests.e2e.test_widget_browser import ANSWER_TIMEOUT, Portal

    edge = {"WEB_PORT": EDGE}
    citizen = Portal(browser, edge, viewport={"width": 1280, "height": 860}).goto()
    citizen.open()
    name, _role, password = next(a for a in DEV_ACCOUNTS if a[0] == "agent1")
    second = browser.browser_type.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    desk = Desk(second, edge, name, password)
    try:
        citizen.say("居住证要什么材料")
        citizen.expect_answer("上海市居住证申领")
        citizen.say("转人工")
        citizen.expect_answer("转接人工客服")
        item = desk.page.locator(".queue-item", has_text="上海市居住证申领")
        expect(item.first).to_be_visible(timeout=ANSWER_TIMEOUT)
        item.first.locator("button.accept").click()
        citizen.expect_answer("已为您接入")
        desk.page.fill("#reply-text", "您好，集群里的人工客服在此。")
        desk.page.click("#reply-send")
        citizen.expect_answer("集群里的人工客服在此")
        desk.page.click("#end")
        citizen.expect_answer("满意吗")
    finally:
        desk.close()
        second.close()
        citizen.close()


def _settled_turns(store, quiet: float = 3.0, timeout: float = 60.0) -> int:
    """Today's counted turns once they stopped moving for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = store.day()["turns"], time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the counters never settled"
        time.sleep(0.5)
        now = store.day()["turns"]
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_no_statistics_are_lost_when_rabbitmq_restarts(cluster):
    """A turn while RabbitMQ is down is counted once it is back, and none twice
    (Rasa's broker keeps events until confirmed; the consumer's queue is durable)."""
    from bot.stats.store import StatsStore

    store = StatsStore.open(cluster["env"]["DATABASE_URL"])
    before = _settled_turns(store)
    sender = uuid.uuid4().hex
    assert "居民身份证" in rest(INSIDE, sender, "居住证要什么材料")
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    try:
        assert "工作日" in rest(INSIDE, sender, "那要多久？")  # turns never wait for the broker
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=60)
    rest(INSIDE, sender, "居住证在哪里办")
    deadline = time.monotonic() + 60
    while store.day()["turns"] < before + 3:
        assert time.monotonic() < deadline, (before, store.day())
        time.sleep(0.5)
    assert _settled_turns(store) == before + 3


def _pid_listening(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True,
                         text=True).stdout
    found = re.search(r"pid=(\d+)", out)
    assert found, f"nothing listens on :{port}: {out!r}"
    return int(found.group(1))


def test_an_instance_killed_mid_conversation_loses_nothing(cluster):
    """The citizen's socket is on instance A; A is killed (SIGKILL, no goodbye) between two
    turns. The widget reconnects through the edge with its session token, as it does after
    any disconnect; the edge takes it to B, which answers the next turn with the
    conversation's context. The run starts A again. (In a thread of its own: the module's
    Playwright browser keeps an event loop running in this one.)"""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        port = pool.submit(asyncio.run, _kill_instance_a_between_two_turns()).result()
    # new requests through the balancer skip the dead instance (its port refuses)
    for _ in range(4):
        assert "居民身份证" in rest(INSIDE, uuid.uuid4().hex, "居住证要什么材料")
    deadline = time.monotonic() + 10
    log = cluster["var"] / "stack.log"
    while f"Rasa :{port} exited; starting it again" not in log.read_text():
        assert time.monotonic() < deadline, "the killed instance was not started again"
        time.sleep(0.5)


async def _kill_instance_a_between_two_turns() -> int:
    first, again = Tab(), Tab()
    try:
        token = await first.connect({"RASA_PORT": RASA_A})
        assert await first.say(token, "居住证要什么材料") == {"status": "ok"}
        assert "居民身份证" in await first.reply_texts()
        port = PORTS["RASA_PORT"]
        os.kill(_pid_listening(port), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _reachable("127.0.0.1", port):
            assert time.monotonic() < deadline, "instance A still listens"
            time.sleep(0.1)
        rejoined = await again.connect({"RASA_PORT": EDGE}, token)
        assert session_of(rejoined) == session_of(token)
        assert await again.say(rejoined, "那要多久？") == {"status": "ok"}
        answer = await again.reply_texts()
        assert "上海市居住证申领" in answer and "工作日" in answer
        conversation = session_of(token)
        request = urllib.request.Request(f"{RASA_B}/conversations/{conversation}/tracker",
                                         headers=rasa_headers())
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            events = json.loads(response.read())["events"]
        assert [e["text"] for e in events if e["event"] == "user"] == \
            ["居住证要什么材料", "那要多久？"]
    finally:
        await first.close()
        await again.close()
    return port
