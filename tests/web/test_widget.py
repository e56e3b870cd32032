"""The widget's files and the demo portal page over real HTTP (aiohttp test server)."""
from __future__ import annotations

import hashlib
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from web import templating, widget
from web.app import create_app
from tests.conftest import CATALOG_DIR, REFERENCE_DIR

VENDOR = "vendor/socket.io-4.8.4.min.js"


@pytest.fixture
async def start(tmp_path, monkeypatch):
    """Starts the web app with the environment as it is then (the settings are read
    once, when the app is created)."""
    monkeypatch.delenv("RASA_PUBLIC_URL", raising=False)
    monkeypatch.setenv("RASA_PORT", "5005")
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    import_catalog(CATALOG_DIR, store)
    clients = []

    async def started() -> TestClient:
        client = TestClient(TestServer(create_app(Catalog(store, REFERENCE_DIR), desk=False)))
        await client.start_server()
        clients.append(client)
        return client

    yield started
    for client in clients:
        await client.close()


@pytest.fixture
async def client(start):
    return await start()


def script_tag(page: str) -> str:
    match = re.search(r'<script src="/widget/widget\.js"[^>]*>', page)
    assert match, "the portal page embeds the widget with one script tag"
    return match.group(0)


async def test_portal_page_embeds_the_widget_pointing_at_rasa(client):
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    page = await response.text()
    assert "一网通办" in page and 'lang="zh-CN"' in page
    tag = script_tag(page)
    assert 'data-rasa-url="http://127.0.0.1:5005"' in tag  # this host, RASA_PORT
    assert 'data-title="一网通办智能客服"' in tag
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005" in csp


async def test_rasa_public_url_setting_reaches_page_and_policy(start, monkeypatch):
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://chat.example.gov.cn/rasa/")
    client = await start()
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://elsewhere.example")  # read once: ignored
    response = await client.get("/")
    tag = script_tag(await response.text())
    assert 'data-rasa-url="https://chat.example.gov.cn/rasa"' in tag
    assert "wss://chat.example.gov.cn" in response.headers["Content-Security-Policy"]


def test_bad_rasa_public_url_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("RASA_PUBLIC_URL", "javascript:alert(1)")
    with pytest.raises(ValueError, match="RASA_PUBLIC_URL"):
        create_app(catalog=object())  # the catalog is not touched before the check


def test_placeholders_are_escaped():
    page = templating.environment().get_template("portal.html").render(
        rasa_url='"><script>alert(1)</script>', widget_title="<b>客服</b>")
    assert "<script>alert" not in page and "<b>客服" not in page
    assert 'data-rasa-url="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


@pytest.mark.parametrize(
    "host, expected",
    [
        ("portal.example:8800", "http://portal.example:5005"),
        ("10.0.0.5", "http://10.0.0.5:5005"),
        ("[::1]:8800", "http://[::1]:5005"),
    ],
)
def test_default_rasa_url_is_this_host_on_the_rasa_port(host, expected):
    assert widget.rasa_public_url("", host, "http", 5005) == expected


async def test_search_page_moved_to_search(client):
    response = await client.get("/search")
    assert response.status == 200
    assert "事项查询" in await response.text()


@pytest.mark.parametrize(
    "name, content_type, cache",
    [
        ("widget.js", "text/javascript; charset=utf-8", widget.SHORT_CACHE),
        ("widget.css", "text/css; charset=utf-8", widget.SHORT_CACHE),
        (VENDOR, "text/javascript; charset=utf-8", widget.IMMUTABLE),
        ("vendor/socket.io-client.LICENSE", "text/plain; charset=utf-8", widget.SHORT_CACHE),
    ],
)
async def test_widget_files_have_types_and_cache_headers(client, name, content_type, cache):
    response = await client.get(f"/widget/{name}")
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == cache
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = await response.read()
    assert body == (widget.WIDGET_DIR / name).read_bytes()
    # unchanged files are revalidated, not downloaded again
    again = await client.get(f"/widget/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304 and not await again.read()


async def test_widget_files_are_compressed_for_browsers_that_ask(client):
    response = await client.get("/widget/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    assert "document.currentScript" in await response.text()


async def test_vendored_client_is_the_npm_build_and_matches_the_widget(client):
    body = await (await client.get(f"/widget/{VENDOR}")).read()
    assert hashlib.sha256(body).hexdigest() == (
        "d5d79a35039e860b32bdef4795528b05c2f788d4b2d9dacc913120e2878f7b3f"
    )
    assert body.startswith(b"/*!\n * Socket.IO v4.8.4")
    widget_js = (widget.WIDGET_DIR / "widget.js").read_text()
    assert f"'{VENDOR}'" in widget_js  # the widget loads exactly the file we vendor


@pytest.mark.parametrize(
    "path", ["/widget/../app.py", "/widget/%2e%2e/%2e%2e/bot/settings.py", "/widget/nope.js",
             "/widget/vendor/README.md.bak"],
)
async def test_only_known_widget_files_are_served(client, path):
    response = await client.get(path)
    assert response.status == 404
