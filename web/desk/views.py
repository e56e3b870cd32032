"""The desk's handlers: its two pages, sign-in, the live queue and conversations, work
orders, the supervisor's overview, and the internal endpoints the action server calls.

Every handler but the pages and the sign-in passes web/desk/auth.py's checks first
(desk_api: session, CSRF, role; internal_api: the service token). An agent reads and
writes only conversations assigned to them (supervisors read all); revealing a masked
number is audited.
"""
from __future__ import annotations

import asyncio

from typing import Any, Dict

from aiohttp import web

from bot.dialogue import texts
from bot.handoff import order_records
from bot.handoff.auth import DUMMY_HASH, Session, verify_password
from bot.handoff.notes import Notes, load_tags
from bot.handoff.service import DeskError, HandoffService
from bot.privacy import mask_personal, mask_phone
from web.desk.auth import (
    COOKIE, PREFIX, desk_api, internal_api, request_address, secure_cookie,
)
from web.desk.keys import CANNED_KEY, GUARD_KEY, RECORDS_KEY, SERVICE_KEY, SESSIONS_KEY
from web.middlewares import json_error
from web.templating import render

#: The desk's refusals (data/texts/desk.yml; "no such conversation" is the handoff
#: service's own, data/texts/handoff.yml).
TEXTS = texts.load("desk", {
    "not_json": (), "bad_json": (), "json_not_object": (), "not_integer": ("name",),
    "too_many_failures": ("minutes",), "wrong_login": (), "no_work_order": (),
    "order_claimed_by": ("agent",), "claim_first": (), "order_taken": (), "order_gone": (),
})
#: The desk's words for the notes, tags and audit log (data/texts/handoff.yml).
DESK_TEXTS = texts.load("handoff", {
    "desk_note_empty": (), "desk_unknown_tag": (), "audit_message": (),
    "audit_order": ("number",), "audit_handoff": ("short", "channel"),
})
HANDOFF_TEXTS = texts.load("handoff", {"desk_no_conversation": ()})


async def read_json(request: web.Request) -> Dict[str, Any]:
    if request.content_type != "application/json":
        raise DeskError(415, TEXTS("not_json"))
    try:
        body = await request.json()
    except ValueError:
        raise DeskError(400, TEXTS("bad_json")) from None
    if not isinstance(body, dict):
        raise DeskError(400, TEXTS("json_not_object"))
    return body


def _service(request: web.Request) -> HandoffService:
    return request.app[SERVICE_KEY]


def _handoff_id(request: web.Request) -> int:
    try:
        return int(request.match_info["handoff_id"])
    except ValueError:
        raise DeskError(404, HANDOFF_TEXTS("desk_no_conversation")) from None


# -- pages -------------------------------------------------------------------------

async def desk_page(request: web.Request) -> web.Response:
    return render(request, "desk/index.html")


async def supervisor_page(request: web.Request) -> web.Response:
    return render(request, "desk/supervisor.html")


# -- sign-in -----------------------------------------------------------------------

def _session_answer(session: Session) -> Dict[str, Any]:
    return {"agent": session.agent, "role": session.role, "csrf": session.csrf}


