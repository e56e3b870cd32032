"""The matter catalog on the web: search and details as JSON (/api/matters/...) and the
citizens' search page at /search.

The search here is the same `MatterIndex` the actions use, so agents, the widget and the
bot never disagree about which matter a phrase means.

The search page is for citizens: server-rendered (it works without JavaScript; the
static web/static/search.js only refreshes the results while typing), each result a
link to the matter's guide page (web/guide.py), no scores or codes, and an empty state
that says what to try. `citizen_page` renders it and the guide pages with the chat
widget's tag and the demo portal's Content-Security-Policy (own scripts and styles
only), so none of them may carry inline script or style.
"""
from __future__ import annotations

from typing import Any, Dict, List

from aiohttp import web

from bot.catalog import Catalog
from bot.catalog.schema import Matter
from bot.dialogue import texts
from web import widget
from web.keys import SETTINGS_KEY
from web.middlewares import json_error
from web.templating import render

MAX_QUERY = 200
#: How many results the search page lists (the API's `limit` tops out at 50).
PAGE_RESULTS = 20
CATALOG_KEY = web.AppKey("catalog", Catalog)
#: The matter API's refusals (data/texts/web.yml).
TEXTS = texts.load("web", {
    "no_query": (), "query_too_long": ("limit",), "limit_not_integer": (), "no_matter": ("code",),
})


async def search_matters(request: web.Request) -> web.Response:
    query = request.query.get("q", "")
    if not query.strip():
        return json_error(400, TEXTS("no_query"))
    if len(query) > MAX_QUERY:
        return json_error(400, TEXTS("query_too_long", limit=MAX_QUERY))
    try:
        limit = min(50, max(1, int(request.query.get("limit", "10"))))
    except ValueError:
        return json_error(400, TEXTS("limit_not_integer"))
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
        return json_error(404, TEXTS("no_matter", code=code[:40]))
    return web.json_response(matter.raw)


def citizen_page(
    request: web.Request, name: str, status: int = 200, **context: Any
) -> web.Response:
    """A citizens' page (search, guide): the template `name` with the chat widget's tag
    (Rasa's public URL and the widget's title) under the demo portal's CSP."""
    config = request.config_dict[SETTINGS_KEY]
    rasa_url = widget.rasa_public_url(
        config.rasa_public_url, request.host, request.scheme, config.rasa_port
    )
    response = render(
        request, name,
        rasa_url=rasa_url, widget_title=widget.WIDGET_TITLE,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": widget.content_security_policy(rasa_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
        **context,
    )
    response.set_status(status)
    return response


def _by_service_object(matters: List[Matter]) -> Dict[str, List[Matter]]:
    """The whole catalog for browsing, personal matters first, each group by code."""
    groups: Dict[str, List[Matter]] = {"personal": [], "enterprise": []}
    for matter in sorted(matters, key=lambda m: m.code):
        groups.setdefault(matter.service_object, []).append(matter)
    return groups


async def search_page(request: web.Request) -> web.Response:
    """`/search?q=…`: the results as links to the guide pages; without a query the whole
    catalog by service object; an over-long query is refused (400) before any work,
    with the page and a message."""
    query = request.query.get("q", "")
    too_long = len(query) > MAX_QUERY
    index = request.app[CATALOG_KEY].index()
    asked = query.strip() and not too_long
    hits = index.search(query, limit=PAGE_RESULTS) if asked else []
    return citizen_page(
        request, "search.html",
        status=400 if too_long else 200,
        query=query[:MAX_QUERY].strip(),
        asked=bool(asked),
        too_long=too_long,
        max_query=MAX_QUERY,
        results=[h.matter for h in hits],
        groups=_by_service_object(index.matters) if not query.strip() else {},
    )


def register(app: web.Application, catalog: Catalog) -> None:
    """The matter API and the search page, over `catalog`."""
    app[CATALOG_KEY] = catalog
    app.router.add_get("/api/matters/search", search_matters)
    app.router.add_get("/api/matters/{code}", get_matter)
    app.router.add_get("/search", search_page)
