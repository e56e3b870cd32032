"""The 12345 cycle's pure decisions (bot/handoff/order_cycle.py): transitions by state and
role, deadlines over weekends, the bot's suggestion of a category."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import LOCAL_TZ
from bot.handoff import order_cycle as cycle
from bot.handoff.taxonomy import Category, load

TAXONOMY = load()


def at(*args) -> float:
    return datetime(*args, tzinfo=LOCAL_TZ).timestamp()


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, LOCAL_TZ).replace(tzinfo=None)


def test_the_whole_cycle_in_order_by_the_roles_that_take_each_step():
    state = cycle.REGISTERED
    for action, role, own, dept in (
            ("classify", "agent", None, None), ("dispatch", "agent", None, None),
            ("feedback", "department", "市交通委", "市交通委"),
            ("callback", "supervisor", None, "市交通委"), ("close", "agent", None, "市交通委"),
            ("archive", "supervisor", None, "市交通委")):
        cycle.check(action, state, role, own, dept)
        state = cycle.target(action, state, solved=True)
    assert state == cycle.ARCHIVED


def test_a_callback_not_solved_goes_back_to_dispatch_and_urge_stays():
    assert cycle.target("callback", cycle.ANSWERED, solved=False) == cycle.DISPATCHED
    assert cycle.target("callback", cycle.ANSWERED, solved=True) == cycle.VISITED
    assert cycle.target("urge", cycle.DISPATCHED) == cycle.DISPATCHED


@pytest.mark.parametrize("action,state,role,own,dept,status", [
    ("feedback", cycle.DISPATCHED, "agent", None, "市交通委", 403),      # agents do not answer for departments
    ("feedback", cycle.DISPATCHED, "department", "市教委", "市交通委", 403),  # another department's
    ("feedback", cycle.DISPATCHED, "department", None, "市交通委", 403),   # a department user without one
    ("dispatch", cycle.CLASSIFIED, "department", "市交通委", None, 403),
    ("urge", cycle.DISPATCHED, "agent", None, "市交通委", 403),           # supervisors urge
    ("archive", cycle.CLOSED, "agent", None, None, 403),
    ("dispatch", cycle.REGISTERED, "agent", None, None, 409),            # classify first
    ("close", cycle.ANSWERED, "agent", None, None, 409),                 # call back first
    ("feedback", cycle.ANSWERED, "department", "市交通委", "市交通委", 409),
    ("classify", cycle.CLOSED, "supervisor", None, None, 409),
    ("urge", cycle.CLOSED, "supervisor", None, None, 409),
    ("classify", cycle.CANCELLED, "agent", None, None, 409),
    ("fly", cycle.REGISTERED, "agent", None, None, 404),
])
def test_refused_steps_say_why(action, state, role, own, dept, status):
    with pytest.raises(cycle.Refused) as refused:
        cycle.check(action, state, role, own, dept)
    assert refused.value.status == status


def test_the_buttons_of_each_role():
    assert cycle.allowed(cycle.REGISTERED, "agent") == ("classify",)
    assert cycle.allowed(cycle.DISPATCHED, "supervisor") == ("dispatch", "urge")
    assert cycle.allowed(cycle.DISPATCHED, "department", "市交通委", "市交通委") == ("feedback",)
    assert cycle.allowed(cycle.DISPATCHED, "department", "市教委", "市交通委") == ()
    assert cycle.allowed(cycle.ANSWERED, "agent") == ("callback",)
    assert cycle.may_see("department", "市交通委", "市交通委")
    assert not cycle.may_see("department", "市交通委", None)
    assert not cycle.may_see("department", None, None)
    assert cycle.may_see("agent", None, None)


DAYS3 = Category("t", "交通运输", "市交通委", (), working_days=3)
DAYS1 = Category("c", "咨询", "区政务服务中心", (), working_days=1)
HOURS4 = Category("u", "紧急求助", "区政务服务中心", (), hours=4)


@pytest.mark.parametrize("dispatched,category,due", [
    ((2026, 12, 7, 10, 0), DAYS3, (2026, 12, 11, 0, 0)),   # Mon → end of Thu
    ((2026, 12, 4, 15, 0), DAYS3, (2026, 12, 10, 0, 0)),   # Fri → Mon, Tue, Wed
    ((2026, 12, 5, 9, 0), DAYS3, (2026, 12, 10, 0, 0)),    # Sat → Mon, Tue, Wed
    ((2026, 12, 6, 23, 0), DAYS1, (2026, 12, 8, 0, 0)),    # Sun → end of Mon
    ((2026, 12, 4, 23, 30), DAYS1, (2026, 12, 8, 0, 0)),   # Fri night → end of Mon
    ((2026, 12, 4, 22, 0), HOURS4, (2026, 12, 5, 2, 0)),   # hours run through the weekend
])
def test_deadlines_skip_weekends_in_local_time(dispatched, category, due):
    assert local(cycle.due_at(at(*dispatched), category)) == datetime(*due)


def test_overdue_only_after_the_due_time_and_while_not_finished():
    due = at(2026, 12, 10)
    assert not cycle.overdue(cycle.DISPATCHED, due, due)
    assert cycle.overdue(cycle.DISPATCHED, due, due + 1)
    assert cycle.overdue(cycle.ANSWERED, due, due + 1)
    assert not cycle.overdue(cycle.CLOSED, due, due + 1)
    assert not cycle.overdue(cycle.ARCHIVED, due, due + 1)
    assert not cycle.overdue(cycle.REGISTERED, None, due + 1)


@pytest.mark.parametrize("message,category,department", [
    ("71路公交司机拒载还骂人", "transport", "市交通委"),
    ("公司拖欠工资三个月了", "labour", "市人力资源社会保障局"),
    ("楼下饭店油烟太大，晚上噪音也很大", "environment", "市生态环境局"),
    ("超市卖过期食品", "market", "市市场监管局"),
    ("物业不管小区电梯坏了", "property", "市房屋管理局"),
    ("窗口工作人员态度太差", "government_service", "区政务服务中心"),
    ("你好我想反映个情况", "other", "区政务服务中心"),
    ("", "other", "区政务服务中心"),
])
def test_the_bot_suggests_a_category_from_keywords(message, category, department):
    assert cycle.suggest(message, TAXONOMY) == (category, department)


def test_a_tie_goes_to_the_category_listed_first():
    first, second = TAXONOMY.categories[0], TAXONOMY.categories[1]
    message = first.keywords[0] + "，" + second.keywords[0]
    assert cycle.suggest(message, TAXONOMY)[0] == first.id


def test_states_of_older_and_withdrawn_orders():
    assert cycle.state_of(None, "open") == cycle.REGISTERED
    assert cycle.state_of(None, "closed") == cycle.CLOSED  # the desk's older 已处理
    assert cycle.state_of(cycle.DISPATCHED, "open") == cycle.DISPATCHED
    assert cycle.state_of(cycle.DISPATCHED, "cancelled") == cycle.CANCELLED
