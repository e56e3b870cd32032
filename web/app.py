"""aiohttp application on :8800: the matter API and the search page (search.py), the
matters' guide pages (guide.py), the chat widget with its demo portal page at `/`
(widget.py), the citizens' documents (documents.py) and the agents' desk, a
sub-application under /desk (desk/).

Everything stored on the app has a typed key (web/keys.py and each module's own); the
settings are read once, here (bot/settings.py, load_web); the pages are Jinja2 templates
(web/templates/, one Environment, autoescaped).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional

from aiohttp import web

from bot import settings
from bot.catalog import Catalog, default_catalog
from bot.logs import configure_logging
from web import documents, guide, search, templating, widget
from web.desk import create_app as create_desk, mount as mount_desk
from web.keys import SETTINGS_KEY, TEMPLATES_KEY
from web.middlewares import MAX_BODY, body_cap, errors, security_headers
from web.search import CATALOG_KEY

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


async def health(request: web.Request) -> web.Response:
    count = len(request.app[CATALOG_KEY].index().matters)
    return web.json_response({"status": "ok", "matters": count})


def create_app(
    catalog: Optional[Catalog] = None,
    desk: bool = True,
    config: Optional[settings.WebSettings] = None,
) -> web.Application:
    """The web app; `config` defaults to the environment's settings, read now, so a bad
    setting refuses the start before the app listens."""
    config = config or settings.load_web()
    app = web.Application(middlewares=[body_cap, security_headers, errors],
                          client_max_size=MAX_BODY)
    app[SETTINGS_KEY] = config
    app[TEMPLATES_KEY] = templating.environment()
    catalog = catalog or default_catalog()
    search.register(app, catalog)
    guide.register(app)  # the citizens' guide pages (办事指南) at /guide/{code}
    app.router.add_get("/healthz", health)
    widget.register(app)
    app.router.add_static("/static/", STATIC)
    documents.register(app)
    if desk:  # the agent desk and the handoff queue (docs/handoff.md)
        mount_desk(app, create_desk(config, app[TEMPLATES_KEY], catalog=catalog))
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
