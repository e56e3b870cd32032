"""The 12345 cycle of work orders over real HTTP (web/desk/orders.py): 受理 → 分类 → 派单
→ 反馈 → 回访 → 办结, a callback not solved back to 派单, department users fenced to
their own orders, 409 on a stale step, CSRF, 催办 by supervisors only, the overdue filter
with a clock, and the citizen's question answered with the cycle's state. SQLite always;
PostgreSQL and Redis with DATABASE_URL / REDIS_URL (the fixtures of test_desk.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import LOCAL_TZ
from bot.handoff.accounts import seed_development_accounts
from bot.handoff.order_records import for_engine
from bot.handoff.records import Records
from tests.web.desk.test_desk import (  # noqa: F401  (fixtures)
    dev_accounts, desk, desk_client, internal, login, make_config, rasa, shared, tracker_url,
)
from web.desk import orders as orders_module

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=LOCAL_TZ).timestamp()


@pytest.fixture
def clock(monkeypatch):
    """The desk's clock for the cycle, moved by the test."""
    now = {"t": MONDAY}
    monkeypatch.setattr(orders_module, "clock", lambda: now["t"])
    return now


async def new_order(client, message="71路公交司机拒载，还绕路", cid="c1") -> str:
    status, body = await internal(client, "/desk/internal/work_orders",
                                  {"conversation_id": cid, "channel": "rest", "kind": "complaint",
                                   "message": message, "callback_phone": "13900001111"})
    assert status == 200, body
    return body["number"]


async def step(client, headers, number, action, body=None, expect=200):
    response = await client.post(f"/desk/api/orders/{number}/{action}", json=body or {},
                                  headers=headers)
    data = await response.json()
    assert response.status == expect, (action, response.status, data)
    return data


async def get(client, path, expect=200):
    response = await client.get(path)
    data = await response.json()
    assert response.status == expect, (path, response.status, data)
    return data


async def other(cfg_, shared_, name, password):
    """Another desk process on the same database and store, signed in as `name`."""
    client = await desk_client(cfg_, shared_)
    return client, await login(client, name, password)


@pytest.fixture
async def cfg(database_url, tracker_url, rasa):
    return make_config(database_url, tracker_url, rasa.url)


async def test_the_whole_cycle_from_registered_to_closed(desk, cfg, shared, clock):
    number = await new_order(desk)
    agent = await login(desk, "agent1", "agent1-pass")
    order = await get(desk, f"/desk/api/orders/{number}")
    assert order["state"] == "registered" and order["state_name"] == "受理"
    assert order["suggested_category"] == "transport" and order["suggested_department"] == "市交通委"
    assert order["callback_phone"] == "139****1111" and order["actions"] == ["classify"]
    assert [s["step"] for s in order["history"]] == ["registered"]

    order = await step(desk, agent, number, "classify", {"category": "transport", "state": "registered"})
    assert order["state"] == "classified" and order["category_name"] == "交通运输"
    order = await step(desk, agent, number, "dispatch", {})  # the category's department
    assert order["state"] == "dispatched" and order["department"] == "市交通委"
    due = datetime.fromtimestamp(order["due_at"], LOCAL_TZ)
    assert (due.month, due.day, due.hour) == (12, 11, 0)  # Mon + 3 working days: end of Thu

    dept, dept_headers = await other(cfg, shared, "dept1", "dept1-pass")
    try:
        seen = await get(dept, "/desk/api/orders")
        assert [o["number"] for o in seen["orders"]] == [number]
        assert "callback_phone" not in seen["orders"][0] and seen["me"]["department"] == "市交通委"
        assert seen["orders"][0]["actions"] == ["feedback"]
        await step(dept, dept_headers, number, "feedback", {}, expect=400)  # says what was done
        order = await step(dept, dept_headers, number, "feedback", {"note": "已约谈驾驶员并处罚"})
        assert order["state"] == "answered"
    finally:
        await dept.close()

    order = await step(desk, agent, number, "callback", {"solved": True, "rating": 5, "note": "市民满意"})
    assert order["state"] == "visited" and order["solved"] is True and order["rating"] == 5
    order = await step(desk, agent, number, "close", {})
    assert order["state"] == "closed" and order["actions"] == []
    history = order["history"]
    assert [s["step"] for s in history] == ["registered", "classify", "dispatch", "feedback",
                                            "callback", "close"]
    assert [s["actor"] for s in history] == ["bot", "agent1", "agent1", "dept1", "agent1", "agent1"]
    assert history[3]["note"] == "已约谈驾驶员并处罚" and "满意度 5" in history[4]["note"]
    # The desk's older list of open orders no longer shows it.
    legacy = await get(desk, "/desk/api/work_orders")
    assert number not in {o["number"] for o in legacy["work_orders"]}
    # The citizen asking in chat hears 已办结.
    _, answer = await internal(desk, "/desk/internal/work_orders/of_conversation",
                               {"conversation_id": "c1", "number": number})
    assert answer["orders"][0]["state"] == "closed"


