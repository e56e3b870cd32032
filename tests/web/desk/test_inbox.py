"""The desk for a hotline's load (issue 16), over real HTTP: an accept that cannot tell
the citizen is rolled back, button presses read as their titles, notes and wrap-up tags,
the side panel, transfer back to the queue, take-over, the supervisor's wallboard and
its SLA, supervisors not online unless they say so, an audit log in words."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.web.desk.test_desk import (  # noqa: F401  (fixtures)
    FakeRasa, citizen_says, dev_accounts, desk_client, internal, login, make_config,
    second_agent, shared, tracker_event, tracker_url,
)


class FailingRasa(FakeRasa):
    """Rasa that answers 500 to every append while `failing`."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def app(self) -> web.Application:
        inner = super().app()

        @web.middleware
        async def fail(request, handler):
            if self.failing:
                return web.json_response({"error": "down"}, status=500)
            return await handler(request)

        inner.middlewares.insert(0, fail)
        return inner


@pytest.fixture
async def rasa():
    fake = FailingRasa()
    async with TestServer(fake.app()) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake


@pytest.fixture
async def desk(database_url, tracker_url, rasa, shared):  # noqa: F811
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    yield client
    await client.close()


async def _online_agent(desk, name="agent1"):
    headers = await login(desk, name, f"{name}-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    return headers


async def _queue(desk):
    return await (await desk.get("/desk/api/queue")).json()


async def test_accept_is_rolled_back_when_the_citizen_cannot_be_told(desk, rasa):
    """Before: Rasa timed out, the agent saw an alert, and the chat was theirs anyway
    while the citizen heard nothing. Now nothing is assigned unless the citizen is told."""
    headers = await _online_agent(desk)
    first = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "a1"}))[1]
    second = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "a2"}))[1]
    hid = first["handoff_id"]
    rasa.failing = True
    refused = await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    assert refused.status == 502 and "重试" in (await refused.json())["error"]
    body = await _queue(desk)
    assert body["mine"] == []
    assert [q["id"] for q in body["queue"]] == [hid, second["handoff_id"]]  # its old place
    assert body["queue"][0]["status"] == "waiting" and body["queue"][0]["agent"] is None

    rasa.failing = False
    retried = await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    assert retried.status == 200 and any("已为您接入" in t for t in rasa.texts("a1"))
    assert [m["id"] for m in (await _queue(desk))["mine"]] == [hid]


async def test_a_button_press_reads_as_the_buttons_title(desk, tracker_url, rasa):
    headers = await _online_agent(desk)
    payload = '/ask_materials{"matter": "社会保障卡补换"}'
    tracker_event(tracker_url, "b1", {"event": "bot", "text": "您问的是哪一项？", "timestamp": time.time(),
                                      "data": {"buttons": [
                                          {"title": "社会保障卡申领", "payload": '/ask_materials{"matter": "社会保障卡申领"}'},
                                          {"title": "社会保障卡补换", "payload": payload}]}})
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "b1"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    first = (await (await desk.get(f"/desk/api/handoffs/{hid}")).json())["messages"]
    bot = next(m for m in first if m["from"] == "bot" and m["buttons"])
    assert bot["buttons"] == ["社会保障卡申领", "社会保障卡补换"] and bot["at"]
    # pressed after the desk read the bot's message: a later poll still knows the title
    tracker_event(tracker_url, "b1", {"event": "user", "text": payload, "timestamp": time.time()})
    later = (await (await desk.get(f"/desk/api/handoffs/{hid}",
                                   params={"after": str(first[-1]["id"])})).json())["messages"]
    [pressed] = later
    assert pressed["text"] == "社会保障卡补换" and pressed["pressed"] is True
    assert "/ask_materials" not in json.dumps(later, ensure_ascii=False)


async def test_every_masked_message_can_be_shown(desk, tracker_url, rasa):
    headers = await _online_agent(desk)
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "m1"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    citizen_says(tracker_url, "m1", "我电话13812345678")
    citizen_says(tracker_url, "m1", "另一个13900001111")
    shown = [m for m in (await (await desk.get(f"/desk/api/handoffs/{hid}")).json())["messages"]
             if m["from"] == "citizen"]
    assert [m["masked"] for m in shown] == [True, True]
    for message, number in zip(shown, ("13812345678", "13900001111")):
        answer = await desk.post(f"/desk/api/handoffs/{hid}/reveal", json={"event_id": message["id"]},
                                 headers=headers)
        assert number in (await answer.json())["text"]


