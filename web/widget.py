"""The chat widget's files and the demo portal page, served by the deployment itself.

A government portal must not load third-party scripts, so the widget, its stylesheet and
the vendored socket.io client come from this web app (`/widget/...`), and a portal embeds
the widget with one script tag. `/` is a demo portal page showing that tag; it is told
where Rasa's socket.io channel is (`RASA_PUBLIC_URL`, else this host on `RASA_PORT`, both
read once at start into the app's settings) through the template web/templates/portal.html.

Caching: the widget's own files change with deployments, so browsers may keep them for a
few minutes and then revalidate (ETag); the vendored client carries its version in its
file name and is cached for a year.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot import settings
from bot.dialogue import texts
from web.keys import SETTINGS_KEY
from web.templating import render

WIDGET_DIR = settings.ROOT / "connectors" / "widget"
#: The widget's title and its 404 (data/texts/web.yml).
TEXTS = texts.load("web", {"widget_title": (), "no_widget_file": ()})
WIDGET_TITLE = TEXTS("widget_title")

SHORT_CACHE = "public, max-age=300, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """One file the widget route serves: where it is, what it is, how long to cache it."""

    path: Path
    content_type: str
    cache_control: str


def widget_assets(directory: Path = WIDGET_DIR) -> dict[str, Asset]:
    """The servable files by URL name: the widget's own files and everything in vendor/.

    Only names in this table are served, so no request path ever reaches the file system.
    """
    assets = {
        name: Asset(directory / name, CONTENT_TYPES[Path(name).suffix], SHORT_CACHE)
        for name in ("widget.js", "widget.css")
    }
    for path in sorted((directory / "vendor").glob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and content_type:
            versioned = path.suffix == ".js"  # vendor scripts carry their version in the name
            assets[f"vendor/{path.name}"] = Asset(
                path, content_type, IMMUTABLE if versioned else SHORT_CACHE
            )
    return assets


def rasa_public_url(configured: str, request_host: str, scheme: str, rasa_port: int) -> str:
    """Where browsers reach Rasa's socket.io: RASA_PUBLIC_URL (`configured`), else this
    host on RASA_PORT."""
    if configured:
        return check_public_url(configured)
    hostname = urlsplit(f"//{request_host}").hostname or "127.0.0.1"
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{rasa_port}"


def check_public_url(url: str) -> str:
    """An http(s) URL without query or fragment, else a clear error at start-up."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            "RASA_PUBLIC_URL must be an http(s) URL such as https://chat.example.gov.cn, "
            f"got {url!r}"
        )
    return url.rstrip("/")


def content_security_policy(rasa_url: str) -> str:
    """The demo page's CSP: only our own scripts and styles; sockets only to Rasa.

    It also shows portals that the widget needs no inline script, eval or inline styles.
    """
    parts = urlsplit(rasa_url)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    rasa_origins = f"{parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: https:",
            f"connect-src 'self' {rasa_origins}",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
            "object-src 'none'",
        ]
    )


def etag_for(body: bytes) -> str:
    # weak: the same entity may be sent compressed or not
    return 'W/"' + hashlib.sha256(body).hexdigest()[:20] + '"'


ASSETS_KEY = web.AppKey[dict[str, Asset]]("widget_assets")


async def widget_file(request: web.Request) -> web.StreamResponse:
    asset = request.app[ASSETS_KEY].get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound(text=TEXTS("no_widget_file"))
    body = asset.path.read_bytes()  # small files; edits show without a restart
    etag = etag_for(body)
    headers = {
        "Cache-Control": asset.cache_control,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        # lets portals use <script crossorigin integrity=…> (Subresource Integrity)
        "Access-Control-Allow-Origin": "*",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, headers=headers)
    response.headers["Content-Type"] = asset.content_type
    response.enable_compression()
    return response


async def portal_page(request: web.Request) -> web.Response:
    config = request.config_dict[SETTINGS_KEY]
    rasa_url = rasa_public_url(
        config.rasa_public_url, request.host, request.scheme, config.rasa_port
    )
    return render(
        request,
        "portal.html",
        rasa_url=rasa_url,
        widget_title=WIDGET_TITLE,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": content_security_policy(rasa_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def register(app: web.Application) -> None:
    """Adds `/` (demo portal) and `/widget/{name}`; fails at start on a bad RASA_PUBLIC_URL
    (the app's settings, SETTINGS_KEY, and its templates, TEMPLATES_KEY, must be set)."""
    configured = app[SETTINGS_KEY].rasa_public_url
    if configured:
        check_public_url(configured)
    app[ASSETS_KEY] = widget_assets()
    app.router.add_get("/", portal_page)
    app.router.add_get("/widget/{name:.+}", widget_file)