async def test_not_solved_goes_back_to_the_department_with_a_new_deadline(desk, cfg, shared, clock):
    number = await new_order(desk)
    agent = await login(desk, "supervisor1", "supervisor1-pass")
    await step(desk, agent, number, "classify", {"category": "transport"})
    first = await step(desk, agent, number, "dispatch", {"department": "市交通委"})
    # A supervisor does not answer for the department; the department's user does.
    await step(desk, agent, number, "feedback", {"note": "x"}, expect=403)
    dept, headers = await other(cfg, shared, "dept1", "dept1-pass")
    try:
        await step(dept, headers, number, "feedback", {"note": "已处理"})
    finally:
        await dept.close()
    clock["t"] += 2 * 86400
    order = await step(desk, agent, number, "callback", {"solved": False, "rating": 2})
    assert order["state"] == "dispatched" and order["solved"] is False
    assert order["due_at"] > first["due_at"] and order["actions"] == ["dispatch", "urge"]
    assert order["history"][-1]["note"].startswith("未解决")


async def test_a_department_sees_only_its_own_orders(desk, cfg, shared, clock):
    mine = await new_order(desk, "公交站台破了")
    theirs = await new_order(desk, "学校门口乱停车", cid="c2")
    waiting = await new_order(desk, "地铁太挤", cid="c3")
    agent = await login(desk, "agent1", "agent1-pass")
    for number, category, department in ((mine, "transport", "市交通委"),
                                         (theirs, "education", "市教委")):
        await step(desk, agent, number, "classify", {"category": category})
        await step(desk, agent, number, "dispatch", {"department": department})
    everyone = await get(desk, "/desk/api/orders")
    assert {mine, theirs, waiting} <= {o["number"] for o in everyone["orders"]}
    filtered = await get(desk, "/desk/api/orders?department=市教委")
    assert [o["number"] for o in filtered["orders"]] == [theirs]
    registered = await get(desk, "/desk/api/orders?state=registered")
    assert [o["number"] for o in registered["orders"]] == [waiting]

    dept, headers = await other(cfg, shared, "dept1", "dept1-pass")
    try:
        listed = await get(dept, "/desk/api/orders?department=市教委")  # its own, whatever it asks
        assert [o["number"] for o in listed["orders"]] == [mine]
        await get(dept, f"/desk/api/orders/{theirs}", expect=403)
        await get(dept, f"/desk/api/orders/{waiting}", expect=403)  # not dispatched to anyone
        await step(dept, headers, theirs, "feedback", {"note": "不归我们"}, expect=403)
        await step(dept, headers, mine, "classify", {"category": "other"}, expect=403)
        await step(dept, headers, mine, "close", {}, expect=403)
        # Nothing else of the desk: the live queue, the older orders, the wallboard.
        for path in ("/desk/api/queue", "/desk/api/work_orders", f"/desk/api/work_orders/{mine}"):
            await get(dept, path, expect=403)
        assert (await dept.post("/desk/api/presence", json={"online": True},
                                headers=headers)).status == 403
        assert (await dept.get("/desk/api/me")).status == 200
    finally:
        await dept.close()


