"""The intake documents' pages: `/documents/{token}` (printable HTML) and
`/documents/{token}.txt` (download).

A token is the only key: unknown, malformed and expired tokens all get the same plain
404, so a probe learns nothing about which tokens exist or existed.
"""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote

from aiohttp import web

from bot.dialogue import texts
from bot.intake.store import DOWNLOAD_PLACEHOLDER, DocumentsStore, StoredDocuments

STORE_KEY = web.AppKey("documents_store", DocumentsStore)
#: The one answer for an unknown, malformed or expired token (data/texts/web.yml).
TEXTS = texts.load("web", {"document_not_found": ()})
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
#: The page is the citizen's own: not cached by proxies, not indexed, no referrer leak,
#: no script, and never inside another site's frame.
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


def _not_found() -> web.Response:
    return web.Response(
        status=404, text=TEXTS("document_not_found"),
        content_type="text/plain", charset="utf-8", headers=PRIVATE_HEADERS,
    )


async def _lookup(request: web.Request, token: str) -> Optional[StoredDocuments]:
    if not TOKEN.match(token):
        return None
    store: DocumentsStore = request.app[STORE_KEY]
    return await request.loop.run_in_executor(None, store.get, token)


async def page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if token.endswith(".txt"):
        return await download(request, token[: -len(".txt")])
    stored = await _lookup(request, token)
    if stored is None:
        return _not_found()
    html = stored.html.replace(DOWNLOAD_PLACEHOLDER, f"{token}.txt")
    return web.Response(
        text=html, content_type="text/html", charset="utf-8", headers=PRIVATE_HEADERS
    )


async def download(request: web.Request, token: str) -> web.Response:
    stored = await _lookup(request, token)
    if stored is None:
        return _not_found()
    filename = f"{stored.title}.txt"
    headers = {
        **PRIVATE_HEADERS,
        "Content-Disposition": f"attachment; filename=\"documents.txt\"; filename*=UTF-8''{quote(filename)}",
    }
    return web.Response(text=stored.text, content_type="text/plain", charset="utf-8", headers=headers)


def register(app: web.Application, store: Optional[DocumentsStore] = None) -> None:
    """Adds the document routes (and their store) to the web app."""
    app[STORE_KEY] = store or DocumentsStore.from_env()
    app.router.add_get("/documents/{token}", page)
