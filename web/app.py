"""aiohttp application: matter search and details as JSON, a small catalog page at
`/search`, and the chat widget with its demo portal page at `/` (web/widget.py).

The search here is the same `MatterIndex` the actions use, so agents, the widget and the
bot never disagree about which matter a phrase means.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Callable, MutableMapping

from aiohttp import web

from bot import settings
from bot.catalog import Catalog, default_catalog
from web import documents, widget
from web.desk import setup_desk

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_QUERY = 200
CATALOG_KEY = web.AppKey("catalog", Catalog)


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def search_matters(request: web.Request) -> web.Response:
    query = request.query.get("q", "")
    if not query.strip():
        return _json_error(400, "缺少查询参数 q")
    if len(query) > MAX_QUERY:
        return _json_error(400, f"查询过长（最多{MAX_QUERY}个字符）")
    try:
        limit = min(50, max(1, int(request.query.get("limit", "10"))))
    except ValueError:
        return _json_error(400, "limit 须为整数")
    index = request.app[CATALOG_KEY].index()
    hits = index.search(query, limit=limit)
    return web.json_response(
        {
            "query": query,
            "results": [
                {
                    "code": h.matter.code,
                    "name": h.matter.name,
                    "aliases": h.matter.aliases,
                    "score": h.score,
                }
                for h in hits
            ],
        }
    )


async def get_matter(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    matter = request.app[CATALOG_KEY].index().get(code)
    if matter is None:
        return _json_error(404, f"没有编码为 {code[:40]} 的事项")
    return web.json_response(matter.raw)


async def health(request: web.Request) -> web.Response:
    count = len(request.app[CATALOG_KEY].index().matters)
    return web.json_response({"status": "ok", "matters": count})


async def search_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


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
            return _json_error(exc.status, exc.reason)
        raise
    except Exception:  # noqa: BLE001 - the citizen gets an answer, the log the details
        logger.exception("error serving %s", request.path)
        return _json_error(500, "服务暂时不可用，请稍后再试")


MAX_BODY = 64 * 1024


@web.middleware
async def body_cap(request: web.Request, handler: Callable) -> web.StreamResponse:
    """A body the request's headers announce as too large is refused before it is read
    (aiohttp's client_max_size would first wait for, and read, 64 KB of it)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _json_error(413, f"请求过大（最多{MAX_BODY // 1024} KB）")
    return await handler(request)


def create_app(catalog: Catalog | None = None, desk: bool = True) -> web.Application:
    app = web.Application(middlewares=[body_cap, security_headers, errors],
                          client_max_size=MAX_BODY)
    app[CATALOG_KEY] = catalog or default_catalog()
    app.router.add_get("/api/matters/search", search_matters)
    app.router.add_get("/api/matters/{code}", get_matter)
    app.router.add_get("/healthz", health)
    app.router.add_get("/search", search_page)
    widget.register(app)
    app.router.add_static("/static/", STATIC)
    documents.register(app)
    if desk:
        setup_desk(app)  # the agent desk and the handoff queue (docs/handoff.md)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="web app: matter API, widget, desk")
    parser.add_argument("--port", type=int, default=settings.load().web_port)
    # Loopback unless BIND_HOST says otherwise: the edge proxy fronts the public paths.
    parser.add_argument("--host", default=settings.bind_host())
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    app[CATALOG_KEY].index()  # build the index before the first request
    web.run_app(app, host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