async def test_notes_tags_and_the_side_panel(desk, tracker_url, rasa):
    headers = await _online_agent(desk)
    old = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "n1", "topic": "办件进度"}))[1]
    await desk.post(f"/desk/api/handoffs/{old['handoff_id']}/accept", json={}, headers=headers)
    await desk.post(f"/desk/api/handoffs/{old['handoff_id']}/end", json={}, headers=headers)
    await internal(desk, "/desk/internal/work_orders", {"conversation_id": "n1", "message": "请回电"})
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "n1"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)

    url = f"/desk/api/handoffs/{hid}/notes"
    note = await desk.post(url, json={"kind": "note", "text": "市民电话13812345678，下午回电"}, headers=headers)
    assert note.status == 200 and "138****5678" in (await note.json())["text"]
    assert (await desk.post(url, json={"kind": "note", "text": " "}, headers=headers)).status == 400
    assert (await desk.post(url, json={"kind": "tag", "text": "乱写的"}, headers=headers)).status == 400
    for _ in range(2):  # a tag once
        assert (await desk.post(url, json={"kind": "tag", "text": "已解答"}, headers=headers)).status == 200
    await desk.post(url, json={"kind": "tag", "text": "需回电"}, headers=headers)
    await desk.post(url, json={"kind": "tag", "text": "需回电", "remove": True}, headers=headers)
    assert (await desk.post(url, json={"kind": "note", "text": "x"})).status == 403  # CSRF

    panel = await (await desk.get(f"/desk/api/handoffs/{hid}/context")).json()
    assert [n["text"] for n in panel["notes"]] == ["市民电话138****5678，下午回电"]
    assert panel["tags"] == ["已解答"] and "已转工单" in panel["all_tags"]
    assert [e["id"] for e in panel["earlier"]] == [old["handoff_id"]]
    assert panel["earlier"][0]["status"] == "ended"
    assert [o["kind"] for o in panel["orders"]] == ["message"]
    assert not any("备注" in t or "下午回电" in t for t in rasa.texts("n1"))  # never to the citizen


async def test_notes_of_someone_elses_chat_are_refused(desk, database_url, tracker_url, rasa, shared):  # noqa: F811
    headers = await _online_agent(desk)
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "n2"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    other, other_headers = await second_agent(
        make_config(database_url, tracker_url, rasa.url), shared, "agent2", "agent2-pass")
    try:
        assert (await other.post(f"/desk/api/handoffs/{hid}/notes", json={"kind": "note", "text": "x"},
                                 headers=other_headers)).status == 403
        assert (await other.get(f"/desk/api/handoffs/{hid}/context")).status == 403
    finally:
        await other.close()


async def test_transfer_back_to_the_queue_and_nobody_else_online(desk, rasa):
    headers = await _online_agent(desk)
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "q1"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    alone = await desk.post(f"/desk/api/handoffs/{hid}/transfer", json={"to": "agent2"}, headers=headers)
    assert alone.status == 409 and "没有其他在线坐席" in (await alone.json())["error"]
    # Rasa down: the citizen cannot be told, so nothing moves
    rasa.failing = True
    assert (await desk.post(f"/desk/api/handoffs/{hid}/transfer", json={"to": "queue"},
                            headers=headers)).status == 502
    assert [m["id"] for m in (await _queue(desk))["mine"]] == [hid]
    rasa.failing = False
    back = await desk.post(f"/desk/api/handoffs/{hid}/transfer", json={"to": "queue"}, headers=headers)
    assert back.status == 200 and any("转接其他工作人员" in t for t in rasa.texts("q1"))
    body = await _queue(desk)
    assert body["mine"] == [] and [q["id"] for q in body["queue"]] == [hid]
    assert (await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)).status == 200


