"""bot/metrics.py: the health answers, the metrics credential, metrics made once, bounded
labels, and the aiohttp routes over HTTP."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import metrics, settings

TOKEN = "m" * 40


def test_live_and_ready_answers():
    assert metrics.live() == (200, {"status": "ok"})
    assert metrics.ready(None) == (200, {"status": "ok"})
    status, body = metrics.ready("no model loaded")
    assert status == 503 and body == {"status": "unavailable", "reason": "no model loaded"}


async def test_a_failing_check_is_not_ready_and_says_only_the_type():
    async def broken():
        raise OSError("postgresql://user:secret@db/x refused")

    status, body = await metrics.check_ready(broken)
    assert status == 503 and body["reason"] == "check failed (OSError)"
    assert "secret" not in str(body)


@pytest.mark.parametrize("header, status", [
    (None, 401), ("", 401), (TOKEN, 401), (f"Basic {TOKEN}", 401), ("Bearer ", 401),
    ("Bearer wrong", 403), (f"Bearer {TOKEN}x", 403), (f"Bearer {TOKEN[:-1]}", 403),
])
def test_the_metrics_credential_is_compared_whole(header, status):
    assert metrics.refusal(header, TOKEN)[0] == status
    assert metrics.refusal(f"Bearer {TOKEN}", TOKEN) is None
    assert metrics.refusal(f"bearer {TOKEN}", TOKEN) is None


def test_an_empty_token_opens_nothing():
    assert metrics.refusal("Bearer x", "")[0] == 403


def test_metrics_are_made_once_by_name():
    first = metrics.counter("govbot_test_things_total", "things", ["kind"])
    assert metrics.counter("govbot_test_things", "things", ["kind"]) is first
    assert metrics.action_errors() is metrics.action_errors()
    with pytest.raises(ValueError):
        metrics.gauge("govbot_test_things", "things")
    with pytest.raises(ValueError):
        metrics.counter("unprefixed_total", "no")


def test_a_bounded_label_never_grows_past_its_limit():
    label = metrics.BoundedLabel(limit=2, max_chars=5)
    assert [label(v) for v in ("rest", "widget", "wechat_oa", "rest", None)] == [
        "rest", "widge", "other", "rest", "other"]


def test_the_token_is_refused_in_production_when_unset_or_a_development_value(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    with pytest.raises(settings.InsecureConfiguration):
        settings.metrics_token()
    monkeypatch.setenv("METRICS_TOKEN", settings.DEV_METRICS_TOKEN)
    with pytest.raises(settings.InsecureConfiguration):
        settings.metrics_token()
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    assert settings.metrics_token() == TOKEN


def test_development_uses_its_loopback_value(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "development")
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("BIND_HOST", raising=False)
    assert settings.metrics_token() == settings.DEV_METRICS_TOKEN


async def test_the_aiohttp_routes():
    ready = {"reason": "warming up"}
    scraped = []
    seen = metrics.counter("govbot_test_scrapes_total", "scrapes")

    async def check():
        return ready["reason"]

    async def before_scrape():
        scraped.append(1)
        seen.inc()

    app = web.Application()
    metrics.add_aiohttp_routes(app, check, token=TOKEN, before_scrape=before_scrape)
    async with TestClient(TestServer(app)) as client:
        live = await client.get("/health/live")
        assert live.status == 200 and await live.json() == {"status": "ok"}
        not_ready = await client.get("/health/ready")
        assert not_ready.status == 503
        assert await not_ready.json() == {"status": "unavailable", "reason": "warming up"}
        ready["reason"] = None
        assert (await client.get("/health/ready")).status == 200
        assert (await client.get("/metrics")).status == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer no"})).status == 403
        assert not scraped
        served = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert served.status == 200 and served.content_type == "text/plain"
        assert "govbot_test_scrapes_total 1.0" in await served.text()
        assert scraped == [1]