async def test_a_stale_step_is_409_and_csrf_is_needed(desk, clock):
    number = await new_order(desk)
    agent = await login(desk, "agent1", "agent1-pass")
    assert (await desk.post(f"/desk/api/orders/{number}/classify",
                            json={"category": "transport"})).status == 403  # no CSRF token
    assert (await desk.post(f"/desk/api/orders/{number}/classify", json={"category": "transport"},
                            headers={"X-CSRF-Token": "wrong"})).status == 403
    await step(desk, agent, number, "dispatch", {"department": "市交通委"}, expect=409)  # classify first
    await step(desk, agent, number, "classify", {"category": "nonsense"}, expect=400)
    await step(desk, agent, number, "classify", {"category": "transport"})
    # Another agent's page still shows 受理: its step is refused, nothing changes.
    stale = await step(desk, agent, number, "classify",
                       {"category": "other", "state": "registered"}, expect=409)
    assert "分类" in stale["error"]
    await step(desk, agent, number, "dispatch", {"department": "不存在的局"}, expect=400)
    await step(desk, agent, number, "dispatch", {"department": "市交通委"})
    await step(desk, agent, number, "close", {}, expect=409)
    order = await get(desk, f"/desk/api/orders/{number}")
    assert order["category"] == "transport"
    assert [s["step"] for s in order["history"]] == ["registered", "classify", "dispatch"]
    await get(desk, "/desk/api/orders/GD-19990101-0001", expect=404)
    assert (await desk.get("/desk/orders")).status == 200


async def test_two_racing_steps_one_wins(desk, clock, database_url):
    number = await new_order(desk)
    agent = await login(desk, "agent1", "agent1-pass")
    await step(desk, agent, number, "classify", {"category": "transport"})
    store = for_engine(Records.open(database_url).engine)
    # The other desk process moved it on between this request's read and its write.
    assert store.move(number, seen="classified", to="dispatched", step="dispatch",
                      actor="agent2", at=MONDAY + 1,
                      values={"department": "市交通委", "due_at": MONDAY}) is True
    assert store.move(number, seen="classified", to="dispatched", step="dispatch",
                      actor="agent1") is False
    assert [s["actor"] for s in store.history(number)] == ["bot", "agent1", "agent2"]


async def test_urge_only_by_supervisors_and_the_overdue_filter(desk, cfg, shared, clock):
    number = await new_order(desk)
    calm = await new_order(desk, "公司拖欠工资", cid="c2")
    agent = await login(desk, "agent1", "agent1-pass")
    await step(desk, agent, number, "classify", {"category": "transport"})
    await step(desk, agent, number, "dispatch", {})
    await step(desk, agent, calm, "classify", {"category": "labour"})
    await step(desk, agent, calm, "dispatch", {})  # 5 working days
    await step(desk, agent, number, "urge", {}, expect=403)
    assert (await get(desk, "/desk/api/orders?overdue=1"))["orders"] == []

    clock["t"] = datetime(2026, 12, 11, 0, 0, 1, tzinfo=LOCAL_TZ).timestamp()  # Thu has passed
    late = (await get(desk, "/desk/api/orders?overdue=1"))["orders"]
    assert [o["number"] for o in late] == [number] and late[0]["overdue"] is True
    listed = {o["number"]: o for o in (await get(desk, "/desk/api/orders"))["orders"]}
    assert listed[calm]["overdue"] is False

    sup, sup_headers = await other(cfg, shared, "supervisor1", "supervisor1-pass")
    try:
        order = await step(sup, sup_headers, number, "urge", {"note": "请今天内答复"})
        assert order["state"] == "dispatched" and order["urged_at"] == clock["t"]
        assert order["history"][-1]["step"] == "urge" and order["history"][-1]["actor"] == "supervisor1"
    finally:
        await sup.close()
    # 转派 (dispatch again) gives a fresh deadline: the redispatched order is not late.
    order = await step(desk, agent, number, "dispatch", {"department": "市公安局"})
    assert order["overdue"] is False and order["urged_at"] is None