async def test_wallboard_take_over_and_supervisors_not_online(desk, database_url, tracker_url, rasa, shared):  # noqa: F811
    headers = await _online_agent(desk)
    live = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "s1", "channel": "wechat"}))[1]
    await desk.post(f"/desk/api/handoffs/{live['handoff_id']}/accept", json={}, headers=headers)
    waiting = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "s2"}))[1]
    assert (await desk.get("/desk/api/supervisor/wallboard")).status == 403  # agents may not

    boss, boss_headers = await second_agent(  # its desk marks waits over one second
        replace(make_config(database_url, tracker_url, rasa.url), accept_sla=1.0), shared,
        "supervisor1", "supervisor1-pass")
    try:
        # signed in and looking: not an agent online (nobody pressed 接待)
        assert (await _queue(boss))["online"] == ["agent1"]
        board = await (await boss.get("/desk/api/supervisor/wallboard")).json()
        assert board["sla_seconds"] == 1 and board["agents_online"] == ["agent1"]
        assert [w["id"] for w in board["waiting"]] == [waiting["handoff_id"]]
        assert board["waiting"][0]["over_sla"] is False
        [chat] = board["live"]
        assert chat["agent"] == "agent1" and chat["channel_label"] == "微信" and "duration_seconds" in chat
        load = {a["agent"]: a for a in board["agents"]}
        assert load["agent1"]["chats_now"] == 1 and load["agent1"]["online"] is True
        assert "supervisor1" not in load
        await asyncio.sleep(1.5)
        board = await (await boss.get("/desk/api/supervisor/wallboard")).json()
        assert board["waiting"][0]["over_sla"] is True and board["over_sla"] == 1
        assert [h["id"] for h in (await _queue(boss))["all"]] == [live["handoff_id"]]

        # watch (read-only) and take over: the citizen is told
        assert (await boss.get(f"/desk/api/handoffs/{live['handoff_id']}")).status == 200
        assert (await boss.post(f"/desk/api/handoffs/{live['handoff_id']}/reply", json={"text": "x"},
                                headers=boss_headers)).status == 403
        taken = await boss.post(f"/desk/api/handoffs/{live['handoff_id']}/take_over", json={},
                                headers=boss_headers)
        assert taken.status == 200 and (await taken.json())["agent"] == "supervisor1"
        assert any("值班班长" in t and "supervisor1" in t for t in rasa.texts("s1"))
        assert (await boss.post(f"/desk/api/handoffs/{live['handoff_id']}/reply", json={"text": "我来处理"},
                                headers=boss_headers)).status == 200
        assert (await desk.post(f"/desk/api/handoffs/{live['handoff_id']}/reply", json={"text": "x"},
                                headers=headers)).status == 403
        assert (await desk.post(f"/desk/api/handoffs/{waiting['handoff_id']}/take_over", json={},
                                headers=headers)).status == 403  # agents may not take over
        await boss.post(f"/desk/api/handoffs/{live['handoff_id']}/end", json={}, headers=boss_headers)
        board = await (await boss.get("/desk/api/supervisor/wallboard")).json()
        assert {a["agent"]: a["handled_today"] for a in board["agents"]}["supervisor1"] == 1
        # switched on 接待 themselves: now counted
        await boss.post("/desk/api/presence", json={"online": True}, headers=boss_headers)
        assert "supervisor1" in (await _queue(boss))["online"]
    finally:
        await boss.close()


async def test_the_audit_log_names_the_chat_in_words(desk, database_url, tracker_url, rasa, shared):  # noqa: F811
    headers = await _online_agent(desk)
    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": "web-abcd1234",
                                                             "channel": "socketio"}))[1]["handoff_id"]
    await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)
    citizen_says(tracker_url, "web-abcd1234", "电话13812345678")
    [message] = [m for m in (await (await desk.get(f"/desk/api/handoffs/{hid}")).json())["messages"]
                 if m["from"] == "citizen"]
    await desk.post(f"/desk/api/handoffs/{hid}/reveal", json={"event_id": message["id"]}, headers=headers)
    boss, _ = await second_agent(
        make_config(database_url, tracker_url, rasa.url), shared, "supervisor1", "supervisor1-pass")
    try:
        [row] = (await (await boss.get("/desk/api/supervisor/wallboard")).json())["reveals"]
        assert row["agent"] == "agent1" and row["at"]
        assert row["what_label"] == "会话 …1234（网页）：一条市民消息中的号码"
    finally:
        await boss.close()
