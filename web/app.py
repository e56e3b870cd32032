"""aiohttp application on :8800: the matter API and the search page (search.py), the
matters' guide pages (guide.py), the chat widget with its demo portal page at `/`
(widget.py), the citizens' documents (documents.py) and the agents' desk, a
sub-application under /desk (desk/).

Everything stored on the app has a typed key (web/keys.py and each module's own); the
settings are read once, here (bot/settings.py, load_web); the pages are Jinja2 templates
(web/templates/, one Environment, autoescaped).

Health and metrics (bot/metrics.py, docs/operations.md): `/health/live`, `/health/ready`
(the database answers `SELECT 1`) and `/metrics` (METRICS_TOKEN): the handoff queue's
length and the agents online, read from the desk's handoff service at scrape time, and
the requests served by route pattern and status. `/healthz` stays as it was.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Callable, Optional

from aiohttp import web
from sqlalchemy import text

from bot import metrics, settings
from bot.catalog import Catalog, default_catalog
from bot.logs import configure_logging
from web import documents, guide, search, templating, widget
from web.desk import create_app as create_desk, mount as mount_desk
from web.desk.keys import SERVICE_KEY
from web.keys import SETTINGS_KEY, TEMPLATES_KEY
from web.middlewares import MAX_BODY, body_cap, errors, security_headers
from web.search import CATALOG_KEY

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"

#: The desk's sub-application, where the handoff service lives once the app started.
DESK_KEY = web.AppKey("desk", web.Application)
#: Seconds the readiness check waits for the database.
READY_TIMEOUT = 2.0

QUEUE_LENGTH = metrics.gauge("govbot_handoff_queue_length",
                             "Citizens waiting in the handoff queue for a person")
AGENTS_ONLINE = metrics.gauge("govbot_agents_online",
                              "Desk accounts present (a heartbeat within HANDOFF_PRESENCE_TTL)")
HTTP_REQUESTS = metrics.counter("govbot_http_requests_total",
                                "Requests the web app answered, by route pattern and status",
                                ["route", "status"])


async def health(request: web.Request) -> web.Response:
    count = len(request.app[CATALOG_KEY].index().matters)
    return web.json_response({"status": "ok", "matters": count})


def _route_of(request: web.Request) -> str:
    """The matched route's pattern (`/api/matters/{code}`, never the path itself), so the
    label's values are the app's routes: bounded."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def count_requests(request: web.Request, handler: Callable) -> web.StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    finally:
        HTTP_REQUESTS.labels(route=_route_of(request), status=str(status)).inc()


async def database_ready(app: web.Application) -> Optional[str]:
    """The web app can serve when its database answers (in a thread, at most
    READY_TIMEOUT seconds)."""
    engine = app[CATALOG_KEY].store.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), READY_TIMEOUT)
    except asyncio.TimeoutError:
        return "database timed out"
    except Exception as exc:  # noqa: BLE001 - the log has it, the answer only says so
        logger.warning("readiness: the database is unreachable (%s)", type(exc).__name__)
        return "database unreachable"
    return None


async def read_queue(app: web.Application) -> None:
    """The handoff gauges, read from the desk's service when /metrics is scraped (not
    reported while the desk is off or not started; NaN when the queue cannot be read)."""
    desk = app.get(DESK_KEY)
    service = desk.get(SERVICE_KEY) if desk is not None else None
    if service is None:
        return
    try:
        QUEUE_LENGTH.set(len(await service.queue.waiting()))
        AGENTS_ONLINE.set(len(await service.queue.online()))
    except Exception as exc:  # noqa: BLE001 - a scrape never fails on the queue
        logger.warning("metrics: the handoff queue cannot be read (%s)", type(exc).__name__)
        QUEUE_LENGTH.set(float("nan"))
        AGENTS_ONLINE.set(float("nan"))


def create_app(
    catalog: Optional[Catalog] = None,
    desk: bool = True,
    config: Optional[settings.WebSettings] = None,
) -> web.Application:
    """The web app; `config` defaults to the environment's settings, read now, so a bad
    setting refuses the start before the app listens."""
    config = config or settings.load_web()
    app = web.Application(middlewares=[count_requests, body_cap, security_headers, errors],
                          client_max_size=MAX_BODY)
    app[SETTINGS_KEY] = config
    app[TEMPLATES_KEY] = templating.environment()
    catalog = catalog or default_catalog()
    search.register(app, catalog)
    guide.register(app)  # the citizens' guide pages (办事指南) at /guide/{code}
    app.router.add_get("/healthz", health)
    metrics.add_aiohttp_routes(app, lambda: database_ready(app),
                               before_scrape=lambda: read_queue(app))
    widget.register(app)
    app.router.add_static("/static/", STATIC)
    documents.register(app)
    if desk:  # the agent desk and the handoff queue (docs/handoff.md)
        app[DESK_KEY] = create_desk(config, app[TEMPLATES_KEY], catalog=catalog)
        mount_desk(app, app[DESK_KEY])
    return app


def main() -> None:
    config = settings.load_web()
    parser = argparse.ArgumentParser(description="web app: matter API, widget, desk")
    parser.add_argument("--port", type=int, default=config.port)
    # Loopback unless BIND_HOST says otherwise: the edge proxy fronts the public paths.
    parser.add_argument("--host", default=config.host)
    args = parser.parse_args()
    configure_logging("web")
    app = create_app(config=config)
    app[CATALOG_KEY].index()  # build the index before the first request
    web.run_app(app, host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
