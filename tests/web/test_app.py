"""The web app's matter API over real HTTP (aiohttp test server), its security headers
and where it listens."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from web.app import create_app
from tests.conftest import CATALOG_DIR, REFERENCE_DIR


@pytest.fixture
async def client(tmp_path, monkeypatch):
    # The desk starts with the app: its databases and key-value store are this test's
    # own (a Redis client made in another test's event loop would hang this one's end).
    import bot.kv
    from bot import settings

    for name in ("DATABASE_URL", "BOT_DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setattr(bot.kv, "_default", None)
    monkeypatch.setattr(bot.kv, "_durable", None)
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    import_catalog(CATALOG_DIR, store)
    app = create_app(Catalog(store, REFERENCE_DIR))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_search_returns_canonical_names_best_first(client):
    response = await client.get("/api/matters/search", params={"q": "辦居住證"})
    assert response.status == 200
    results = (await response.json())["results"]
    assert results[0]["name"] == "上海市居住证申领"
    assert set(results[0]) == {"code", "name", "aliases", "score"}
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


async def test_matter_details_and_unknown_code(client):
    response = await client.get("/api/matters/SH-P-001")
    assert response.status == 200
    body = await response.json()
    assert body["name"] == "上海市居住证申领" and body["materials"]
    missing = await client.get("/api/matters/NOPE-404")
    assert missing.status == 404
    assert "error" in await missing.json()


async def test_bad_queries_get_clear_answers(client):
    assert (await client.get("/api/matters/search")).status == 400
    assert (await client.get("/api/matters/search", params={"q": "x" * 1000})).status == 400
    assert (await client.get("/api/matters/search", params={"q": "护照", "limit": "abc"})).status == 400
    odd = await client.get("/api/matters/search", params={"q": "😀\u0000<script>"})
    assert odd.status == 200 and (await odd.json())["results"] == []


# -- security headers: the desk and the documents may not be framed ------------------

DESK_PAGES = ["/desk", "/desk/", "/desk/supervisor", "/desk/static/desk.js",
              "/desk/static/desk.css", "/desk/api/me", "/desk/no-such-page",
              "/documents/no-such-token-0000000000"]


@pytest.mark.parametrize("path", DESK_PAGES)
async def test_desk_and_documents_forbid_framing_and_sniffing(client, path):
    response = await client.get(path)
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, (path, response.status, csp)
    assert "default-src" in csp and "'unsafe-inline'" not in csp.split("script-src")[-1].split(";")[0]
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    # the desk links only to itself; a citizen's documents page leaks no referrer at all
    expected = "no-referrer" if path.startswith("/documents/") else "same-origin"
    assert response.headers.get("Referrer-Policy") == expected, path


@pytest.mark.parametrize("path", ["/", "/widget/widget.js"])
async def test_portal_and_widget_framing_is_left_alone(client, path):
    response = await client.get(path)
    assert response.status == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", "")


class _Markup(HTMLParser):
    """What a strict CSP (script-src 'self'; style-src 'self') would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list = []
        self.refs: list = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=…>")
        if tag == "script":
            self._in_script = True
            if not attrs.get("src"):
                self.blocked.append("inline <script>")
            else:
                self.refs.append(attrs["src"])
        if tag == "style":
            self.blocked.append("inline <style>")
        if tag == "link" and attrs.get("href"):
            self.refs.append(attrs["href"])

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"


DESK_STATIC = Path(__file__).resolve().parents[2] / "web" / "static" / "desk"


@pytest.mark.parametrize("path", ["/desk", "/desk/", "/desk/supervisor", "/desk/orders"])
async def test_desk_pages_work_under_their_csp(client, path):
    response = await client.get(path)
    assert response.status == 200 and response.content_type == "text/html"
    markup = _Markup()
    markup.feed(await response.text())
    assert markup.blocked == [] and markup.refs
    for ref in markup.refs:  # own files only, and they exist
        assert ref.startswith("/desk/static/") and (DESK_STATIC / ref.rsplit("/", 1)[1]).exists()
        assert (await client.get(ref)).status == 200


def test_desk_scripts_build_no_code_or_markup_from_text():
    """A citizen's words reach the desk only through its scripts: they set text, never
    markup or code."""
    scripts = sorted(DESK_STATIC.glob("*.js"))
    assert [s.name for s in scripts] == ["desk.js", "orders.js", "review.js", "supervisor.js"]
    for script in scripts:  # no eval-like code, no inline styles set as text
        code = script.read_text(encoding="utf-8")
        assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*[\"']style|innerHTML", code)