async def test_orders_from_before_the_cycle_and_withdrawn_ones(desk, database_url, clock):
    records = Records.open(database_url)
    old = records.create_work_order(conversation_id="o1", channel="rest", kind="message",
                                    message="物业乱收停车费")
    gone = await new_order(desk, "想咨询落户", cid="o2")
    assert records.cancel_message_order(gone, "o2") is False  # a complaint stays
    status, body = await internal(desk, "/desk/internal/work_orders",
                                  {"conversation_id": "o3", "channel": "rest", "message": "留言"})
    withdrawn = body["number"]
    assert records.cancel_message_order(withdrawn, "o3")
    agent = await login(desk, "agent1", "agent1-pass")
    order = await get(desk, f"/desk/api/orders/{old}")
    assert order["state"] == "registered" and order["history"] == []
    assert order["suggested_category"] == "property"  # suggested as it is read
    order = await step(desk, agent, old, "classify", {"category": "property"})
    assert order["suggested_category"] == "property"  # suggested when its row was made
    assert [s["step"] for s in order["history"]] == ["registered", "classify"]
    # The older 已处理 of the desk closes an order the cycle never saw.
    legacy = records.create_work_order(conversation_id="o4", channel="rest", kind="message",
                                       message="旧工单")
    assert records.close_work_order(legacy)
    closed = await get(desk, "/desk/api/orders?state=closed")
    assert [o["number"] for o in closed["orders"]] == [legacy]
    registered = await get(desk, "/desk/api/orders?state=registered")
    assert legacy not in {o["number"] for o in registered["orders"]}
    order = await get(desk, f"/desk/api/orders/{withdrawn}")
    assert order["state"] == "cancelled" and order["actions"] == []
    await step(desk, agent, withdrawn, "classify", {"category": "other"}, expect=409)


async def test_the_citizen_hears_the_department_and_the_due_date(desk, clock):
    number = await new_order(desk, cid="asker")
    agent = await login(desk, "agent1", "agent1-pass")
    await step(desk, agent, number, "classify", {"category": "transport"})
    await step(desk, agent, number, "dispatch", {})
    _, answer = await internal(desk, "/desk/internal/work_orders/of_conversation",
                               {"conversation_id": "asker", "number": number})
    order = answer["orders"][0]
    assert order["state"] == "dispatched" and order["department"] == "市交通委" and order["due_at"]
    from bot.handoff.work_order_status import answer as say
    text = say(answer["orders"], number).messages[0].text
    assert "已派往市交通委处理" in text and "12月10日" in text
    _, stranger = await internal(desk, "/desk/internal/work_orders/of_conversation",
                                 {"conversation_id": "someone-else", "number": number})
    assert stranger["orders"] == []


def test_the_development_seed_has_a_department_user(database_url):
    records = Records.open(database_url)
    assert seed_development_accounts(records)
    assert records.agent("dept1")["role"] == "department"
    assert for_engine(records.engine).department_of("dept1") == "市交通委"


async def test_the_citizen_is_told_of_the_steps_where_the_channel_allows(desk, rasa, clock):
    """派往部门 and 办结 reach a widget or WeChat citizen unasked; a REST client (no push)
    asks by number instead, and steps of no interest to the citizen say nothing."""
    status, body = await internal(desk, "/desk/internal/work_orders", {
        "conversation_id": "push1", "channel": "socketio", "kind": "message",
        "message": "小区门口的路灯坏了一个月了"})
    pushed = body["number"]
    quiet = await new_order(desk, cid="rest1")
    agent = await login(desk, "agent1", "agent1-pass")
    for number in (pushed, quiet):
        await step(desk, agent, number, "classify", {"category": "urban_construction"})
    assert rasa.texts("push1") == []  # classifying is no news for the citizen
    for number in (pushed, quiet):
        await step(desk, agent, number, "dispatch", {"department": "市交通委"})
    [told] = rasa.texts("push1")
    assert told.startswith(f"您的工单 {pushed} 有新进展：已派往市交通委处理") and "办理时限至" in told
    assert rasa.texts("rest1") == []


async def test_overdue_orders_are_on_the_supervisors_wallboard(desk, cfg, shared, clock):
    clock["t"] = datetime(2026, 11, 2, 10, 0, tzinfo=LOCAL_TZ).timestamp()  # long past
    number = await new_order(desk, "公交站台顶棚漏雨", cid="late1")
    agent = await login(desk, "agent1", "agent1-pass")
    await step(desk, agent, number, "classify", {"category": "transport"})
    await step(desk, agent, number, "dispatch", {})
    sup, sup_headers = await other(cfg, shared, "supervisor1", "supervisor1-pass")
    try:
        board = await get(sup, "/desk/api/supervisor/wallboard")
        [late] = [o for o in board["overdue_orders"] if o["number"] == number]
        assert late["department"] == "市交通委" and late["urged_at"] is None
        assert "message" not in late and "callback_phone" not in late
        await step(sup, sup_headers, number, "urge", {"note": "班长看板催办"})
        board = await get(sup, "/desk/api/supervisor/wallboard")
        assert [o["urged_at"] for o in board["overdue_orders"] if o["number"] == number] == [clock["t"]]
    finally:
        await sup.close()
