"""The web app's health and metrics (web/app.py) over real HTTP: health without a
credential, ready only when the database answers, /metrics only with METRICS_TOKEN, the
handoff queue's gauges read at scrape time, requests counted by route pattern."""
from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from tests.conftest import CATALOG_DIR, REFERENCE_DIR
from web.app import DESK_KEY, create_app
from web.desk.keys import SERVICE_KEY

METRICS_TOKEN = "w" * 40


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    # The desk's databases and key-value store are this test's own (as in test_app.py).
    import bot.kv
    from bot import settings

    for name in ("DATABASE_URL", "BOT_DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setattr(bot.kv, "_default", None)
    monkeypatch.setattr(bot.kv, "_durable", None)
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    import_catalog(CATALOG_DIR, store)
    return Catalog(store, REFERENCE_DIR)


@pytest.fixture
async def client(catalog):
    async with TestClient(TestServer(create_app(catalog))) as client:
        yield client


async def test_health_answers_without_a_credential(client):
    live = await client.get("/health/live")
    assert live.status == 200 and await live.json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status == 200 and await ready.json() == {"status": "ok"}
    assert (await client.get("/healthz")).status == 200  # kept


async def test_ready_is_503_when_the_database_is_unreachable(catalog, tmp_path):
    app = create_app(catalog, desk=False)
    catalog.store.engine = engine_for(f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}")
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/health/live")).status == 200
        response = await client.get("/health/ready")
        body = await response.json()
        assert response.status == 503
        assert body == {"status": "unavailable", "reason": "database unreachable"}


async def test_metrics_want_the_metrics_token(client):
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status == 403
    served = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert served.status == 200 and "govbot_handoff_queue_length" in await served.text()


async def test_the_queue_and_the_agents_are_read_at_scrape_time(client):
    service = client.app[DESK_KEY][SERVICE_KEY]
    await service.queue.add(991, time.time())
    await service.queue.add(992, time.time())
    await service.queue.heartbeat("agent1")
    served = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = await served.text()
    assert "govbot_handoff_queue_length 2.0" in text and "govbot_agents_online 1.0" in text
    await service.queue.remove(991)
    await service.queue.offline("agent1")
    await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert sample("govbot_handoff_queue_length") == 1.0
    assert sample("govbot_agents_online") == 0.0


async def test_requests_are_counted_by_route_pattern(client):
    route = {"route": "/api/matters/{code}", "status": "200"}
    before = sample("govbot_http_requests_total", **route)
    unmatched = sample("govbot_http_requests_total", route="unmatched", status="404")
    assert (await client.get("/api/matters/SH-P-001")).status == 200
    assert (await client.get("/no/such/page/1234")).status == 404
    assert sample("govbot_http_requests_total", **route) == before + 1
    assert sample("govbot_http_requests_total", route="unmatched", status="404") == unmatched + 1
    served = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert "SH-P-001" not in await served.text() and "1234" not in await served.text()
