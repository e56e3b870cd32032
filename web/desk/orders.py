"""The 12345 cycle of work orders in the desk (issue 16; docs/work-orders.md): its page,
its API, and the fence that keeps department users to it.

    GET  /desk/orders                               the page (orders.js fills it)
    GET  /desk/api/orders?state=&department=&overdue=1
                                                    orders with state, category, department,
                                                    due and overdue; and the choices
    GET  /desk/api/orders/{number}                  one order, its history, its next steps
    POST /desk/api/orders/{number}/classify         {category}              agent, supervisor
    POST /desk/api/orders/{number}/dispatch         {department?}           agent, supervisor
    POST /desk/api/orders/{number}/feedback         {note}                  its department
    POST /desk/api/orders/{number}/callback         {solved, rating, note}  agent, supervisor
    POST /desk/api/orders/{number}/close                                    agent, supervisor
    POST /desk/api/orders/{number}/archive                                  supervisor
    POST /desk/api/orders/{number}/urge             {note?}                 supervisor

Every POST needs the session's CSRF token and a JSON body; it may carry `state`, the
state the asker saw: a different one answers 409, as does an order that moved on
meanwhile (conditional updates, bot/handoff/order_records.py). 403: not the role's step,
or another department's order. Each step lands in work_order_steps with actor and time.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, Optional

from aiohttp import web

from bot.dialogue import texts
from bot.handoff import order_cycle as cycle
from bot.handoff.auth import Session
from bot.handoff import work_order_status
from bot.handoff.order_records import OrderRecords, for_engine
from bot.handoff.rasa_api import bot_message
from bot.handoff.service import DeskError
from bot.privacy import mask_personal, mask_phone
from web.desk.auth import COOKIE, Handler, desk_api
from web.desk.keys import RECORDS_KEY, SERVICE_KEY, SESSIONS_KEY
from web.desk.views import read_json
from web.middlewares import json_error
from web.templating import render

logger = logging.getLogger(__name__)

TEXTS = texts.load("work_orders", {
    **{key: () for key in ("desk_no_order", "desk_role", "desk_department",
                           "desk_bad_category", "desk_bad_department", "desk_note_needed",
                           "desk_bad_solved", "desk_bad_rating")},
    "desk_state": ("state",),
})


def clock() -> float:
    """Now (the tests set their own clock here)."""
    return time.time()


def _store(request: web.Request) -> OrderRecords:
    return for_engine(request.app[RECORDS_KEY].engine)


def _own_department(store: OrderRecords, session: Session) -> Optional[str]:
    return store.department_of(session.agent) if session.role == cycle.DEPARTMENT else None


def _shown(order: Dict[str, Any], session: Session, own: Optional[str]) -> Dict[str, Any]:
    """An order as this session may see it: masked texts; no callback number for a
    department (the desk calls the citizen back); the steps it may take now."""
    shown = dict(order)
    shown["message"] = mask_personal(order.get("message"))
    if session.role == cycle.DEPARTMENT:
        shown.pop("callback_phone", None)
    else:
        shown["callback_phone"] = mask_phone(order.get("callback_phone"))
    shown["actions"] = (list(cycle.allowed(order["state"], session.role, own, order["department"]))
                        if order["state"] != cycle.CANCELLED else [])
    return shown


def _readable(store: OrderRecords, number: str, session: Session) -> Dict[str, Any]:
    order = store.order(number.strip()[:32], now=clock())
    if order is None:
        raise DeskError(404, TEXTS("desk_no_order"))
    if not cycle.may_see(session.role, _own_department(store, session), order["department"]):
        raise DeskError(403, TEXTS("desk_department"))
    return order


async def orders_page(request: web.Request) -> web.Response:
    return render(request, "desk/orders.html")


@desk_api()
async def list_orders(request: web.Request, session: Session) -> web.Response:
    store = _store(request)
    own = _own_department(store, session)
    if session.role not in cycle.DESK and own is None:
        raise DeskError(403, TEXTS("desk_role"))
    state = request.query.get("state") or None
    if state is not None and state not in cycle.STATES and state != cycle.CANCELLED:
        state = None
    department = own if own is not None else (request.query.get("department") or None)
    found = await asyncio.to_thread(
        store.orders, state=state, department=department,
        overdue=request.query.get("overdue") in ("1", "true"), now=clock())
    return web.json_response({
        "orders": [_shown(o, session, own) for o in found],
        "states": [{"id": s, "name": cycle.STATE_NAMES[s]} for s in (*cycle.STATES, cycle.CANCELLED)],
        **store.taxonomy.public(),
        "me": {"agent": session.agent, "role": session.role, "department": own},
    })


@desk_api()
async def one_order(request: web.Request, session: Session) -> web.Response:
    store = _store(request)
    order = _readable(store, request.match_info["number"], session)
    shown = _shown(order, session, _own_department(store, session))
    shown["history"] = store.history(order["number"])
    return web.json_response(shown)


def _values(action: str, order: Dict[str, Any], body: Dict[str, Any], store: OrderRecords,
            now: float) -> Dict[str, Any]:
    """The columns an action sets (and its note), from its body; 400 on a bad one."""
    taxonomy = store.taxonomy
    note = str(body.get("note") or "").strip()
    values: Dict[str, Any] = {"note": note or None}
    if action == "classify":
        category = taxonomy.category(str(body.get("category") or ""))
        if category is None:
            raise DeskError(400, TEXTS("desk_bad_category"))
        values.update(category=category.id, note=note or category.name)
    elif action == "dispatch":
        category = taxonomy.category(order["category"] or "")
        if category is None:
            raise DeskError(400, TEXTS("desk_bad_category"))
        name = str(body.get("department") or category.department)
        if taxonomy.department(name) is None:
            raise DeskError(400, TEXTS("desk_bad_department"))
        values.update(department=name, dispatched_at=now, due_at=cycle.due_at(now, category),
                      urged_at=None, note=note or name)
    elif action == "feedback":
        if not note:
            raise DeskError(400, TEXTS("desk_note_needed"))
    elif action == "callback":
        solved, rating = body.get("solved"), body.get("rating")
        if not isinstance(solved, bool):
            raise DeskError(400, TEXTS("desk_bad_solved"))
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)
                                   or not 1 <= rating <= 5):
            raise DeskError(400, TEXTS("desk_bad_rating"))
        values.update(solved=solved, rating=rating)
        summary = ("已解决" if solved else "未解决，退回部门重办") + (
            f"；满意度 {rating}" if rating is not None else "")
        values["note"] = summary + (f"；{note}" if note else "")
        if not solved:  # back to the department, with a fresh deadline
            category = taxonomy.category(order["category"] or "")
            if category is not None:
                values.update(dispatched_at=now, due_at=cycle.due_at(now, category),
                              urged_at=None)
    elif action == "urge":
        values.update(urged_at=now)
    return values


#: Channels that can take a message the citizen did not ask for (REST cannot: its client
#: reads only the answers to its own requests).
PUSHING_CHANNELS = ("socketio", "wechat", "alipay")


async def _tell_citizen(request: web.Request, order: Dict[str, Any]) -> None:
    """The citizen hears of a step worth telling (派往部门, 部门已反馈, 办结) in the
    conversation the order came from, where the channel allows; a failure is logged and
    never undoes the step (they can still ask by number)."""
    said = work_order_status.changed(order)
    stored = request.app[RECORDS_KEY].work_order(order["number"]) if said else None
    if stored is None or stored["channel"] not in PUSHING_CHANNELS:
        return
    try:
        await request.app[SERVICE_KEY].rasa.append(stored["conversation_id"], [bot_message(said)])
    except Exception:  # noqa: BLE001 - the step is done; the citizen may ask by number
        logger.warning("work order %s: the citizen could not be told", order["number"],
                       exc_info=True)


def _step(action: str) -> Handler:
    @desk_api(write=True)
    async def take(request: web.Request, session: Session) -> web.Response:
        body = await read_json(request)
        store = _store(request)
        order = _readable(store, request.match_info["number"], session)
        own = _own_department(store, session)
        try:
            cycle.check(action, order["state"], session.role, own, order["department"])
        except cycle.Refused as refused:
            if refused.status == 409:
                raise DeskError(409, TEXTS("desk_state", state=order["state_name"])) from None
            raise DeskError(refused.status, TEXTS(
                "desk_department" if refused.reason == "department" else "desk_role")) from None
        seen = body.get("state")
        if seen is not None and seen != order["state"]:
            raise DeskError(409, TEXTS("desk_state", state=order["state_name"]))
        now = clock()
        values = _values(action, order, body, store, now)
        note = values.pop("note")
        to = cycle.target(action, order["state"], values.get("solved"))
        moved = await asyncio.to_thread(
            store.move, order["number"], seen=order["state"], to=to, step=action,
            actor=session.agent, note=note, at=now, only_department=own, values=values)
        if not moved:
            current = store.order(order["number"], now=now) or order
            raise DeskError(409, TEXTS("desk_state", state=current["state_name"]))
        current = store.order(order["number"], now=now)
        await _tell_citizen(request, current)
        shown = _shown(current, session, own)
        shown["history"] = store.history(order["number"])
        return web.json_response(shown)

    take.__name__ = f"order_{action}"
    return take


#: What a department user may reach under /desk: its page, these API paths, sign-in.
DEPARTMENT_PATHS = ("/desk/api/orders", "/desk/api/me", "/desk/api/login", "/desk/api/logout")


@web.middleware
async def department_fence(request: web.Request, handler):
    """A department user works only on the orders dispatched to it: every other API of
    the desk (the live queue, conversations, reveals, the older work order list, the
    supervisor's views) answers 403, whatever those handlers check themselves."""
    path = request.path
    if (path.startswith("/desk/api/") and not path.startswith(DEPARTMENT_PATHS)
            and request.cookies.get(COOKIE)):
        session = await request.app[SESSIONS_KEY].get(request.cookies.get(COOKIE))
        if session is not None and session.role == cycle.DEPARTMENT:
            return json_error(403, TEXTS("desk_role"))
    return await handler(request)


def add_routes(desk: web.Application) -> None:
    r = desk.router
    r.add_get("/orders", orders_page)
    r.add_get("/api/orders", list_orders)
    r.add_get("/api/orders/{number}", one_order)
    for action in cycle.ACTIONS:
        r.add_post(f"/api/orders/{{number}}/{action}", _step(action))
    desk.middlewares.append(department_fence)
