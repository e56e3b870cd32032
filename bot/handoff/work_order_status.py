"""A citizen asking in chat where their work order stands ("查一下工单GD-20261206-0003",
"我的工单处理得怎么样了").

The work order number is what the bot gave them when the order was registered; the desk
answers only for the orders of the asking conversation (web/desk/views.py
internal_orders_of), so a number seen elsewhere tells nobody anything. With the 12345
cycle (docs/work-orders.md) the desk adds each order's state, department and deadline:
已受理 / 已派往{department}处理 (and the deadline) / 部门已反馈 / 已回访 / 已办结. An application
number (SH…) is a different thing: the status check with identity proof (bot/status/).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence, Tuple

from bot.dialogue import texts
from bot.dialogue.turn import Turn
from bot.clock import LOCAL_TZ
from bot.text import normalize_text

TEXTS = texts.load("work_orders", {
    "one": ("number", "kind", "date", "state"),
    **{key: () for key in ("kind_message", "kind_complaint", "state_open", "state_taken",
                           "state_closed", "state_cancelled", "list_head", "none",
                           "unavailable")},
    "not_found": ("number",),
    **{f"cycle_{state}": () for state in ("registered", "classified", "answered", "visited",
                                          "closed", "archived")},
    "cycle_dispatched": ("department",), "due": ("date",), "changed": ("number", "state"),
})
#: The steps a citizen is told of unasked, where the channel can take such a message.
TOLD_STATES = ("dispatched", "answered", "closed")
#: The 12345 cycle's states the citizen hears (bot/handoff/order_cycle.py); a withdrawn
#: order keeps its own words.
CYCLE_STATES = ("registered", "classified", "dispatched", "answered", "visited", "closed",
                "archived")
#: GD-<date>-<NNNN> as bot/handoff/records.py numbers them; dashes and case forgiven.
NUMBER = re.compile(r"GD-?(\d{8})-?(\d{4})(?!\d)", re.IGNORECASE)
#: The word that makes a message about a work order (not an application: 办件, 申请).
WORD = "工单"


def _number(clean: str) -> Optional[str]:
    match = NUMBER.search(clean)
    return f"GD-{match.group(1)}-{match.group(2)}" if match else None


def asked(text: str, by_word: bool = True) -> Tuple[bool, Optional[str]]:
    """Whether the message asks about a work order, and the number it gives: a number
    always counts, the word 工单 only `by_word` (not while a status check waits for an
    answer of its own)."""
    clean = normalize_text(text or "")
    number = _number(clean)
    return number is not None or (by_word and WORD in clean), number


def number_in(text: str) -> Optional[str]:
    return _number(normalize_text(text or ""))


def asks_about(text: str) -> bool:
    """The message names a work order: its number or the word 工单."""
    return asked(text)[0]


def _cycle_state(order: Mapping[str, Any]) -> Optional[str]:
    """The cycle's words for the order (已派往…处理 and the due date), None for an order
    the desk told no cycle state of, or a withdrawn one."""
    state = order.get("state")
    if state not in CYCLE_STATES:
        return None
    if state == "dispatched":
        said = TEXTS("cycle_dispatched", department=order.get("department") or "相关部门")
    else:
        said = TEXTS(f"cycle_{state}")
    due = order.get("due_at")
    if due and state in ("dispatched", "answered"):
        day = datetime.fromtimestamp(float(due) - 1, LOCAL_TZ)  # 24:00 is the day before's end
        said += TEXTS("due", date=f"{day.month}月{day.day}日")
    return said


def _line(order: Mapping[str, Any]) -> str:
    status = order.get("status")
    state = ("state_taken" if status == "open" and order.get("taken") else
             f"state_{status}" if status in ("open", "closed", "cancelled") else "state_open")
    cycle_said = _cycle_state(order) if status != "cancelled" else None
    kind = "kind_complaint" if order.get("kind") == "complaint" else "kind_message"
    date = datetime.fromtimestamp(float(order.get("created_at") or 0), LOCAL_TZ).strftime("%m月%d日")
    return TEXTS("one", number=order["number"], kind=TEXTS(kind), date=date,
                 state=cycle_said or TEXTS(state))


def answer(orders: Optional[Sequence[Mapping[str, Any]]], number: Optional[str]) -> Turn:
    """What the citizen hears: the order asked about, or the conversation's orders, or
    where else to ask. `orders` None: the desk could not be reached."""
    if orders is None:
        return Turn().say(TEXTS("unavailable"))
    if not orders:
        return Turn().say(TEXTS("not_found", number=number) if number else TEXTS("none"))
    if number or len(orders) == 1:
        return Turn().say(_line(orders[0]))
    return Turn().say("\n".join([TEXTS("list_head"), *(_line(o) for o in orders)]))


def changed(order: Mapping[str, Any]) -> Optional[str]:
    """What the citizen is told when their order reaches a step worth telling (派往部门,
    部门已反馈, 办结), None for the others."""
    if order.get("state") not in TOLD_STATES:
        return None
    return TEXTS("changed", number=order["number"], state=_cycle_state(order))
