"""`/health/live`, `/health/ready` and `/metrics` on a Sanic app: Rasa's server (added
by rasa_ext/api_guard.py as the app is made) and the action server (actions/server.py).
What they answer is bot/metrics.py's; docs/operations.md lists the metrics.

Imports no Rasa (the action server uses it too); Sanic is imported when called.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from bot import metrics, settings


def add_routes(app: Any, check: Callable[[Any], Awaitable[Optional[str]]],
               token: Optional[str] = None,
               before_scrape: Optional[Callable[[Any], Awaitable[None]]] = None) -> None:
    """The three routes on a Sanic app (before it starts). `check(app)` says why the
    process cannot serve, or None; `before_scrape(app)` sets the gauges read at scrape
    time. `token` defaults to METRICS_TOKEN, read now: production refuses to start
    without a real one."""
    from sanic import response

    token = token or settings.metrics_token()

    async def govbot_health_live(request: Any) -> Any:
        status, body = metrics.live()
        return response.json(body, status=status)

    async def govbot_health_ready(request: Any) -> Any:
        status, body = await metrics.check_ready(lambda: check(request.app))
        return response.json(body, status=status)

    async def govbot_metrics(request: Any) -> Any:
        refused = metrics.refusal(request.headers.get("authorization"), token)
        if refused is not None:
            status, body = refused
            return response.json(body, status=status, headers={"WWW-Authenticate": "Bearer"})
        if before_scrape is not None:
            await before_scrape(request.app)
        data, content_type = metrics.exposition()
        return response.raw(data, content_type=content_type)

    for handler, path in ((govbot_health_live, metrics.LIVE_PATH),
                          (govbot_health_ready, metrics.READY_PATH),
                          (govbot_metrics, metrics.METRICS_PATH)):
        app.add_route(handler, path, methods=["GET"], name=handler.__name__)


# -- Rasa's server ---------------------------------------------------------------------

NO_MODEL = "no model loaded"


def _agent_ready(app: Any) -> bool:
    agent = getattr(app.ctx, "agent", None)
    return agent is not None and agent.is_ready()


MEMORY_TRACKER_STORE = "the tracker store did not start (Rasa fell back to memory)"


def _fell_back_to_memory(app: Any) -> bool:
    """Rasa replaces a tracker store that fails to start by one in the process's memory,
    saying only "not found" in its log: such an instance shares no conversation with the
    others and loses them all on a restart. Every endpoints file we write names a SQL
    store, so a store in memory is always that failure."""
    store = getattr(getattr(app.ctx, "agent", None), "tracker_store", None)
    inner = getattr(store, "_tracker_store", store)
    return type(inner).__name__ == "InMemoryTrackerStore"


async def rasa_ready(app: Any) -> Optional[str]:
    """Rasa can serve when its agent has a model (none before the start's load, none
    after `DELETE /model`) and its conversations in the configured store."""
    if not _agent_ready(app):
        return NO_MODEL
    return MEMORY_TRACKER_STORE if _fell_back_to_memory(app) else None


async def rasa_before_scrape(app: Any) -> None:
    from rasa_ext.patches.turn_metrics import MODEL_LOADED

    MODEL_LOADED.set(1 if _agent_ready(app) else 0)


def add_rasa_routes(app: Any, token: Optional[str] = None) -> None:
    add_routes(app, rasa_ready, token, rasa_before_scrape)
