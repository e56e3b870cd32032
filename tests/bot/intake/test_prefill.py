"""The intake pre-fill reads a verified citizen's enterprises by the backend's opaque
person id (the slot `verified_person_id`, "P…"), never by an ID number it does not hold —
against a real stand-in backend server."""
from __future__ import annotations

from datetime import timedelta

import pytest

import actions.intake as intake_actions
from standins.gov_backend.seed import SHENCHENG, ZHAO_LEI
from bot.backend.client import BackendClient, NotFound
from bot.db import engine_for
from bot.intake.store import DocumentsStore
from bot.intake.prefill import fetch_enterprises
from tests.fixtures.gov_backend import TOKEN, call
from tests.actions.test_intake import _confirmed, _token, run, tracker

pytest_plugins = ["tests.fixtures.gov_backend"]

ZHAO_PERMIT = ("SH20261125000999", "010175")  # 赵磊, legal representative of 申城便利


@pytest.fixture
async def client(sqlite_backend):
    async with BackendClient(sqlite_backend.url, TOKEN) as backend_client:
        yield backend_client


async def _verified_person_id(client: BackendClient) -> str:
    """What the status check leaves in the slot: the person id of a matched identity."""
    verdict = await client.check_identity(*ZHAO_PERMIT)
    assert verdict["match"] and verdict["person_id"].startswith("P")
    return verdict["person_id"]


async def test_enterprises_of_a_verified_person_by_person_id(client):
    person_id = await _verified_person_id(client)
    enterprises = await fetch_enterprises(client, person_id)
    assert [e["credit_code"] for e in enterprises] == [SHENCHENG]
    assert ZHAO_LEI not in repr(enterprises)  # the representative comes masked


async def test_backend_route_by_person_id_is_documented(client, sqlite_backend, http):
    person_id = await _verified_person_id(client)
    status, body, _ = await call(http, sqlite_backend.url, "GET",
                                 f"/api/v1/people/{person_id}/enterprises")
    assert status == 200 and [e["name"] for e in body["enterprises"]] == ["上海申城便利商贸有限公司"]
    unknown = "P" + "0" * 24
    status, body, _ = await call(http, sqlite_backend.url, "GET",
                                 f"/api/v1/people/{unknown}/enterprises")
    assert status == 404 and body["error"] == "person_not_found"
    status, _, _ = await call(http, sqlite_backend.url, "GET", "/api/v1/people/P123/enterprises")
    assert status == 400
    with pytest.raises(NotFound):
        await client.verified_enterprises(unknown)


@pytest.fixture
def documents(tmp_path, monkeypatch):
    store = DocumentsStore(engine_for(f"sqlite:///{tmp_path / 'docs.db'}"), timedelta(hours=24))
    monkeypatch.setattr(intake_actions, "documents_store", lambda: store)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://zwfw.example.gov.cn/")
    return store


async def test_verified_demo_person_gets_the_form_prefilled(industries, documents, client,
                                                           sqlite_backend, monkeypatch):
    monkeypatch.setenv("BACKEND_URL", sqlite_backend.url)
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", TOKEN)
    person_id = await _verified_person_id(client)
    messages, _ = await run(intake_actions.ActionIntakeDone(),
                            tracker(_confirmed(industries, person_id)))
    text = messages[0]["text"]
    assert "读取不到" not in text
    assert "申请表已按您名下的「上海申城便利商贸有限公司」预填" in text
    html = documents.get(_token(messages)).html
    assert SHENCHENG in html and "已预填" in html and ZHAO_LEI not in html
