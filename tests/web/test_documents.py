"""Produced documents in SQL under an expiring token, and their pages on the web app
(real HTTP through aiohttp's test server)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.intake.store import DOWNLOAD_PLACEHOLDER, DocumentsStore, documents, ttl_from_env
from bot.intake import build_documents, render_html, render_markdown
from web import documents as routes
from tests.fixtures.intake import industries, matters, store  # noqa: F401 (fixtures)
from web.app import create_app
from tests.conftest import CATALOG_DIR, REFERENCE_DIR
from tests.fixtures.intake import complete


@pytest.fixture
def store(database_url):
    return DocumentsStore(engine_for(database_url), ttl=timedelta(hours=24))


@pytest.fixture
def rendered(store, industries, matters):
    industry = industries["convenience_store"]
    answers = complete(industry, {"has_licence": True, "alcohol": True, "tobacco": True})
    docs = build_documents(industry, answers, matters)
    html = render_html(docs, generated_at="2026-11-27 10:00", download_href=DOWNLOAD_PLACEHOLDER)
    return html, render_markdown(docs)


def test_save_and_get_by_token(store, rendered):
    html, text = rendered
    token = store.save("citizen-a", "convenience_store", "便利店材料", html, text)
    assert len(token) >= 32
    got = store.get(token)
    assert got is not None and got.sender_id == "citizen-a" and got.html == html
    assert store.get(token, sender_id="citizen-a") is not None


def test_token_is_not_stored_and_other_tokens_find_nothing(store, rendered):
    html, text = rendered
    token_a = store.save("citizen-a", "convenience_store", "t", html, text)
    token_b = store.save("citizen-b", "convenience_store", "t", html, text)
    assert token_a != token_b
    with store.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(select(documents.c.token_hash))]
    assert token_a not in stored and token_b not in stored
    assert store.get(token_a[:-1] + ("A" if token_a[-1] != "A" else "B")) is None
    # A's documents are not B's: a lookup for B's conversation does not return them.
    assert store.get(token_a, sender_id="citizen-b") is None


def test_expired_documents_are_gone(store, rendered):
    html, text = rendered
    created = datetime.now(timezone.utc) - timedelta(hours=25)
    token = store.save("citizen-a", "convenience_store", "t", html, text, now=created)
    assert store.get(token) is None
    assert store.get(token, now=created + timedelta(hours=23)) is not None
    # Saving later purges expired rows.
    store.save("citizen-c", "convenience_store", "t", html, text)
    with store.engine.connect() as conn:
        senders = [r[0] for r in conn.execute(select(documents.c.sender_id))]
    assert "citizen-a" not in senders


def test_ttl_is_configurable(monkeypatch):
    monkeypatch.setenv("INTAKE_DOCUMENTS_TTL_HOURS", "0.5")
    assert ttl_from_env() == timedelta(minutes=30)
    monkeypatch.setenv("INTAKE_DOCUMENTS_TTL_HOURS", "-1")
    with pytest.raises(ValueError):
        ttl_from_env()
    monkeypatch.delenv("INTAKE_DOCUMENTS_TTL_HOURS")
    assert ttl_from_env() == timedelta(hours=24)


@pytest.fixture
async def client(tmp_path, store):
    catalog_store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    import_catalog(CATALOG_DIR, catalog_store)
    app = create_app(Catalog(catalog_store, REFERENCE_DIR))
    app[routes.STORE_KEY] = store
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_printable_page_and_download(client, store, rendered):
    html, text = rendered
    token = store.save("citizen-a", "convenience_store", "便利店一业一证材料", html, text)
    page = await client.get(f"/documents/{token}")
    assert page.status == 200 and page.content_type == "text/html"
    body = await page.text()
    assert "告知单" in body and "材料清单" in body and "酒类商品零售许可证" in body
    assert f'href="{token}.txt"' in body and DOWNLOAD_PLACEHOLDER not in body
    assert "no-store" in page.headers["Cache-Control"]
    download = await client.get(f"/documents/{token}.txt")
    assert download.status == 200 and download.content_type == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "## 三、材料清单" in await download.text()


@pytest.mark.parametrize("token", ["nope", "x" * 32, "../../etc/passwd", "a" * 300])
async def test_unknown_tokens_get_404(client, token):
    for suffix in ("", ".txt"):
        response = await client.get(f"/documents/{token}{suffix}")
        assert response.status == 404
        assert "secrets" not in await response.text()


async def test_expired_token_gets_404(client, store, rendered):
    html, text = rendered
    token = store.save("citizen-a", "convenience_store", "t", html, text,
                       now=datetime.now(timezone.utc) - timedelta(days=2))
    assert (await client.get(f"/documents/{token}")).status == 404
    assert (await client.get(f"/documents/{token}.txt")).status == 404


async def test_the_page_shows_a_citizens_script_as_text(client, store, industries, matters):
    """A citizen's words on their documents page (here the enterprise's name and address)
    are text: no script runs, whatever they typed."""
    industry = industries["convenience_store"]
    answers = complete(industry, {"has_licence": True, "tobacco": True})
    script = "<script>alert(1)</script>"
    docs = build_documents(industry, answers, matters,
                           enterprise={"name": script, "address": '"><img src=x onerror=alert(2)>'})
    html = render_html(docs, generated_at="2026-11-27 10:00", download_href=DOWNLOAD_PLACEHOLDER)
    token = store.save("citizen-a", "convenience_store", "t", html, render_markdown(docs))
    body = await (await client.get(f"/documents/{token}")).text()
    assert "<script" not in body and "<img" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "onerror=alert(2)" in body
