"""Who may call Rasa's HTTP server: the public channels, or holders of the API token.

Rasa started with `--enable-api` serves its whole HTTP API (trackers, events, actions,
model replacement, training) to anyone unless a token is configured, and then only for
the routes it decorates. Here one request middleware decides for every route, before
Sanic routes it:

- public: `/` (liveness), `/health/live` and `/health/ready` (rasa_ext/health.py; they
  say "ok" or why not ready, nothing else), the channel webhooks under `/webhooks/` (each
  verifies its platform's signature) and the socket.io path (the widget; its sessions are
  signed);
- `/metrics`: `Authorization: Bearer <METRICS_TOKEN>` (the scraper's own credential, not
  the API token; bot/metrics.py), else 401 (no credential) or 403 (a wrong one);
- development only (`make run`): the REST channel and `POST /model/parse`, which other
  tools of a developer's machine use without a credential;
- everything else: `Authorization: Bearer <RASA_API_TOKEN>`, else 401 before any work.

Browsers may call it from the portal origins of CORS_ORIGINS only (Rasa's `--cors` is
replaced by them). Bodies above RASA_MAX_BODY bytes (1 MB: a 100 KB complaint pasted into the widget still
arrives, and is cut by its channel) are refused by Sanic itself with 413 as soon as
the request's headers say so, before a byte of the body is read.
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Callable, Optional

from bot import metrics, settings

logger = logging.getLogger(__name__)

SOCKETIO_PATH = "/socket.io"


def max_body() -> int:
    """RASA_MAX_BODY (bot/settings.py; 1 MB unless set)."""
    return settings.load().rasa_max_body


def is_public(method: str, path: str, development: bool) -> bool:
    """Whether a request may reach Rasa without the API token."""
    if path == "/" or path in metrics.HEALTH_PATHS:
        return True
    if path == SOCKETIO_PATH or path.startswith(SOCKETIO_PATH + "/"):
        return True
    if path.startswith("/webhooks/rest/"):
        return development
    if path.startswith("/webhooks/"):
        return True
    return development and method == "POST" and path == "/model/parse"


def bearer_matches(header: Optional[str], token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8"))


def guard(app: Any, token: Optional[str] = None, development: Optional[bool] = None,
          metrics_token: Optional[str] = None) -> None:
    """Installs the guard and the body cap on a Sanic app (Rasa's server)."""
    from sanic import response

    token = token or settings.rasa_api_token()
    metrics_token = metrics_token or settings.metrics_token()
    dev = settings.is_development() if development is None else development
    app.config.REQUEST_MAX_SIZE = max_body()

    async def check(request: Any) -> Optional[Any]:
        if request.method == "OPTIONS" or is_public(request.method, request.path, dev):
            return None  # (CORS preflights carry no credentials; Sanic-CORS answers them)
        if request.path == metrics.METRICS_PATH:  # the scraper's token, and only that
            refused = metrics.refusal(request.headers.get("authorization"), metrics_token)
            if refused is None:
                return None
            status, body = refused
            return response.json(body, status=status, headers={"WWW-Authenticate": "Bearer"})
        if bearer_matches(request.headers.get("authorization"), token):
            return None
        return response.json({"status": "failure", "reason": "NotAuthenticated",
                              "message": "这个接口需要凭证（Authorization: Bearer）"},
                             status=401)

    # Request middleware runs before every route's handler (Rasa's and the channels').
    app.register_middleware(check, "request")


def install() -> None:
    """Wraps `rasa.core.run.configure_app` so that the app `rasa run` serves is
    guarded from its creation and answers health and metrics (the check also fails
    loudly on another Rasa)."""
    from rasa_ext import health
    from rasa_ext.patches import require_rasa

    require_rasa(__name__)
    import rasa.core.run

    configure_app: Callable[..., Any] = rasa.core.run.configure_app
    if getattr(configure_app, "_guarded", False):
        return
    token = settings.rasa_api_token()  # refuses to start without a production credential
    scrape_token = settings.metrics_token()  # likewise

    def guarded_configure_app(*args: Any, **kwargs: Any) -> Any:
        # CORS names the portal origins (CORS_ORIGINS), whatever `--cors` said.
        args = list(args)
        if len(args) > 1:
            args[1] = settings.cors_origins()
        else:
            kwargs["cors"] = settings.cors_origins()
        app = configure_app(*args, **kwargs)
        guard(app, token, metrics_token=scrape_token)
        health.add_rasa_routes(app, scrape_token)  # /health/live, /health/ready, /metrics
        return app

    guarded_configure_app._guarded = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = guarded_configure_app
