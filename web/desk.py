"""The agent desk under /desk: sign-in, live queue, conversations, supervisor view.

It also owns the handoff queue: the action server asks for a person through the
/desk/internal/ endpoints (service token), so the queue works across processes even
without Redis. See docs/handoff.md.

Security: sessions are HttpOnly SameSite=Strict cookies; every state-changing request
must carry the session's CSRF token in X-CSRF-Token and a JSON body; failed sign-ins are
limited per account and per client address (X-Forwarded-For counts only when a trusted
proxy sent it, TRUSTED_PROXIES); an agent reads and writes only conversations assigned to
them (supervisors read all); revealing a masked number is audited.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence, Tuple, Union

import aiohttp
import yaml
from aiohttp import web

from bot import settings
from bot.db import engine_for
from bot.handoff import config as handoff_config
from bot.handoff.accounts import DEV_ACCOUNTS, development_accounts_wanted, seed_development_accounts
from bot.handoff.auth import DUMMY_HASH, LoginGuard, Session, Sessions, verify_password
from bot.handoff.config import HandoffConfig
from bot.handoff.queue import HandoffQueue, queue_from_env
from bot.handoff.rasa_api import RasaAPI, RasaUnavailable
from bot.handoff.records import Records
from bot.handoff.service import DeskError, HandoffService
from bot.kv import KeyValueStore, store_from_env
from bot.privacy import MaskingFilter, mask_personal, mask_phone, sealer

logger = logging.getLogger(__name__)
logger.addFilter(MaskingFilter())

STATIC = Path(__file__).parent / "static" / "desk"
CANNED_FILE = Path(__file__).resolve().parents[1] / "data" / "reference" / "canned_answers.yml"
COOKIE = "desk_session"
SERVICE_KEY = web.AppKey("handoff_service", HandoffService)
STATE_KEY = web.AppKey("desk_state", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


# -- the client's address ----------------------------------------------------------

def parse_trusted_proxies(value: str) -> Tuple[Network, ...]:
    """TRUSTED_PROXIES: the edge proxies' addresses or CIDRs, comma-separated; none by
    default. A typo must not silently trust nobody (or everybody): it refuses the start."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise settings.InsecureConfiguration(
                f"TRUSTED_PROXIES: {item!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _address(value: str) -> Optional[Address]:
    """An address as proxies write it ('198.51.100.1', '198.51.100.1:4711',
    '[2001:db8::1]:4711'); None when it is not one."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)


def client_address(
    peer: Optional[str], forwarded_for: Sequence[str], proxies: Sequence[Network]
) -> str:
    """Whom the login limits count: the peer itself unless it is a trusted proxy; behind
    trusted proxies, the right-most address of the X-Forwarded-For chain that is not a
    trusted proxy. Everything left of it was written by the client and is ignored, so a
    client can neither pick an address to dodge its limit nor lock out another one."""
    address = _address(peer) if peer else None
    if address is None:
        return peer or "unknown"
    if not _trusted(address, proxies):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        said = _address(hop)
        if said is None:
            break  # garbled: the last proxy we trust is as far as we can see
        address = said
        if not _trusted(address, proxies):
            break
    return str(address)


def _request_address(request: web.Request) -> str:
    proxies = request.app[STATE_KEY]["trusted_proxies"]
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), proxies)


def _from_trusted_proxy(request: web.Request) -> bool:
    peer = _address(request.remote or "")
    return peer is not None and _trusted(peer, request.app[STATE_KEY]["trusted_proxies"])


def secure_cookie(request: web.Request) -> bool:
    """Whether the session cookie gets `Secure`: the request is TLS, or the trusted edge
    proxy says the client's was (X-Forwarded-Proto, its left-most value), or the desk's
    public address is https, or this is production (where plain HTTP to the desk is a
    misconfiguration the browser should refuse, not carry a session over)."""
    if request.secure or not settings.is_development():
        return True
    if _from_trusted_proxy(request):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto == "https":
            return True
    return os.environ.get("PUBLIC_BASE_URL", "").strip().lower().startswith("https://")


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def _json(request: web.Request) -> Dict[str, Any]:
    if request.content_type != "application/json":
        raise DeskError(415, "请求须为 JSON")
    try:
        body = await request.json()
    except ValueError:
        raise DeskError(400, "JSON 格式不对") from None
    if not isinstance(body, dict):
        raise DeskError(400, "JSON 须为对象")
    return body


def _service(request: web.Request) -> HandoffService:
    return request.app[SERVICE_KEY]


def _handoff_id(request: web.Request) -> int:
    try:
        return int(request.match_info["handoff_id"])
    except ValueError:
        raise DeskError(404, "没有这个会话") from None


def desk_api(*, write: bool = False, supervisor: bool = False) -> Callable[[Callable], Handler]:
    """Wraps a desk handler(request, session): signed in, CSRF-checked when it changes
    state, supervisor-only when asked; DeskError and Rasa outages become JSON answers."""

    def wrap(handler: Callable[[web.Request, Session], Awaitable[web.StreamResponse]]) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            sessions: Sessions = request.app[STATE_KEY]["sessions"]
            session = await sessions.get(request.cookies.get(COOKIE))
            if session is None:
                return _error(401, "请先登录")
            if write and not hmac.compare_digest(
                request.headers.get("X-CSRF-Token", ""), session.csrf
            ):
                return _error(403, "CSRF 校验失败，请刷新页面")
            if supervisor and not session.supervisor:
                return _error(403, "仅班长（supervisor）可用")
            try:
                return await handler(request, session)
            except DeskError as exc:
                return _error(exc.status, exc.message)
            except RasaUnavailable:
                logger.exception("Rasa API call failed")
                return _error(502, "消息未能送达市民（对话服务不可用），请稍后重试")

        return run

    return wrap


def internal_api(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Handler:
    """For the action server: a bearer service token instead of a session."""

    async def run(request: web.Request) -> web.StreamResponse:
        token = request.app[STATE_KEY]["config"].service_token
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _error(401, "invalid service token")
        try:
            return await handler(request)
        except DeskError as exc:
            return _error(exc.status, exc.message)
        except (KeyError, TypeError, ValueError) as exc:
            return _error(400, f"bad request: {exc!r}"[:200])

    return run


# -- pages -------------------------------------------------------------------------

async def desk_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def supervisor_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "supervisor.html")


# -- sign-in -----------------------------------------------------------------------

def _session_answer(session: Session) -> Dict[str, Any]:
    return {"agent": session.agent, "role": session.role, "csrf": session.csrf}


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        body = await _json(request)
    except DeskError as exc:
        return _error(exc.status, exc.message)
    name = str(body.get("name") or "").strip()[:64]
    password = str(body.get("password") or "")[:256]
    address = _request_address(request)
    guard: LoginGuard = state["guard"]
    wait = await guard.blocked_for(name, address)
    if wait is not None:
        return _error(429, f"登录失败次数过多，请{int(wait // 60) + 1}分钟后再试",
                      retry_after=int(wait))
    account = state["records"].agent(name) if name else None
    # Verify even for unknown names, so timing does not tell which accounts exist.
    ok = verify_password(password, account["password_hash"] if account else DUMMY_HASH)
    if not (account and ok):
        await guard.failed(name, address)
        return _error(401, "账号或密码错误")
    await guard.succeeded(name)
    session = await state["sessions"].create(account["name"], account["role"])
    response = web.json_response(_session_answer(session))
    response.set_cookie(
        COOKIE, session.token, httponly=True, samesite="Strict", path="/desk",
        secure=secure_cookie(request), max_age=8 * 3600,
    )
    return response


@desk_api()
async def me(request: web.Request, session: Session) -> web.Response:
    return web.json_response(_session_answer(session))


@desk_api(write=True)
async def logout(request: web.Request, session: Session) -> web.Response:
    await _service(request).queue.offline(session.agent)
    await request.app[STATE_KEY]["sessions"].delete(session.token)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/desk")
    return response


@desk_api(write=True)
async def presence(request: web.Request, session: Session) -> web.Response:
    body = await _json(request)
    queue: HandoffQueue = _service(request).queue
    if body.get("online", True):
        await queue.heartbeat(session.agent)
    else:
        await queue.offline(session.agent)
    return web.json_response({"online": await queue.online()})


# -- queue and conversations ---------------------------------------------------------

@desk_api()
async def queue_view(request: web.Request, session: Session) -> web.Response:
    service = _service(request)
    return web.json_response({
        "queue": await service.queue_view(),
        "mine": service.mine(session.agent),
        "online": await service.queue.online(),
    })


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
        raise DeskError(400, "after 须为整数") from None
    return web.json_response(
        {"handoff": service.public(handoff), "messages": service.history(handoff, after)}
    )


@desk_api(write=True)
async def reveal(request: web.Request, session: Session) -> web.Response:
    service = _service(request)
    handoff = service.readable(_handoff_id(request), session.agent, session.supervisor)
    body = await _json(request)
    try:
        event_id = int(body.get("event_id"))
    except (TypeError, ValueError):
        raise DeskError(400, "event_id 须为整数") from None
    return web.json_response({"text": service.reveal(handoff, event_id, session.agent)})


@desk_api(write=True)
async def reply(request: web.Request, session: Session) -> web.Response:
    body = await _json(request)
    await _service(request).reply(_handoff_id(request), session.agent, str(body.get("text") or ""))
    return web.json_response({"ok": True})


@desk_api(write=True)
async def transfer(request: web.Request, session: Session) -> web.Response:
    body = await _json(request)
    await _service(request).transfer(_handoff_id(request), session.agent, str(body.get("to") or ""))
    return web.json_response({"ok": True})


@desk_api(write=True)
async def end(request: web.Request, session: Session) -> web.Response:
    body = await _json(request)
    closing = str(body.get("closing") or "").strip()[:500] or None
    await _service(request).end(_handoff_id(request), session.agent, closing)
    return web.json_response({"ok": True})


@desk_api()
async def canned(request: web.Request, session: Session) -> web.Response:
    return web.json_response({"answers": request.app[STATE_KEY]["canned"]})


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
    order = request.app[STATE_KEY]["records"].work_order(request.match_info["number"].strip()[:32])
    if order is None:
        raise DeskError(404, "没有这个工单号")
    return order


def _handled_by(order: Dict[str, Any], session: Session) -> None:
    """Only the agent who claimed an order (or a supervisor) sees it in full and closes
    it; any other agent sees the masked order and may claim it while nobody has."""
    if session.supervisor or order.get("claimed_by") == session.agent:
        return
    if order.get("claimed_by"):
        raise DeskError(403, f"该工单已由 {order['claimed_by']} 认领")
    raise DeskError(403, "请先认领工单")


@desk_api()
async def work_orders(request: web.Request, session: Session) -> web.Response:
    orders = request.app[STATE_KEY]["records"].open_work_orders()
    return web.json_response({"work_orders": [_public_order(o) for o in orders]})


@desk_api()
async def work_order(request: web.Request, session: Session) -> web.Response:
    """A work order by the number the citizen quotes (GD-20261127-0003)."""
    return web.json_response(_public_order(_order(request)))


@desk_api(write=True)
async def claim_order(request: web.Request, session: Session) -> web.Response:
    records: Records = request.app[STATE_KEY]["records"]
    order = _order(request)
    if not records.claim_work_order(order["number"], session.agent):
        raise DeskError(409, "工单已被认领或已处理")
    return web.json_response(_public_order(records.work_order(order["number"])))


@desk_api(write=True)
async def reveal_order(request: web.Request, session: Session) -> web.Response:
    """The order's message and callback number in full, for its claimant or a
    supervisor; who, which order and when is recorded."""
    records: Records = request.app[STATE_KEY]["records"]
    order = _order(request)
    _handled_by(order, session)
    full = records.reveal_work_order(order["number"])
    if full is None:
        raise DeskError(404, "没有这个工单号")
    records.audit_reveal(session.agent, None, f"work order {order['number']} message and phone")
    return web.json_response(full)


@desk_api(write=True)
async def close_order(request: web.Request, session: Session) -> web.Response:
    records: Records = request.app[STATE_KEY]["records"]
    order = _order(request)
    _handled_by(order, session)
    claimant = None if session.supervisor else session.agent
    if not records.close_work_order(order["number"], claimed_by=claimant):
        raise DeskError(409, "工单不存在或已处理")
    return web.json_response({"ok": True})


@desk_api(supervisor=True)
async def overview(request: web.Request, session: Session) -> web.Response:
    data = await _service(request).overview()
    data["reveals"] = request.app[STATE_KEY]["records"].reveal_log(20)
    return web.json_response(data)


# -- internal: the action server -----------------------------------------------------

@internal_api
async def internal_handoff(request: web.Request) -> web.Response:
    body = await _json(request)
    if not body.get("conversation_id"):
        raise DeskError(400, "conversation_id missing")
    return web.json_response(await _service(request).request(body))


@internal_api
async def internal_work_order(request: web.Request) -> web.Response:
    body = await _json(request)
    message = str(body.get("message") or "").strip()
    if not body.get("conversation_id") or not message:
        raise DeskError(400, "conversation_id and message are required")
    number = request.app[STATE_KEY]["records"].create_work_order(  # masked and sealed there
        conversation_id=str(body["conversation_id"]),
        channel=str(body.get("channel") or "unknown")[:32],
        kind="complaint" if body.get("kind") == "complaint" else "message",
        message=message[:4000],
        callback_phone=(str(body["callback_phone"])[:32] if body.get("callback_phone") else None),
    )
    return web.json_response({"number": number})


@internal_api
async def internal_callback(request: web.Request) -> web.Response:
    body = await _json(request)
    ok = request.app[STATE_KEY]["records"].set_callback(
        request.match_info["number"], str(body["conversation_id"]), str(body["callback_phone"])[:32]
    )
    return web.json_response({"ok": ok})


@internal_api
async def internal_cancel(request: web.Request) -> web.Response:
    body = await _json(request)
    cancelled = request.app[STATE_KEY]["records"].cancel_message_order(
        request.match_info["number"], str(body["conversation_id"])
    )
    return web.json_response({"cancelled": cancelled})


@internal_api
async def internal_rating(request: web.Request) -> web.Response:
    body = await _json(request)
    score = int(body["satisfaction"])
    if not 1 <= score <= 5:
        raise DeskError(400, "satisfaction must be 1-5")
    stored = request.app[STATE_KEY]["records"].rate(
        int(body["handoff_id"]), str(body["conversation_id"]), score
    )
    return web.json_response({"stored": stored})


# -- lifecycle -----------------------------------------------------------------------

def load_canned(path: Path = CANNED_FILE) -> list:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [{"title": str(a["title"]), "text": str(a["text"])} for a in data.get("answers", [])]


def _seed(records: Records, wanted: bool) -> None:
    """The development accounts, loudly: nobody should miss that they exist."""
    if wanted and seed_development_accounts(records):
        names = ", ".join(name for name, _, _ in DEV_ACCOUNTS)
        logger.warning(
            "\n%s\nDESK: DEVELOPMENT ACCOUNTS CREATED (%s) with the passwords published in "
            "README.md, because DESK_DEV_ACCOUNTS=1. Never on a server: create real accounts "
            "with `python -m bot.handoff.accounts add NAME --role agent`.\n%s",
            "!" * 78, names, "!" * 78,
        )
    elif not records.agent_count():
        logger.warning("desk: no account exists; create one with "
                       "`python -m bot.handoff.accounts add NAME --role agent`")


async def _sweep_forever(service: HandoffService, interval: float) -> None:
    while True:
        try:
            await service.sweep_timeouts()
        except Exception:  # noqa: BLE001 - keep sweeping; the log has the details
            logger.exception("handoff timeout sweep failed")
        await asyncio.sleep(interval)


def setup_desk(
    app: web.Application,
    cfg: Optional[HandoffConfig] = None,
    kv: Optional[KeyValueStore] = None,
    queue: Optional[HandoffQueue] = None,
) -> None:
    """Registers the desk's routes and its start-up/shutdown on the web app.

    Configuration is read here, not at start-up, so a production web app with a
    development flag or credential refuses to start before it listens."""
    state: Dict[str, Any] = {
        "trusted_proxies": parse_trusted_proxies(os.environ.get("TRUSTED_PROXIES", "")),
    }
    app[STATE_KEY] = state
    seed = development_accounts_wanted()
    config = cfg or handoff_config.load()
    sealer()  # SEAL_KEY: the reveal and the work orders' sealed texts need it

    async def start(app: web.Application) -> None:
        store = kv or store_from_env()
        records = Records.open(config.database_url)
        _seed(records, seed)
        http = aiohttp.ClientSession()
        service = HandoffService(
            cfg=config,
            records=records,
            queue=queue or queue_from_env(config.database_url, config.presence_ttl),
            rasa=RasaAPI(config.rasa_url, http, config.rasa_token),
            tracker_engine=engine_for(config.tracker_database_url),
            kv=store,
        )
        restored = await service.restore()
        if restored:
            logger.info("desk: %d waiting citizens back in the queue", restored)
        state.update(config=config, records=records, http=http, canned=load_canned(),
                     sessions=Sessions(store), guard=LoginGuard(store))
        app[SERVICE_KEY] = service
        interval = max(0.2, min(1.0, config.accept_timeout / 4))
        state["sweeper"] = asyncio.create_task(_sweep_forever(service, interval))

    async def stop(app: web.Application) -> None:
        if "sweeper" in state:
            state["sweeper"].cancel()
        if "http" in state:
            await state["http"].close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    r = app.router
    r.add_get("/desk", desk_page)
    r.add_get("/desk/", desk_page)
    r.add_get("/desk/supervisor", supervisor_page)
    r.add_static("/desk/static/", STATIC)
    r.add_post("/desk/api/login", login)
    r.add_post("/desk/api/logout", logout)
    r.add_get("/desk/api/me", me)
    r.add_post("/desk/api/presence", presence)
    r.add_get("/desk/api/queue", queue_view)
    r.add_post("/desk/api/handoffs/{handoff_id}/accept", accept)
    r.add_get("/desk/api/handoffs/{handoff_id}", conversation)
    r.add_post("/desk/api/handoffs/{handoff_id}/reveal", reveal)
    r.add_post("/desk/api/handoffs/{handoff_id}/reply", reply)
    r.add_post("/desk/api/handoffs/{handoff_id}/transfer", transfer)
    r.add_post("/desk/api/handoffs/{handoff_id}/end", end)
    r.add_get("/desk/api/canned", canned)
    r.add_get("/desk/api/work_orders", work_orders)
    r.add_get("/desk/api/work_orders/{number}", work_order)
    r.add_post("/desk/api/work_orders/{number}/claim", claim_order)
    r.add_post("/desk/api/work_orders/{number}/reveal", reveal_order)
    r.add_post("/desk/api/work_orders/{number}/close", close_order)
    r.add_get("/desk/api/supervisor/overview", overview)
    r.add_post("/desk/internal/handoffs", internal_handoff)
    r.add_post("/desk/internal/work_orders", internal_work_order)
    r.add_post("/desk/internal/work_orders/{number}/callback", internal_callback)
    r.add_post("/desk/internal/work_orders/{number}/cancel", internal_cancel)
    r.add_post("/desk/internal/ratings", internal_rating)
