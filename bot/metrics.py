"""Health and metrics, the pieces every process shares (docs/operations.md).

Every process answers:

- `GET /health/live`: 200 `{"status": "ok"}` while its event loop runs (no credential,
  nothing else said);
- `GET /health/ready`: 200 `{"status": "ok"}` when it can serve, else 503
  `{"status": "unavailable", "reason": "..."}` (no credential; the reason is short and
  names no secret, host or path);
- `GET /metrics`: Prometheus' text format, only with `Authorization: Bearer
  <METRICS_TOKEN>` (401 without a bearer credential, 403 with a wrong one).

The metrics live in prometheus-client's default registry (so the process' own
`process_*` and `python_*` metrics come along). `counter`, `histogram` and `gauge` get or
make one by name, so two modules (or one module imported by two test apps) share one
metric instead of failing on a duplicate. Labels name bounded things only (channels,
actions, routes): never a sender, a text or a number (`BoundedLabel`).

Framework-free except `add_aiohttp_routes` (aiohttp, imported when called); the Sanic
version for Rasa and the action server is rasa_ext/health.py. Nothing here imports Rasa.
"""
from __future__ import annotations

import hmac
import threading
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional, Tuple

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
METRICS_PATH = "/metrics"
#: The paths answered without any credential.
HEALTH_PATHS = (LIVE_PATH, READY_PATH)

#: Every metric of ours starts with this.
PREFIX = "govbot_"
#: Seconds: a turn or an action run (a turn is ~20 ms alone, seconds under load or with
#: the backend's 2 s timeout, up to ACTION_TIMEOUT 8 s when the action server hangs).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: Body and content type of an answer: (status, JSON body).
Answer = Tuple[int, Dict[str, Any]]
#: Says why the process cannot serve (a short reason), or None when it can.
ReadyCheck = Callable[[], Awaitable[Optional[str]]]

LIVE: Dict[str, str] = {"status": "ok"}


def live() -> Answer:
    """The liveness answer: the loop ran this code."""
    return 200, dict(LIVE)


def ready(reason: Optional[str]) -> Answer:
    """The readiness answer for `reason` (None: ready)."""
    if reason is None:
        return 200, {"status": "ok"}
    return 503, {"status": "unavailable", "reason": str(reason)[:120]}


async def check_ready(check: ReadyCheck) -> Answer:
    """Runs `check`; an exception in it means not ready (its type only, not its text,
    which may name a host or a path)."""
    try:
        reason = await check()
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready"
        reason = f"check failed ({type(exc).__name__})"
    return ready(reason)


def refusal(header: Optional[str], token: str) -> Optional[Answer]:
    """None when `header` (the request's Authorization) is `Bearer <token>`; else the
    answer: 401 without a bearer credential, 403 with a wrong one. The token is compared
    whole, in constant time."""
    scheme, _, given = (header or "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return 401, {"error": "metrics need a credential (Authorization: Bearer)"}
    if not token or not hmac.compare_digest(given.encode("utf-8", "replace"),
                                            token.encode("utf-8")):
        return 403, {"error": "wrong metrics credential"}
    return None


def exposition() -> Tuple[bytes, str]:
    """(body, content type) of `/metrics`: every metric of the process."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# -- metrics, made once per process ----------------------------------------------------

_made: Dict[str, Any] = {}
_lock = threading.Lock()


def _get_or_make(kind: type, name: str, documentation: str, labels: Iterable[str],
                 **kwargs: Any) -> Any:
    if not name.startswith(PREFIX):
        raise ValueError(f"metric {name!r} must start with {PREFIX!r}")
    if kind is Counter and name.endswith("_total"):
        name = name[: -len("_total")]  # prometheus-client adds it to a counter's samples
    with _lock:
        metric = _made.get(name)
        if metric is None:
            metric = kind(name, documentation, tuple(labels), **kwargs)
            _made[name] = metric
        elif not isinstance(metric, kind):
            raise ValueError(f"metric {name!r} exists as a {type(metric).__name__}")
        return metric


def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
    """The process' counter `name` (written without the `_total` suffix Prometheus adds,
    or with it: prometheus-client accepts both)."""
    return _get_or_make(Counter, name, documentation, labels)


def histogram(name: str, documentation: str, labels: Iterable[str] = (),
              buckets: Tuple[float, ...] = LATENCY_BUCKETS) -> Histogram:
    return _get_or_make(Histogram, name, documentation, labels, buckets=buckets)


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> Gauge:
    return _get_or_make(Gauge, name, documentation, labels)


def action_errors() -> Counter:
    """`govbot_action_errors_total{action}`, one metric for Rasa (calls to the action
    server that failed or timed out) and the action server (actions that raised)."""
    return counter("govbot_action_errors_total",
                   "Custom actions that failed: on Rasa, action server calls that failed or "
                   "timed out; on the action server, actions that raised", ["action"])


class BoundedLabel:
    """A label's values, at most `limit` distinct ones (then `other`), each cut to
    `max_chars`: a label fed from outside (a channel's name) can never grow the
    metrics without bound. A set lookup per call."""

    def __init__(self, limit: int = 16, max_chars: int = 40, other: str = "other") -> None:
        self.limit, self.max_chars, self.other = limit, max_chars, other
        self._seen: set = set()
        self._lock = threading.Lock()

    def __call__(self, value: Any) -> str:
        text = str(value or "none")[: self.max_chars]
        if text in self._seen:
            return text
        with self._lock:
            if len(self._seen) >= self.limit:
                return self.other
            self._seen.add(text)
        return text


# -- aiohttp ---------------------------------------------------------------------------

def add_aiohttp_routes(app: Any, check: ReadyCheck, token: Optional[str] = None,
                       before_scrape: Optional[Callable[[], Awaitable[None]]] = None) -> None:
    """Adds `/health/live`, `/health/ready` (answered by `check`) and `/metrics` (behind
    `token`, default METRICS_TOKEN, read now: production refuses to start without one) to
    an aiohttp application. `before_scrape` updates gauges read at scrape time."""
    from aiohttp import web

    from bot import settings

    token = token or settings.metrics_token()

    async def live_route(request: web.Request) -> web.Response:
        status, body = live()
        return web.json_response(body, status=status)

    async def ready_route(request: web.Request) -> web.Response:
        status, body = await check_ready(check)
        return web.json_response(body, status=status)

    async def metrics_route(request: web.Request) -> web.Response:
        refused = refusal(request.headers.get("Authorization"), token)
        if refused is not None:
            status, body = refused
            return web.json_response(body, status=status,
                                     headers={"WWW-Authenticate": "Bearer"})
        if before_scrape is not None:
            await before_scrape()
        data, content_type = exposition()
        response = web.Response(body=data)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get(LIVE_PATH, live_route)
    app.router.add_get(READY_PATH, ready_route)
    app.router.add_get(METRICS_PATH, metrics_route)
