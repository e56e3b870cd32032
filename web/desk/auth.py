"""Who is asking the desk: the client's address (for the sign-in limits), the session
cookie and its Secure flag, and the checks every handler passes first (signed in, CSRF
token on a change, supervisor where asked; the service token for the action server).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Awaitable, Callable, Optional, Sequence, Tuple, Union

from aiohttp import web

from bot import settings
from bot.dialogue import texts
from bot.handoff.auth import Session
from bot.handoff.rasa_api import RasaUnavailable
from bot.handoff.service import DeskError
from web.desk.keys import CONFIG_KEY, PROXIES_KEY, SESSIONS_KEY, Network
from web.keys import SETTINGS_KEY
from web.middlewares import json_error

logger = logging.getLogger(__name__)

#: What the checks answer (data/texts/desk.yml).
TEXTS = texts.load("desk", {
    "sign_in_first": (), "csrf_failed": (), "supervisor_only": (), "not_delivered": (),
})

#: Where the desk is mounted on the web app; its session cookie is sent only there.
PREFIX = "/desk"
COOKIE = "desk_session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SessionHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
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


def request_address(request: web.Request) -> str:
    proxies = request.app[PROXIES_KEY]
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), proxies)


def _from_trusted_proxy(request: web.Request) -> bool:
    peer = _address(request.remote or "")
    return peer is not None and _trusted(peer, request.app[PROXIES_KEY])


def secure_cookie(request: web.Request) -> bool:
    """Whether the session cookie gets `Secure`: the request is TLS, or the trusted edge
    proxy says the client's was (X-Forwarded-Proto, its left-most value), or the desk's
    public address is https, or this is production (where plain HTTP to the desk is a
    misconfiguration the browser should refuse, not carry a session over)."""
    config = request.app[SETTINGS_KEY]
    if request.secure or not config.development:
        return True
    if _from_trusted_proxy(request):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto == "https":
            return True
    return config.public_base_url.lower().startswith("https://")


# -- the checks before a handler -----------------------------------------------------

def desk_api(
    *, write: bool = False, supervisor: bool = False
) -> Callable[[SessionHandler], Handler]:
    """Wraps a desk handler(request, session): signed in, CSRF-checked when it changes
    state, supervisor-only when asked; DeskError and Rasa outages become JSON answers."""

    def wrap(handler: SessionHandler) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            session = await request.app[SESSIONS_KEY].get(request.cookies.get(COOKIE))
            if session is None:
                return json_error(401, TEXTS("sign_in_first"))
            if write and not hmac.compare_digest(
                request.headers.get("X-CSRF-Token", ""), session.csrf
            ):
                return json_error(403, TEXTS("csrf_failed"))
            if supervisor and not session.supervisor:
                return json_error(403, TEXTS("supervisor_only"))
            try:
                return await handler(request, session)
            except DeskError as exc:
                return json_error(exc.status, exc.message)
            except RasaUnavailable:
                logger.exception("Rasa API call failed")
                return json_error(502, TEXTS("not_delivered"))

        return run

    return wrap


def internal_api(handler: Handler) -> Handler:
    """For the action server: a bearer service token instead of a session."""

    async def run(request: web.Request) -> web.StreamResponse:
        token = request.app[CONFIG_KEY].service_token
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return json_error(401, "invalid service token")
        try:
            return await handler(request)
        except DeskError as exc:
            return json_error(exc.status, exc.message)
        except (KeyError, TypeError, ValueError) as exc:
            return json_error(400, f"bad request: {exc!r}"[:200])

    return run