async def login(request: web.Request) -> web.Response:
    try:
        body = await read_json(request)
    except DeskError as exc:
        return json_error(exc.status, exc.message)
    name = str(body.get("name") or "").strip()[:64]
    password = str(body.get("password") or "")[:256]
    address = request_address(request)
    guard = request.app[GUARD_KEY]
    wait = await guard.blocked_for(name, address)
    if wait is not None:
        return json_error(429, TEXTS("too_many_failures", minutes=int(wait // 60) + 1),
                          retry_after=int(wait))
    account = request.app[RECORDS_KEY].agent(name) if name else None
    # Verify even for unknown names, so timing does not tell which accounts exist.
    ok = verify_password(password, account["password_hash"] if account else DUMMY_HASH)
    if not (account and ok):
        await guard.failed(name, address)
        return json_error(401, TEXTS("wrong_login"))
    await guard.succeeded(name)
    session = await request.app[SESSIONS_KEY].create(account["name"], account["role"])
    response = web.json_response(_session_answer(session))
    response.set_cookie(
        COOKIE, session.token, httponly=True, samesite="Strict", path=PREFIX,
        secure=secure_cookie(request), max_age=8 * 3600,
    )
    return response


@desk_api()
async def me(request: web.Request, session: Session) -> web.Response:
    return web.json_response(_session_answer(session))


@desk_api(write=True)
async def logout(request: web.Request, session: Session) -> web.Response:
    await _service(request).queue.offline(session.agent)
    await request.app[SESSIONS_KEY].delete(session.token)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path=PREFIX)
    return response


@desk_api(write=True)
async def presence(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    queue = _service(request).queue
    if body.get("online", True):
        await queue.heartbeat(session.agent)
    else:
        await queue.offline(session.agent)
    return web.json_response({"online": await queue.online()})


# -- queue and conversations ---------------------------------------------------------

@desk_api()
async def queue_view(request: web.Request, session: Session) -> web.Response:
    """The waiting line, the agent's own chats and who is online; for supervisors also
    every live chat (全部)."""
    service = _service(request)
    answer = {
        "queue": await service.queue_view(),
        "mine": service.mine(session.agent),
        "online": await service.queue.online(),
        "now": service.clock(),
    }
    if session.supervisor:
        answer["all"] = [service.public(h) for h in service.records.handoffs_in("active")]
    return web.json_response(answer)


@desk_api(write=True)
async def accept(request: web.Request, session: Session) -> web.Response:
    return web.json_response(await _service(request).accept(_handoff_id(request), session.agent))


@desk_api()
async def conversation(request: web.Request, session: Session) -> web.Response:
    service = _service(request)
    handoff = service.readable(_handoff_id(request), session.agent, session.supervisor)
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        raise DeskError(400, TEXTS("not_integer", name="after")) from None
    return web.json_response(
        {"handoff": service.public(handoff), "messages": service.history(handoff, after)}
    )


@desk_api(write=True)
async def reveal(request: web.Request, session: Session) -> web.Response:
    service = _service(request)
    handoff = service.readable(_handoff_id(request), session.agent, session.supervisor)
    body = await read_json(request)
    try:
        event_id = int(body.get("event_id"))
    except (TypeError, ValueError):
        raise DeskError(400, TEXTS("not_integer", name="event_id")) from None
    return web.json_response({"text": service.reveal(handoff, event_id, session.agent)})


@desk_api(write=True)
async def reply(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    await _service(request).reply(_handoff_id(request), session.agent, str(body.get("text") or ""))
    return web.json_response({"ok": True})


@desk_api(write=True)
async def transfer(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    await _service(request).transfer(_handoff_id(request), session.agent, str(body.get("to") or ""))
    return web.json_response({"ok": True})


@desk_api(write=True)
async def end(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    closing = str(body.get("closing") or "").strip()[:500] or None
    await _service(request).end(_handoff_id(request), session.agent, closing)
    return web.json_response({"ok": True})


@desk_api()
async def canned(request: web.Request, session: Session) -> web.Response:
    return web.json_response({"answers": request.app[CANNED_KEY]})


# -- beside a conversation: earlier chats, work orders, notes and wrap-up tags ------------

def _notes(request: web.Request) -> Notes:
    return Notes.of(request.app[RECORDS_KEY].engine)


@desk_api()
async def handoff_context(request: web.Request, session: Session) -> web.Response:
    """The side panel: the citizen's earlier chats (other handoffs of the conversation),
    the conversation's work orders, the notes and tags of this handoff, the tags there are."""
    service = _service(request)
    handoff = service.readable(_handoff_id(request), session.agent, session.supervisor)
    notes = _notes(request).of_handoff(handoff["id"])
    return web.json_response({
        "earlier": service.earlier(handoff),
        "orders": request.app[RECORDS_KEY].orders_of(handoff["conversation_id"], limit=10),
        "notes": [n for n in notes if n["kind"] == "note"],
        "tags": [n["text"] for n in notes if n["kind"] == "tag"],
        "all_tags": load_tags(),
    })


@desk_api(write=True)
async def add_note(request: web.Request, session: Session) -> web.Response:
    """{"kind": "note", "text"} an internal note (never sent to the citizen); {"kind":
    "tag", "text", "remove"?} a wrap-up tag of data/reference/wrap_up_tags.yml."""
    service = _service(request)
    handoff = service.readable(_handoff_id(request), session.agent, session.supervisor)
    body = await read_json(request)
    kind = "tag" if body.get("kind") == "tag" else "note"
    text = str(body.get("text") or "").strip()
    notes = _notes(request)
    if kind == "tag":
        if text not in load_tags():
            raise DeskError(400, DESK_TEXTS["desk_unknown_tag"])
        if body.get("remove"):
            notes.remove_tag(handoff["id"], text)
            return web.json_response({"ok": True})
    elif not text:
        raise DeskError(400, DESK_TEXTS["desk_note_empty"])
    return web.json_response(notes.add(handoff["id"], session.agent, kind, text))


@desk_api(write=True, supervisor=True)
async def take_over(request: web.Request, session: Session) -> web.Response:
    return web.json_response(
        await _service(request).take_over(_handoff_id(request), session.agent))


def _accounts(request: web.Request) -> Dict[str, str]:
    """name → role of every desk account."""
    import sqlalchemy as sa

    from bot.handoff.records import agents

    with request.app[RECORDS_KEY].engine.connect() as conn:
        return {name: role for name, role in conn.execute(sa.select(agents.c.name, agents.c.role))}


@desk_api(supervisor=True)
async def wallboard(request: web.Request, session: Session) -> web.Response:
    data = await _service(request).wallboard(_accounts(request))
    data["reveals"] = _reveal_log(request, 20)
    # overdue work orders, for 催办 (bot/handoff/order_records.py): message and phone left out
    overdue = await asyncio.to_thread(
        order_records.for_engine(request.app[RECORDS_KEY].engine).orders, overdue=True, limit=50)
    data["overdue_orders"] = [
        {key: order[key] for key in ("number", "category_name", "department", "due_at",
                                     "urged_at", "state_name")}
        for order in overdue]
    return web.json_response(data)


def _reveal_log(request: web.Request, limit: int) -> list:
    """The audit log as a supervisor reads it: who, when, and which chat or order in
    words (the conversation's short label and channel), not raw ids."""
    records = request.app[RECORDS_KEY]
    service = _service(request)
    out = []
    for row in records.reveal_log(limit):
        handoff = records.handoff(row["handoff_id"]) if row.get("handoff_id") else None
        what = row["what"] or ""
        if what.startswith("work order "):
            words = DESK_TEXTS("audit_order", number=what.split()[2])
        elif handoff is not None:
            public = service.public(handoff)
            words = DESK_TEXTS("audit_handoff", short=public["short"],
                               channel=public["channel_label"]) + DESK_TEXTS["audit_message"]
        else:
            words = DESK_TEXTS["audit_message"]
        out.append(row | {"what_label": words,
                          "topic": handoff["topic"] if handoff else None})
    return out


# -- work orders -------------------------------------------------------------------

def _public_order(order: Dict[str, Any]) -> Dict[str, Any]:
    """An order as every agent may see it: ID numbers, phones and six-character codes in
    its message masked, the callback number masked (stored so already; masked again in
    case an older row was not)."""
    return {
        "number": order["number"], "conversation_id": order["conversation_id"],
        "channel": order["channel"], "kind": order["kind"], "status": order["status"],
        "created_at": order["created_at"], "claimed_by": order.get("claimed_by"),
        "message": mask_personal(order.get("message")),
        "callback_phone": mask_phone(order.get("callback_phone")),
    }


def _order(request: web.Request) -> Dict[str, Any]:
    order = request.app[RECORDS_KEY].work_order(request.match_info["number"].strip()[:32])
    if order is None:
        raise DeskError(404, TEXTS("no_work_order"))
    return order


def _handled_by(order: Dict[str, Any], session: Session) -> None:
    """Only the agent who claimed an order (or a supervisor) sees it in full and closes
    it; any other agent sees the masked order and may claim it while nobody has."""
    if session.supervisor or order.get("claimed_by") == session.agent:
        return
    if order.get("claimed_by"):
        raise DeskError(403, TEXTS("order_claimed_by", agent=order["claimed_by"]))
    raise DeskError(403, TEXTS("claim_first"))


@desk_api()
async def work_orders(request: web.Request, session: Session) -> web.Response:
    orders = request.app[RECORDS_KEY].open_work_orders()
    return web.json_response({"work_orders": [_public_order(o) for o in orders]})


@desk_api()
async def work_order(request: web.Request, session: Session) -> web.Response:
    """A work order by the number the citizen quotes (GD-20261127-0003)."""
    return web.json_response(_public_order(_order(request)))


@desk_api(write=True)
async def claim_order(request: web.Request, session: Session) -> web.Response:
    records = request.app[RECORDS_KEY]
    order = _order(request)
    if not records.claim_work_order(order["number"], session.agent):
        raise DeskError(409, TEXTS("order_taken"))
    return web.json_response(_public_order(records.work_order(order["number"])))


@desk_api(write=True)
async def reveal_order(request: web.Request, session: Session) -> web.Response:
    """The order's message and callback number in full, for its claimant or a
    supervisor; who, which order and when is recorded."""
    records = request.app[RECORDS_KEY]
    order = _order(request)
    _handled_by(order, session)
    full = records.reveal_work_order(order["number"])
    if full is None:
        raise DeskError(404, TEXTS("no_work_order"))
    records.audit_reveal(session.agent, None, f"work order {order['number']} message and phone")
    return web.json_response(full)


@desk_api(write=True)
async def close_order(request: web.Request, session: Session) -> web.Response:
    records = request.app[RECORDS_KEY]
    order = _order(request)
    _handled_by(order, session)
    claimant = None if session.supervisor else session.agent
    if not records.close_work_order(order["number"], claimed_by=claimant):
        raise DeskError(409, TEXTS("order_gone"))
    return web.json_response({"ok": True})


@desk_api(supervisor=True)
async def overview(request: web.Request, session: Session) -> web.Response:
    data = await _service(request).overview()
    data["reveals"] = _reveal_log(request, 20)
    return web.json_response(data)


# -- internal: the action server -----------------------------------------------------

@internal_api
async def internal_handoff(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not body.get("conversation_id"):
        raise DeskError(400, "conversation_id missing")
    return web.json_response(await _service(request).request(body))


@internal_api
async def internal_work_order(request: web.Request) -> web.Response:
    body = await read_json(request)
    message = str(body.get("message") or "").strip()
    if not body.get("conversation_id") or not message:
        raise DeskError(400, "conversation_id and message are required")
    number = request.app[RECORDS_KEY].create_work_order(  # masked and sealed there
        conversation_id=str(body["conversation_id"]),
        channel=str(body.get("channel") or "unknown")[:32],
        kind="complaint" if body.get("kind") == "complaint" else "message",
        message=message[:4000],
        callback_phone=(str(body["callback_phone"])[:32] if body.get("callback_phone") else None),
    )
    order_records.for_engine(request.app[RECORDS_KEY].engine).register(number, message)  # 受理
    return web.json_response({"number": number})


@internal_api
async def internal_callback(request: web.Request) -> web.Response:
    body = await read_json(request)
    ok = request.app[RECORDS_KEY].set_callback(
        request.match_info["number"], str(body["conversation_id"]), str(body["callback_phone"])[:32]
    )
    return web.json_response({"ok": ok})


@internal_api
async def internal_orders_of(request: web.Request) -> web.Response:
    """The states of a conversation's own work orders, for the citizen asking in chat."""
    body = await read_json(request)
    if not body.get("conversation_id"):
        raise DeskError(400, "conversation_id is required")
    number = str(body["number"])[:32] if body.get("number") else None
    orders = request.app[RECORDS_KEY].orders_of(str(body["conversation_id"]), number)
    orders = order_records.with_cycle(request.app[RECORDS_KEY].engine, orders)  # its 12345 state
    return web.json_response({"orders": orders})


@internal_api
async def internal_cancel(request: web.Request) -> web.Response:
    body = await read_json(request)
    cancelled = request.app[RECORDS_KEY].cancel_message_order(
        request.match_info["number"], str(body["conversation_id"])
    )
    return web.json_response({"cancelled": cancelled})


@internal_api
async def internal_rating(request: web.Request) -> web.Response:
    body = await read_json(request)
    score = int(body["satisfaction"])
    if not 1 <= score <= 5:
        raise DeskError(400, "satisfaction must be 1-5")
    stored = request.app[RECORDS_KEY].rate(
        int(body["handoff_id"]), str(body["conversation_id"]), score
    )
    return web.json_response({"stored": stored})


