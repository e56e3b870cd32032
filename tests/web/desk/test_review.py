"""The review page's API over real HTTP: supervisors only, CSRF on every change, labels
written and audited, the candidate training started once."""
from __future__ import annotations

import sys
import time

import pytest
import yaml

from bot.review.store import ReviewStore
from tests.web.desk.test_desk import (  # noqa: F401 - fixtures used by name
    dev_accounts, desk, login, rasa, shared, tracker_url,
)


@pytest.fixture(autouse=True)
def reviewed_files(tmp_path, monkeypatch):
    """Labels go to this test's directory, never into the repository's data/."""
    monkeypatch.setenv("REVIEWED_DATA_DIR", str(tmp_path / "reviewed"))
    monkeypatch.setenv("REVIEWED_ALIASES_FILE", str(tmp_path / "reviewed_aliases.yml"))
    return tmp_path


def _seed(database_url, texts):
    now = time.time()
    ReviewStore.open(database_url).add_misses([{
        "event_id": 100 + i, "sender_id": f"c{i}", "timestamp": now,
        "day": time.strftime("%Y-%m-%d", time.localtime(now)), "kind": "fallback", "text": t,
        "intent": "nlu_fallback", "confidence": 0.3, "ranking": [], "entities": [],
        "matter_code": None, "unknown_matter": None, "channel": "rest", "model_id": "m",
        "context": [],
    } for i, t in enumerate(texts)])


@pytest.mark.parametrize("method, path", [
    ("GET", "/desk/api/review/groups"), ("GET", "/desk/api/review/measures"),
    ("GET", "/desk/api/review/retrain"), ("POST", "/desk/api/review/retrain"),
    ("POST", "/desk/api/review/label"), ("GET", "/desk/api/review/groups/x"),
    ("GET", "/desk/api/review/model"), ("POST", "/desk/api/review/model"),
])
async def test_only_signed_in_supervisors_reach_the_review(desk, method, path):
    assert (await desk.request(method, path, json={})).status == 401
    headers = await login(desk, "agent1", "agent1-pass")
    response = await desk.request(method, path, json={}, headers=headers)
    assert response.status == 403
    assert "班长" in (await response.json())["error"]


async def test_changes_need_the_csrf_token(desk, database_url):
    _seed(database_url, ["公积金怎么取出来啊"])
    await login(desk, "supervisor1", "supervisor1-pass")
    response = await desk.post("/desk/api/review/label", json={"ids": [1], "action": "noise"})
    assert response.status == 403
    assert ReviewStore.open(database_url).misses(status="new")


async def test_a_supervisor_groups_labels_and_sees_the_queue_shrink(desk, database_url, reviewed_files):
    _seed(database_url, ["电动车上牌要啥", "电瓶车上牌照去哪", "电动自行车上牌要带什么", "今天股票涨了吗"])
    headers = await login(desk, "supervisor1", "supervisor1-pass")
    data = await (await desk.get("/desk/api/review/groups?days=7", headers=headers)).json()
    assert "ask_materials" in data["intents"] and "nlu_fallback" not in data["intents"]
    biggest = data["groups"][0]
    assert biggest["size"] == 3 and len(biggest["examples"]) == 3
    one = await (await desk.get(f"/desk/api/review/groups/{biggest['key']}", headers=headers)).json()
    assert sorted(m["text"] for m in one["messages"]) == sorted(biggest["examples"])

    response = await desk.post("/desk/api/review/label", headers=headers, json={
        "ids": biggest["ids"], "action": "intent", "intent": "ask_materials"})
    assert response.status == 200, await response.text()
    assert (await response.json())["marked"] == 3
    written = yaml.safe_load((reviewed_files / "reviewed" / "ask_materials.yml").read_text("utf-8"))
    examples = written["nlu"][0]["examples"]
    assert {e["metadata"]["labelled_by"] for e in examples} == {"supervisor1"}

    left = await (await desk.get("/desk/api/review/groups", headers=headers)).json()
    assert [g["examples"] for g in left["groups"]] == [["今天股票涨了吗"]]
    again = await desk.post("/desk/api/review/label", headers=headers, json={
        "ids": biggest["ids"], "action": "noise"})
    assert again.status == 409


async def test_bad_label_requests_get_clear_answers(desk, database_url):
    _seed(database_url, ["这个咋弄"])
    headers = await login(desk, "supervisor1", "supervisor1-pass")
    for body, status in [
        ({"ids": [1], "action": "intent", "intent": "nope"}, 400),
        ({"ids": "1", "action": "noise"}, 409),
        ({"ids": [1], "action": "drop_table"}, 400),
    ]:
        response = await desk.post("/desk/api/review/label", json=body, headers=headers)
        assert response.status == status and (await response.json())["error"]
    bad = await desk.post("/desk/api/review/label", data="{", headers={
        **headers, "Content-Type": "application/json"})
    assert bad.status == 400


async def test_measures_answer_for_supervisors(desk, database_url):
    _seed(database_url, ["啥玩意"])
    headers = await login(desk, "supervisor1", "supervisor1-pass")
    response = await desk.get("/desk/api/review/measures?days=7", headers=headers)
    assert response.status == 200
    assert set(await response.json()) >= {"days", "matters", "models"}
