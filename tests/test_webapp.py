"""The web app's matter API over real HTTP (aiohttp test server)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.webapp.app import create_app
from tests.conftest import CATALOG_DIR, REFERENCE_DIR


@pytest.fixture
async def client(tmp_path):
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
