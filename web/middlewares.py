"""What every request to the web app passes through: a cap on the body, the private
pages' security headers, and errors as JSON answers under /api/."""
from __future__ import annotations

import logging
from typing import Any, Callable, MutableMapping

from aiohttp import web

from bot.dialogue import texts

logger = logging.getLogger(__name__)

#: The answers when a request fails (data/texts/web.yml).
TEXTS = texts.load("web", {"unavailable": (), "body_too_large": ("kilobytes",)})


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """The one shape of an error answer: {"error": message, ...extra}."""
    return web.json_response({"error": message, **extra}, status=status)


#: Paths of the agents' desk and the citizens' documents: only this app's own pages may
#: show them, and nobody may frame them (clickjacking a reveal or a sign-in). The demo
#: portal at / and the widget's files are made to be embedded by other portals, so they
#: keep their framing.
PRIVATE_PREFIXES = ("/desk/", "/documents/")
#: The desk loads only its own script and style sheet (no inline code), talks only to
#: this origin, and may not be framed. The documents pages set a stricter policy of
#: their own (web/documents.py), which is kept.
PRIVATE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def is_private_path(path: str) -> bool:
    return path == "/desk" or path.startswith(PRIVATE_PREFIXES)


def _add_private_headers(headers: MutableMapping[str, str]) -> None:
    for name, value in PRIVATE_HEADERS.items():
        headers.setdefault(name, value)


@web.middleware
async def security_headers(request: web.Request, handler: Callable) -> web.StreamResponse:
    """The desk's and the documents' headers (PRIVATE_HEADERS) on every answer there,
    errors and static files included; other paths are left as they are."""
    if not is_private_path(request.path):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add_private_headers(exc.headers)
        raise
    _add_private_headers(response.headers)
    return response


@web.middleware
async def errors(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Every failure is a JSON answer; internals stay in the log."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            return json_error(exc.status, exc.reason)
        raise
    except Exception:  # noqa: BLE001 - the citizen gets an answer, the log the details
        logger.exception("error serving %s", request.path)
        return json_error(500, TEXTS("unavailable"))


MAX_BODY = 64 * 1024


@web.middleware
async def body_cap(request: web.Request, handler: Callable) -> web.StreamResponse:
    """A body the request's headers announce as too large is refused before it is read
    (aiohttp's client_max_size would first wait for, and read, 64 KB of it)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413, TEXTS("body_too_large", kilobytes=MAX_BODY // 1024))
    return await handler(request)
