"""The action server's health and metrics (actions/server.py) over real HTTP: health
without a credential, ready only with a catalog, /metrics only with METRICS_TOKEN, and
the runs, seconds and errors of the actions counted. The actions run are this module's
own (Rasa SDK registers every Action subclass it has seen)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import aiohttp
import pytest
from prometheus_client import REGISTRY
from rasa_sdk import Action
from sanic import Sanic

import bot.catalog
from actions.server import create_app
from tests.fixtures.platforms import free_port

RASA_TOKEN = "r" * 40
METRICS_TOKEN = "m" * 40


class ActionMetricsOk(Action):
    def name(self):
        return "action_metrics_ok"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="好")
        return []


class ActionMetricsBroken(Action):
    def name(self):
        return "action_metrics_broken"

    async def run(self, dispatcher, tracker, domain):
        raise RuntimeError("a bug")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def catalog_of(matters):
    return SimpleNamespace(index=lambda: SimpleNamespace(matters=matters))


@pytest.fixture
async def server(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)  # Rasa SDK's app has one fixed name
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setattr(bot.catalog, "_default", catalog_of(["SH-P-001"]))
    app = create_app(token=RASA_TOKEN, package=__name__)
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def call(session, url, method="GET", token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, headers=headers, json=body) as response:
        return response.status, await response.text()


def action_call(name: str) -> dict:
    return {"next_action": name, "sender_id": "s1", "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": "s1", "slots": {}, "events": [],
                        "latest_message": {"text": "你好", "intent": {"name": "greet"}}}}


async def test_health_answers_without_a_credential(server, monkeypatch):
    session, base = server
    assert await call(session, base + "/health") == (200, '{"status":"ok"}')  # Rasa SDK's
    assert await call(session, base + "/health/live") == (200, '{"status":"ok"}')
    assert await call(session, base + "/health/ready") == (200, '{"status":"ok"}')
    monkeypatch.setattr(bot.catalog, "_default", catalog_of([]))
    status, text = await call(session, base + "/health/ready")
    assert status == 503 and "catalog empty" in text


async def test_ready_is_503_when_the_catalog_cannot_be_read(server, monkeypatch):
    session, base = server

    def unreadable():
        raise OSError("database at db.internal:5432 refused")

    monkeypatch.setattr(bot.catalog, "_default", SimpleNamespace(index=unreadable))
    status, text = await call(session, base + "/health/ready")
    assert status == 503 and "OSError" in text and "db.internal" not in text


async def test_metrics_want_the_metrics_token_and_only_it(server):
    session, base = server
    assert (await call(session, base + "/metrics"))[0] == 401
    assert (await call(session, base + "/metrics", token="wrong"))[0] == 403
    assert (await call(session, base + "/metrics", token=RASA_TOKEN))[0] == 403
    status, text = await call(session, base + "/metrics", token=METRICS_TOKEN)
    assert status == 200 and "govbot_action_seconds" in text
    # the metrics token runs no action, the actions list stays Rasa's
    assert (await call(session, base + "/actions", token=METRICS_TOKEN))[0] == 401
    assert (await call(session, base + "/webhook", "POST", METRICS_TOKEN,
                       action_call("action_metrics_ok")))[0] == 401


async def test_action_runs_and_errors_are_counted(server):
    session, base = server
    runs = sample("govbot_action_runs_total", action="action_metrics_ok")
    timed = sample("govbot_action_seconds_count")
    status, text = await call(session, base + "/webhook", "POST", RASA_TOKEN,
                              action_call("action_metrics_ok"))
    assert status == 200 and json.loads(text)["responses"][0]["text"] == "好"
    assert sample("govbot_action_runs_total", action="action_metrics_ok") == runs + 1
    assert sample("govbot_action_seconds_count") == timed + 1

    errors = sample("govbot_action_errors_total", action="action_metrics_broken")
    status, _ = await call(session, base + "/webhook", "POST", RASA_TOKEN,
                           action_call("action_metrics_broken"))
    assert status == 500
    assert sample("govbot_action_errors_total", action="action_metrics_broken") == errors + 1

    unknown = sample("govbot_action_errors_total", action="unknown")
    status, _ = await call(session, base + "/webhook", "POST", RASA_TOKEN,
                           action_call("action_no_such_thing_x1"))
    assert status == 404
    assert sample("govbot_action_errors_total", action="unknown") == unknown + 1
    assert sample("govbot_action_runs_total", action="action_no_such_thing_x1") == 0.0
    _, text = await call(session, base + "/metrics", token=METRICS_TOKEN)
    assert 'govbot_action_runs_total{action="action_metrics_ok"}' in text
    assert "action_no_such_thing_x1" not in text
