"""The 12345 cycle of a work order, as pure decisions: its states, which action moves it
from which state to which, who may take it, the deadline of a dispatch and the bot's
suggestion of a category. Storage is bot/handoff/order_records.py; the desk's API
web/desk/orders.py; docs/work-orders.md tells the whole.

    受理 registered ─classify→ 分类 classified ─dispatch→ 派单 dispatched
      ─feedback (the department)→ 反馈 answered ─callback solved→ 回访 visited ─close→ 办结 closed
                                              └─callback not solved→ 派单 dispatched (again)
    办结 closed ─archive→ 归档 archived;  urge (催办): a supervisor, while dispatched
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time as day_time, timedelta
from typing import Dict, FrozenSet, Optional, Sequence, Tuple

from bot.clock import LOCAL_TZ
from bot.handoff.taxonomy import FALLBACK, Category, Taxonomy
from bot.text import normalize_text

REGISTERED, CLASSIFIED, DISPATCHED, ANSWERED, VISITED, CLOSED, ARCHIVED = (
    "registered", "classified", "dispatched", "answered", "visited", "closed", "archived")
#: A work order the citizen withdrew (work_orders.status 'cancelled'): nothing moves it.
CANCELLED = "cancelled"
STATES = (REGISTERED, CLASSIFIED, DISPATCHED, ANSWERED, VISITED, CLOSED, ARCHIVED)
STATE_NAMES = {REGISTERED: "受理", CLASSIFIED: "分类", DISPATCHED: "派单", ANSWERED: "反馈",
               VISITED: "回访", CLOSED: "办结", ARCHIVED: "归档", CANCELLED: "已撤回"}
#: States in which the deadline no longer runs (overdue never).
FINISHED = frozenset({CLOSED, ARCHIVED, CANCELLED})

AGENT, SUPERVISOR, DEPARTMENT = "agent", "supervisor", "department"
DESK = frozenset({AGENT, SUPERVISOR})


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # the button
    sources: FrozenSet[str]
    roles: FrozenSet[str]
    #: The state it leads to; callback's depends on the answer (see `target`).
    to: Optional[str]


ACTIONS: Dict[str, Action] = {a.name: a for a in (
    Action("classify", "确认分类", frozenset({REGISTERED, CLASSIFIED}), DESK, CLASSIFIED),
    # From dispatched too: 转派, when the department says it is not theirs.
    Action("dispatch", "派单", frozenset({CLASSIFIED, DISPATCHED}), DESK, DISPATCHED),
    Action("feedback", "填写办理反馈", frozenset({DISPATCHED}), frozenset({DEPARTMENT}), ANSWERED),
    Action("callback", "记录回访", frozenset({ANSWERED}), DESK, None),
    Action("close", "办结", frozenset({VISITED}), DESK, CLOSED),
    Action("archive", "归档", frozenset({CLOSED}), frozenset({SUPERVISOR}), ARCHIVED),
    Action("urge", "催办", frozenset({DISPATCHED}), frozenset({SUPERVISOR}), None),
)}


class Refused(Exception):
    """An action that may not be taken: status 403 (not this role or department) or 409
    (not from the order's state, i.e. it changed under the asker)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def may_see(role: str, own_department: Optional[str], department: Optional[str]) -> bool:
    """Agents and supervisors see every order; a department user those dispatched to it."""
    if role in DESK:
        return True
    return role == DEPARTMENT and own_department is not None and department == own_department


def check(action: str, state: str, role: str, own_department: Optional[str] = None,
          department: Optional[str] = None) -> Action:
    """The action if `role` may take it on an order in `state` dispatched to
    `department`; Refused otherwise (403 before 409: a stranger learns no state)."""
    found = ACTIONS.get(action)
    if found is None:
        raise Refused(404, "unknown action")
    if role not in found.roles:
        raise Refused(403, "role")
    if role == DEPARTMENT and (own_department is None or department != own_department):
        raise Refused(403, "department")
    if state not in found.sources:
        raise Refused(409, "state")
    return found


def allowed(state: str, role: str, own_department: Optional[str] = None,
            department: Optional[str] = None) -> Tuple[str, ...]:
    """The actions `role` may take now (the page's buttons)."""
    out = []
    for name in ACTIONS:
        try:
            check(name, state, role, own_department, department)
        except Refused:
            continue
        out.append(name)
    return tuple(out)


def target(action: str, state: str, solved: Optional[bool] = None) -> str:
    """Where an action leads: a callback to 回访 when solved, back to 派单 when not; urge
    stays."""
    if action == "callback":
        return VISITED if solved else DISPATCHED
    to = ACTIONS[action].to
    return to if to is not None else state


# -- deadlines -----------------------------------------------------------------------

def _working_day(day) -> bool:
    return day.weekday() < 5  # Monday … Friday; public holidays are not known here


def due_at(dispatched_at: float, category: Category) -> float:
    """When the department's feedback is due: `hours` after dispatch, or the end (24:00,
    Shanghai) of the N-th working day after the day of dispatch."""
    if category.hours:
        return dispatched_at + category.hours * 3600
    day = datetime.fromtimestamp(dispatched_at, LOCAL_TZ).date()
    left = category.working_days or 1
    while left:
        day += timedelta(days=1)
        if _working_day(day):
            left -= 1
    end = datetime.combine(day + timedelta(days=1), day_time(0), LOCAL_TZ)
    return end.timestamp()


def overdue(state: str, due: Optional[float], now: float) -> bool:
    return due is not None and state not in FINISHED and now > due


# -- the bot's suggestion ------------------------------------------------------------

def suggest(message: str, taxonomy: Taxonomy) -> Tuple[str, str]:
    """The category whose keywords the message holds most (ties: the first listed), and
    its department; no keyword at all: the fallback category `other`."""
    text = normalize_text(message or "").lower()
    best: Optional[Category] = None
    best_hits = 0
    for category in taxonomy.categories:
        hits = sum(1 for word in category.keywords if word.lower() in text)
        if hits > best_hits:
            best, best_hits = category, hits
    chosen = best or taxonomy.category(FALLBACK) or taxonomy.categories[-1]
    return chosen.id, chosen.department


def state_of(cycle_state: Optional[str], status: Optional[str]) -> str:
    """An order's state: its cycle's; for an order without one (from before the cycle)
    registered, or closed when the desk's older 已处理 closed it; a withdrawn one is
    cancelled."""
    if status == "cancelled":
        return CANCELLED
    return cycle_state or (CLOSED if status == "closed" else REGISTERED)


def names(states: Sequence[str]) -> Tuple[str, ...]:
    return tuple(STATE_NAMES[s] for s in states)
