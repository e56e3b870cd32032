"""The agent desk over real HTTP: sign-in, CSRF, assignment, queue, timeouts, restart.

Rasa is a small recording aiohttp server here (the e2e tests use the real one); the
tracker's `events` table is written the way Rasa's SQL tracker store writes it. Runs on
SQLite and, with DATABASE_URL, PostgreSQL; with REDIS_URL also on the Redis queue.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.db import engine_for
from bot.handoff.config import HandoffConfig
from bot.handoff.queue import MemoryQueue, RedisQueue
from bot import settings
from bot.kv import MemoryStore, RedisStore
from web import templating
from web.desk import create_app as create_desk, mount

TOKEN = "test-service-token"
RASA_TOKEN = "test-rasa-api-token"


@pytest.fixture(autouse=True)
def dev_accounts(monkeypatch):
    """The desk's tests sign in with the development accounts (agent1, agent2,
    supervisor1), which exist only with DESK_DEV_ACCOUNTS=1 on a development machine."""
    monkeypatch.setenv("DESK_DEV_ACCOUNTS", "1")


def _backends():
    yield "memory"
    if os.environ.get("REDIS_URL"):
        yield "redis"


@pytest.fixture(params=list(_backends()))
def shared(request):
    """The kv store and a queue factory (a new queue object = a restarted desk)."""
    if request.param == "memory":
        kv = MemoryStore()
        queues = {}
        return kv, lambda key="a": queues.setdefault(key, MemoryQueue())
    prefix = f"test:{uuid.uuid4().hex[:8]}"
    return Prefixed(RedisStore(os.environ["REDIS_URL"]), prefix), lambda key="a": RedisQueue(
        os.environ["REDIS_URL"], prefix=prefix
    )


class Prefixed:
    """Keeps one test's Redis keys (login counters, sessions) apart from other runs'."""

    def __init__(self, store, prefix: str) -> None:
        self.store, self.prefix = store, prefix + ":"

    async def get(self, key):
        return await self.store.get(self.prefix + key)

    async def set(self, key, value, ttl=None, only_if_new=False):
        return await self.store.set(self.prefix + key, value, ttl, only_if_new)

    async def incr(self, key, ttl):
        return await self.store.incr(self.prefix + key, ttl)

    async def delete(self, key):
        return await self.store.delete(self.prefix + key)

    async def ttl(self, key):
        return await self.store.ttl(self.prefix + key)


class FakeRasa:
    def __init__(self) -> None:
        self.calls: list = []
        self.auth: list = []  # the Authorization header of every call

    def app(self) -> web.Application:
        @web.middleware
        async def credential(request: web.Request, handler):
            self.auth.append(request.headers.get("Authorization"))
            return await handler(request)

        async def events(request: web.Request) -> web.Response:
            self.calls.append(("events", request.match_info["cid"], await request.json(),
                               dict(request.query)))
            return web.json_response({})

        async def execute(request: web.Request) -> web.Response:
            self.calls.append(("execute", request.match_info["cid"], await request.json(),
                               dict(request.query)))
            return web.json_response({})

        app = web.Application(middlewares=[credential])
        app.router.add_post("/conversations/{cid}/tracker/events", events)
        app.router.add_post("/conversations/{cid}/execute", execute)
        return app

    def texts(self, cid: str) -> list:
        return [e["text"] for kind, c, body, _ in self.calls
                if c == cid and kind == "events" for e in body
                if e.get("event") == "bot" and e.get("text")]

    def payloads(self, cid: str) -> list:
        """The structured updates sent to a widget (custom payloads of bot events)."""
        return [(e.get("data") or {})["custom"] for kind, c, body, _ in self.calls
                if c == cid and kind == "events" for e in body
                if e.get("event") == "bot" and "custom" in (e.get("data") or {})]


@pytest.fixture
async def rasa():
    fake = FakeRasa()
    async with TestServer(fake.app()) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake


@pytest.fixture
def tracker_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    with engine_for(url).begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_id TEXT, "
            "type_name TEXT, timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"))
    return url


def citizen_says(tracker_url: str, sender: str, text: str) -> None:
    data = {"event": "user", "text": text, "timestamp": time.time(),
            "parse_data": {"intent": {"name": "inform"}}, "input_channel": "rest"}
    with engine_for(tracker_url).begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, 'user', :d)"),
                     {"s": sender, "d": json.dumps(data)})


def make_config(database_url, tracker_url, rasa_url, timeout=180.0) -> HandoffConfig:
    return HandoffConfig(
        desk_url="http://unused", rasa_url=rasa_url, service_token=TOKEN, rasa_token=RASA_TOKEN,
        accept_timeout=timeout,
        minutes_per_citizen=3.0, presence_ttl=30.0, database_url=database_url,
        tracker_database_url=tracker_url,
    )


async def desk_client(cfg, shared, queue_key="a") -> TestClient:
    kv, queue = shared
    app = web.Application()  # the desk mounted as the web app mounts it, settings read now
    mount(app, create_desk(settings.load_web(), templating.environment(), cfg, kv=kv,
                           queue=queue(queue_key)))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def desk(database_url, tracker_url, rasa, shared):
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    yield client
    await client.close()


async def login(client: TestClient, name: str, password: str) -> dict:
    response = await client.post("/desk/api/login", json={"name": name, "password": password})
    assert response.status == 200, await response.text()
    return {"X-CSRF-Token": (await response.json())["csrf"]}


async def internal(client: TestClient, path: str, body: dict, token: str = TOKEN):
    response = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()


# The cookie jars of TestClient share one client: a second agent needs its own client.
async def second_agent(cfg, shared, name: str, password: str):
    client = await desk_client(cfg, shared, queue_key="a")
    return client, await login(client, name, password)


async def test_sign_in_cookie_is_strict_and_state_changes_need_the_csrf_token(desk):
    response = await desk.post("/desk/api/login", json={"name": "agent1", "password": "agent1-pass"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/desk" in cookie
    csrf = (await response.json())["csrf"]
    assert (await desk.post("/desk/api/presence", json={"online": True})).status == 403
    bad = await desk.post("/desk/api/presence", json={"online": True}, headers={"X-CSRF-Token": "x"})
    assert bad.status == 403
    ok = await desk.post("/desk/api/presence", json={"online": True}, headers={"X-CSRF-Token": csrf})
    assert ok.status == 200 and (await ok.json())["online"] == ["agent1"]
    assert (await desk.get("/desk/api/queue")).status == 200
    desk.session.cookie_jar.clear()
    assert (await desk.get("/desk/api/queue")).status == 401


async def test_bad_logins_are_limited_per_account_and_per_address(desk):
    for _ in range(5):
        response = await desk.post("/desk/api/login", json={"name": "agent1", "password": "wrong"})
        assert response.status == 401
    blocked = await desk.post("/desk/api/login", json={"name": "agent1", "password": "agent1-pass"})
    assert blocked.status == 429 and "分钟后再试" in (await blocked.json())["error"]
    # Other accounts still work from here until the address's limit (20) is reached.
    for i in range(15):
        response = await desk.post("/desk/api/login", json={"name": f"nobody{i}", "password": "x"})
        assert response.status == 401
    blocked = await desk.post("/desk/api/login", json={"name": "agent2", "password": "agent2-pass"})
    assert blocked.status == 429


async def test_internal_endpoints_need_the_service_token(desk):
    status, _ = await internal(desk, "/desk/internal/handoffs", {"conversation_id": "c"}, token="nope")
    assert status == 401


async def test_queue_accept_read_reply_end_and_rating(desk, database_url, tracker_url, rasa, shared):
    status, answer = await internal(desk, "/desk/internal/handoffs", {"conversation_id": "c0"})
    assert status == 200 and answer == {"status": "no_agent"}

    headers = await login(desk, "agent1", "agent1-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    first = (await internal(desk, "/desk/internal/handoffs", {
        "conversation_id": "c1", "channel": "socketio", "topic": "办事材料",
        "summary": "事项：上海市居住证申领", "matter_name": "上海市居住证申领"}))[1]
    second = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "c2"}))[1]
    assert (first["status"], first["position"], first["wait_minutes"]) == ("queued", 1, 3)
    assert (second["position"], second["wait_minutes"]) == (2, 6)
    again = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "c1"}))[1]
    assert again["handoff_id"] == first["handoff_id"] and again["position"] == 1

    queue = (await (await desk.get("/desk/api/queue")).json())["queue"]
    assert [q["id"] for q in queue] == [first["handoff_id"], second["handoff_id"]]
    assert queue[0]["channel_label"] == "网页" and queue[0]["matter_name"] == "上海市居住证申领"

    hid = first["handoff_id"]
    accepted = await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    assert accepted.status == 200
    assert any("已为您接入" in t for t in rasa.texts("c1"))
    assert rasa.calls[-1][3] == {"output_channel": "latest", "execute_side_effects": "true"}

    other, other_headers = await second_agent(
        make_config(database_url, tracker_url, rasa.url), shared, "agent2", "agent2-pass")
    try:
        assert (await other.get(f"/desk/api/handoffs/{hid}")).status == 403
        reply = await other.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "hi"}, headers=other_headers)
        assert reply.status == 403
        again = await other.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=other_headers)
        assert again.status == 409
        supervisor = await other.post("/desk/api/login", json={"name": "supervisor1", "password": "supervisor1-pass"})
        assert supervisor.status == 200
        assert (await other.get(f"/desk/api/handoffs/{hid}")).status == 200  # supervisors read all
    finally:
        await other.close()

    citizen_says(tracker_url, "c1", "我身份证310101199001011234，电话13812345678")
    body = await (await desk.get(f"/desk/api/handoffs/{hid}")).json()
    [message] = [m for m in body["messages"] if m["from"] == "citizen"]
    assert "310101********1234" in message["text"] and "138****5678" in message["text"]
    assert message["masked"] is True
    later = await (await desk.get(f"/desk/api/handoffs/{hid}", params={"after": message["id"]})).json()
    assert later["messages"] == []
    shown = await desk.post(f"/desk/api/handoffs/{hid}/reveal", json={"event_id": message["id"]}, headers=headers)
    assert "13812345678" in (await shown.json())["text"]

    assert (await desk.post(f"/desk/api/handoffs/{hid}/reply", json={"text": " "}, headers=headers)).status == 400
    assert (await desk.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "材料齐了"}, headers=headers)).status == 200
    assert "材料齐了" in rasa.texts("c1")
    assert (await desk.post(f"/desk/api/handoffs/{hid}/end", json={}, headers=headers)).status == 200
    resume = rasa.calls[-1][2]
    assert resume[0] == {"event": "resume"}
    # a widget's queue bar is told that the person has left
    assert resume[1]["data"]["custom"] == {"type": "handoff_queue", "state": "ended", "place": 0,
                                           "minutes": 0, "delivered": 0}
    assert resume[2] == {"event": "slot", "name": "rating_handoff", "value": str(hid)}
    assert len(resume[-2]["data"]["buttons"]) == 5 and resume[-1]["name"] == "action_listen"
    assert (await desk.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "x"}, headers=headers)).status == 409

    rate = {"handoff_id": str(hid), "conversation_id": "c1", "satisfaction": 5}
    assert (await internal(desk, "/desk/internal/ratings", {**rate, "conversation_id": "c2"}))[1]["stored"] is False
    assert (await internal(desk, "/desk/internal/ratings", rate))[1]["stored"] is True
    assert (await internal(desk, "/desk/internal/ratings", rate))[1]["stored"] is False
    assert (await internal(desk, "/desk/internal/ratings", {**rate, "satisfaction": 9}))[0] == 400

    # Agents may not see the supervisor view.
    assert (await desk.get("/desk/api/supervisor/overview")).status == 403


async def test_waiting_citizens_survive_a_desk_restart(database_url, tracker_url, rasa, shared):
    cfg = make_config(database_url, tracker_url, rasa.url)
    first = await desk_client(cfg, shared, queue_key="before")
    headers = await login(first, "agent1", "agent1-pass")
    await first.post("/desk/api/presence", json={"online": True}, headers=headers)
    handoff = (await internal(first, "/desk/internal/handoffs", {"conversation_id": "r1"}))[1]
    await first.close()

    restarted = await desk_client(cfg, shared, queue_key="after")  # a fresh in-memory queue
    try:
        await login(restarted, "agent1", "agent1-pass")
        queue = (await (await restarted.get("/desk/api/queue")).json())["queue"]
        assert [q["id"] for q in queue] == [handoff["handoff_id"]]
    finally:
        await restarted.close()


async def test_nobody_accepting_hands_the_citizen_back_to_the_bot(database_url, tracker_url, rasa, shared):
    """While an agent is online the citizen waits (before, the bot took the chat back
    after the timeout saying everyone was busy, with agents sitting online); once nobody
    is online, the timeout applies and the bot says so."""
    client = await desk_client(make_config(database_url, tracker_url, rasa.url, timeout=0.5), shared)
    try:
        headers = await login(client, "agent1", "agent1-pass")
        await client.post("/desk/api/presence", json={"online": True}, headers=headers)
        await internal(client, "/desk/internal/handoffs", {"conversation_id": "t1"})
        await asyncio.sleep(1.5)  # three timeouts long: an agent is online, the wait goes on
        assert not [c for c in rasa.calls if c[1] == "t1"]
        assert len((await (await client.get("/desk/api/queue")).json())["queue"]) == 1

        await client.post("/desk/api/presence", json={"online": False}, headers=headers)
        for _ in range(50):
            if any(kind == "execute" for kind, *_ in rasa.calls):
                break
            await asyncio.sleep(0.1)
        calls = [(kind, body, query) for kind, cid, body, query in rasa.calls if cid == "t1"]
        kind, events, _ = calls[0]
        assert kind == "events" and [e["event"] for e in events] == ["resume", "bot", "action"]
        assert "现在没有在线的工作人员" in events[1]["text"] and "工作日" in events[1]["text"]
        # The bot takes a message on the citizen's latest channel.
        assert calls[1] == ("execute", {"name": "action_handoff_timeout"}, {"output_channel": "latest"})
        assert (await (await client.get("/desk/api/queue")).json())["queue"] == []
    finally:
        await client.close()


def tracker_event(tracker_url: str, sender: str, data: dict) -> None:
    with engine_for(tracker_url).begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, :t, :d)"),
                     {"s": sender, "t": data["event"], "d": json.dumps(data)})


async def until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not within the time")


async def test_a_waiting_citizen_is_answered_while_the_bot_is_paused(desk, tracker_url, rasa):
    """While waiting, the bot (paused) said nothing: "人呢" and "算了" got silence, and no
    sign that anyone would read the rest. The desk answers now: the place in line, one
    acknowledgement a minute in words, the widget's queue bar on each change, 取消."""
    headers = await login(desk, "agent1", "agent1-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    await internal(desk, "/desk/internal/handoffs", {"conversation_id": "w0"})  # ahead
    tracker_event(tracker_url, "w1", {"event": "user", "text": "转人工", "timestamp": time.time()})
    waiting = (await internal(desk, "/desk/internal/handoffs",
                              {"conversation_id": "w1", "channel": "socketio"}))[1]
    tracker_event(tracker_url, "w1", {"event": "pause", "timestamp": time.time()})
    await asyncio.sleep(1.2)  # a pass or two: the start is marked, nothing said
    assert rasa.texts("w1") == []
    # the widget gets its queue bar at once
    assert rasa.payloads("w1") == [{"type": "handoff_queue", "state": "waiting", "place": 2,
                                    "minutes": 6, "delivered": 0}]

    citizen_says(tracker_url, "w1", "人呢")
    await until(lambda: rasa.texts("w1"))
    assert rasa.texts("w1") == ["还在为您排队：您前面还有1位，预计还要约6分钟。不想等了可以说“取消”。"]
    assert rasa.payloads("w1")[-1] == {"type": "handoff_queue", "state": "waiting", "place": 2,
                                       "minutes": 6, "delivered": 1}

    citizen_says(tracker_url, "w1", "我想问居住证续签的事")
    await until(lambda: len(rasa.payloads("w1")) == 3)
    assert len(rasa.texts("w1")) == 1  # within a minute of the last words: the bar only

    # the one ahead is taken: the widget's bar moves up without a word
    first = (await (await desk.get("/desk/api/queue")).json())["queue"][0]["id"]
    await desk.post(f"/desk/api/handoffs/{first}/accept", json={}, headers=headers)
    await until(lambda: rasa.payloads("w1")[-1]["place"] == 1)
    assert len(rasa.texts("w1")) == 1

    citizen_says(tracker_url, "w1", "算了不等了")
    await until(lambda: any("已取消排队" in t for t in rasa.texts("w1")))
    events = [c[2] for c in rasa.calls if c[1] == "w1" and c[0] == "events"][-1]
    assert events[0] == {"event": "resume"} and events[-1]["name"] == "action_listen"
    assert rasa.payloads("w1")[-1]["state"] == "cancelled"
    queue = (await (await desk.get("/desk/api/queue")).json())["queue"]
    assert waiting["handoff_id"] not in [q["id"] for q in queue]


async def test_a_pushing_channel_gets_words_at_most_once_a_minute(desk, tracker_url, rasa):
    headers = await login(desk, "agent1", "agent1-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    await internal(desk, "/desk/internal/handoffs", {"conversation_id": "x1", "channel": "wechat"})
    tracker_event(tracker_url, "x1", {"event": "pause", "timestamp": time.time()})
    await asyncio.sleep(1.2)
    for text in ("我的居住证办了一个月了", "能帮我查一下吗", "编号我找不到了"):
        citizen_says(tracker_url, "x1", text)
        await asyncio.sleep(0.6)
    await until(lambda: rasa.texts("x1"))
    await asyncio.sleep(1.0)
    assert rasa.texts("x1") == ["已转给工作人员，接入后会先看到您的留言（您是下一位）。"]
    assert rasa.payloads("x1") == []  # WeChat shows no widget bar


async def test_work_orders_are_numbered_per_day_and_phones_masked(desk):
    order = {"conversation_id": "w1", "channel": "rest", "message": "想咨询落户", "callback_phone": "13900001111"}
    first = (await internal(desk, "/desk/internal/work_orders", order))[1]["number"]
    second = (await internal(desk, "/desk/internal/work_orders", order))[1]["number"]
    assert first.startswith("GD-") and first.endswith("-0001") and second.endswith("-0002")
    assert (await internal(desk, "/desk/internal/work_orders", {"conversation_id": "w1"}))[0] == 400
    headers = await login(desk, "agent1", "agent1-pass")
    orders = (await (await desk.get("/desk/api/work_orders")).json())["work_orders"]
    assert {o["callback_phone"] for o in orders} == {"139****1111"}
    assert (await desk.post(f"/desk/api/work_orders/{first}/claim", json={}, headers=headers)).status == 200
    shown = await desk.post(f"/desk/api/work_orders/{first}/reveal", json={}, headers=headers)
    assert (await shown.json())["callback_phone"] == "13900001111"
    quoted = await (await desk.get(f"/desk/api/work_orders/{second}")).json()
    assert quoted["message"] == "想咨询落户" and quoted["callback_phone"] == "139****1111"
    assert (await desk.get("/desk/api/work_orders/GD-19990101-0001")).status == 404


async def test_transfer_to_another_online_agent(desk, database_url, tracker_url, rasa, shared):
    headers = await login(desk, "agent1", "agent1-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "x1"}))[1]["handoff_id"]
    assert (await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)).status == 200
    offline = await desk.post(f"/desk/api/handoffs/{hid}/transfer", json={"to": "agent2"}, headers=headers)
    assert offline.status == 409
    other, other_headers = await second_agent(
        make_config(database_url, tracker_url, rasa.url), shared, "agent2", "agent2-pass")
    try:
        await other.post("/desk/api/presence", json={"online": True}, headers=other_headers)
        moved = await desk.post(f"/desk/api/handoffs/{hid}/transfer", json={"to": "agent2"}, headers=headers)
        assert moved.status == 200 and any("转接另一位工作人员" in t for t in rasa.texts("x1"))
        assert (await desk.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "a"}, headers=headers)).status == 403
        mine = (await (await other.get("/desk/api/queue")).json())["mine"]
        assert [m["id"] for m in mine] == [hid]
        reply = await other.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "我接着帮您看"}, headers=other_headers)
        assert reply.status == 200
    finally:
        await other.close()
