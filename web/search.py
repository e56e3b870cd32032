"""The matter catalog on the web: search and details as JSON (/api/matters/...) and the
search page at /search.

The search here is the same `MatterIndex` the actions use, so agents, the widget and the
bot never disagree about which matter a phrase means.
"""
from __future__ import annotations

from aiohttp import web

from bot.catalog import Catalog
from bot.dialogue import texts
from web.middlewares import json_error
from web.templating import render

MAX_QUERY = 200
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


async def search_page(request: web.Request) -> web.Response:
    return render(request, "search.html")


def register(app: web.Application, catalog: Catalog) -> None:
    """The matter API and the search page, over `catalog`."""
    app[CATALOG_KEY] = catalog
    app.router.add_get("/api/matters/search", search_matters)
    app.router.add_get("/api/matters/{code}", get_matter)
    app.router.add_get("/search", search_page)
