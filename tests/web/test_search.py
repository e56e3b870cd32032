"""The matter API shows an alias added in review at once (web/search.py over the
process's Catalog, refreshed by whoever added the alias)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.review.labels import add_alias
from web.app import create_app
from tests.conftest import CATALOG_DIR, REFERENCE_DIR


@pytest.fixture
async def app_parts(tmp_path):
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    import_catalog(CATALOG_DIR, store)
    catalog = Catalog(store, REFERENCE_DIR)
    async with TestClient(TestServer(create_app(catalog, desk=False))) as client:
        yield client, store, catalog


async def test_search_shows_a_reviewed_alias_after_add_alias(app_parts, tmp_path):
    client, store, catalog = app_parts
    before = await (await client.get("/api/matters/search", params={"q": "医保卡没了"})).json()
    assert all(r["code"] != "SH-P-004" for r in before["results"][:1])

    assert add_alias(store, "SH-P-004", "医保卡没了", "sup1", mirror=tmp_path / "aliases.yml")
    catalog.refresh()

    found = await (await client.get("/api/matters/search", params={"q": "医保卡没了"})).json()
    top = found["results"][0]
    assert top["code"] == "SH-P-004" and "医保卡没了" in top["aliases"]
    details = await (await client.get("/api/matters/SH-P-004")).json()
    assert "医保卡没了" in details["aliases"]
