"""A citizen asking in chat where their work order stands (bot/handoff/work_order_status.py)."""
from __future__ import annotations

import pytest

from bot.handoff.work_order_status import answer, asks_about, number_in

CREATED = 1765000000.0  # 2025-12-06 13:46 in Shanghai


def said(turn) -> str:
    return "\n".join(m.text for m in turn.messages)


@pytest.mark.parametrize("text,number", [
    ("查一下工单GD-20261206-0003", "GD-20261206-0003"),
    ("gd202612060003 怎么样了", "GD-20261206-0003"),
    ("工单号ＧＤ－２０２６１２０６－０００３", "GD-20261206-0003"),  # full-width
    ("我的工单处理得怎么样了", None),
    ("SH20261105000123", None),
])
def test_the_number_is_read_however_it_is_typed(text, number):
    assert number_in(text) == number


@pytest.mark.parametrize("text,asked", [
    ("我的工单处理得怎么样了", True), ("GD-20261206-0003", True),
    ("查一下办件进度SH20261105000123", False), ("我要投诉", False),
])
def test_what_counts_as_asking_about_a_work_order(text, asked):
    assert asks_about(text) is asked


@pytest.mark.parametrize("order,state", [
    ({"status": "open", "taken": False}, "等待工作人员处理"),
    ({"status": "open", "taken": True}, "工作人员已接手"),
    ({"status": "closed", "taken": True}, "已处理完毕"),
    ({"status": "cancelled", "taken": False}, "已撤回"),
])
def test_one_order_says_its_state_kind_and_day(order, state):
    text = said(answer([{"number": "GD-20251206-0001", "kind": "complaint",
                         "created_at": CREATED, **order}], "GD-20251206-0001"))
    assert "GD-20251206-0001" in text and "投诉" in text and "12月06日" in text and state in text


def test_several_orders_are_listed_and_nothing_found_says_where_else_to_ask():
    orders = [{"number": f"GD-20251206-000{i}", "kind": "message", "status": "open",
               "taken": False, "created_at": CREATED} for i in (2, 1)]
    text = said(answer(orders, None))
    assert text.index("GD-20251206-0002") < text.index("GD-20251206-0001") and "留言" in text
    assert "没有查到工单 GD-20251206-0009" in said(answer([], "GD-20251206-0009"))
    assert "12345" in said(answer([], None))
    assert "连不上" in said(answer(None, "GD-20251206-0001"))