def test_the_web_app_listens_on_loopback_by_default(monkeypatch):
    from bot import settings
    from web import app as webapp

    seen = {}
    monkeypatch.delenv("BIND_HOST", raising=False)
    monkeypatch.setattr(webapp, "create_app", lambda **_: {webapp.CATALOG_KEY: _NoIndex()})
    monkeypatch.setattr(webapp.web, "run_app", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr("sys.argv", ["web.app"])
    webapp.main()
    assert seen["host"] == settings.bind_host() == "127.0.0.1"
    monkeypatch.setenv("BIND_HOST", "10.0.0.5")
    webapp.main()
    assert seen["host"] == "10.0.0.5"


class _NoIndex:
    def index(self):
        return None


async def test_an_oversize_body_is_refused_from_its_headers():
    """413 before the body is read: the client sends only the headers (aiohttp alone
    waits for the body, and the connection hangs)."""
    import asyncio

    from aiohttp import web

    from web.app import create_app

    async def reads_json(request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    app = create_app(desk=False)
    app.router.add_post("/reads-json", reads_json)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /reads-json HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        assert b" 413 " in status_line
        writer.close()
    finally:
        await runner.cleanup()


# -- typed keys, settings read once, the sub-application -------------------------------

def _apps(app: web.Application) -> list:
    """The app and the sub-applications mounted on it (the desk)."""
    subapps = [r.get_info()["app"] for r in app.router.resources() if "app" in r.get_info()]
    return [app, *subapps]


async def test_everything_kept_on_the_apps_has_a_typed_key(client):
    apps = _apps(client.app)
    assert len(apps) == 2  # the web app and the desk
    for app in apps:
        assert list(app) and all(isinstance(key, web.AppKey) for key in app), list(app)


async def test_the_desk_is_reached_with_a_port_in_the_host_header(client):
    """aiohttp 3.9 with yarl >= 1.13 failed every sub-application request whose Host
    carries a port (web/compat.py); the test client always sends one."""
    assert ":" in client.make_url("/").authority
    assert (await client.get("/desk")).status == 200
    assert (await client.get("/desk/api/me")).status == 401


@pytest.mark.parametrize("host", ["127.0.0.1:8800", "[::1]:8800", "zwfw.example.gov.cn"])
def test_request_url_keeps_the_port(host):
    from aiohttp.test_utils import make_mocked_request

    from web.compat import fix_request_url

    fix_request_url()
    request = make_mocked_request("GET", "/desk/api/me?x=1", headers={"Host": host})
    assert str(request.url) == f"http://{host}/desk/api/me?x=1"


# -- every page shows what it is given as text -------------------------------------------

HOSTILE = '"><script>alert(1)</script><b onclick=alert(2)>'


def _page_shape(page: str) -> list:
    """A page's elements and attribute names, in order: what a value could change by
    being markup instead of text."""

    class Shape(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.shape: list = []

        def handle_starttag(self, tag, attrs):
            self.shape.append((tag, tuple(name for name, _ in attrs)))

    parser = Shape()
    parser.feed(page)
    return parser.shape


#: Pages given typed catalog objects (a Matter, lists of them), not strings:
#: tests/web/test_guide.py renders them with markup in every catalog value instead.
TYPED_PAGES = {"guide.html", "search.html"}


def _templates() -> list:
    from web import templating

    return sorted(name for name in (str(p.relative_to(templating.TEMPLATES_DIR))
                                    for p in templating.TEMPLATES_DIR.rglob("*.html"))
                  if name not in TYPED_PAGES)


def _variables(environment, name: str) -> set:
    """The names a template, and the templates it extends or includes, use undefined."""
    from jinja2 import meta

    tree = environment.parse(environment.loader.get_source(environment, name)[0])
    names = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        names |= _variables(environment, other) if other else set()
    return names


@pytest.mark.parametrize("name", _templates())
def test_every_template_shows_its_values_as_text(name):
    """Whatever a page is given (a host name today; a citizen's words on any page that
    shows them) lands as text or an attribute's value, never as markup."""
    from web import templating

    environment = templating.environment()
    names = _variables(environment, name)
    template = environment.get_template(name)
    harmless = template.render({key: "x" for key in names})
    hostile = template.render({key: HOSTILE for key in names})
    assert _page_shape(hostile) == _page_shape(harmless)
    if names:
        assert HOSTILE not in hostile and "&lt;script&gt;" in hostile


async def test_the_portal_shows_a_hostile_host_as_text(client):
    response = await client.get("/", headers={"Host": 'evil"><script>alert(1)</script>'})
    assert response.status == 200
    page = await response.text()
    assert "<script>alert" not in page
    assert _page_shape(page) == _page_shape(await (await client.get("/")).text())
