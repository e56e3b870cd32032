"""What wraps every request: errors as JSON, the test delay, the service credential;
and the masked access log."""
from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.privacy import mask_text
from standins.gov_backend import errors
from standins.gov_backend.params import MAX_BODY
from standins.gov_backend.responses import error_response
from standins.gov_backend.state import DELAY, SETTINGS

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: aiohttp's own errors (no route, wrong method, body too large …) as our JSON errors.
HTTP_ERRORS = {
    400: ("bad_request", "请求不正确", "bad request"),
    401: ("unauthorized", "缺少或无效的服务凭证", "missing or invalid service credential"),
    404: ("not_found", "没有这个地址", "no such resource"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("payload_too_large", f"请求体过大（最多 {MAX_BODY // 1024} KB）",
          f"request body too large (at most {MAX_BODY // 1024} KB)"),
}


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON answer; details go to the (masked) log only."""
    try:
        return await handler(request)
    except errors.ApiError as exc:
        return error_response(exc.status, exc.code, exc.zh, exc.en, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, zh, en = HTTP_ERRORS.get(exc.status, ("http_error", "请求失败", exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        return error_response(exc.status, code, zh, en, headers)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the client gets an answer, the log the details
        logger.exception("error serving %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务内部错误，请稍后再试",
                              "internal error, please retry later")


@web.middleware
async def slow_down(request: web.Request, handler: Handler) -> web.StreamResponse:
    """BACKEND_DELAY_MS: every API answer waits that long (tests of a slow backend)."""
    delay = request.app[DELAY].ms
    if delay > 0 and request.path.startswith("/api/"):
        await asyncio.sleep(delay / 1000)
    return await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/ call needs `Authorization: Bearer` one of the accepted tokens."""
    if request.path.startswith("/api/"):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token_bytes = token.strip().encode("utf-8", "replace")
        ok = False
        for known in request.app[SETTINGS].tokens:  # compare with all: no early exit
            ok |= hmac.compare_digest(token_bytes, known.encode("utf-8"))
        if scheme.lower() != "bearer" or not ok:
            raise errors.unauthorized()
    return await handler(request)


#: Outermost first.
MIDDLEWARES = (errors_as_json, slow_down, authenticate)


class MaskedAccessLogger(AbstractAccessLogger):
    """Access log lines with ID and mobile numbers masked (they appear in some paths)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            mask_text(request.path_qs),
            response.status,
            time * 1000,
        )
