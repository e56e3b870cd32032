"""The form's actions with real trackers: activation, asking, reading replies, and the
documents at the end — pre-filled from the stand-in backend (a real server) when the
citizen's identity was verified (slot verified_person_id)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.intake as intake_actions
from standins.gov_backend.seed import CHEN_JING, SHENCHENG, ZHAO_LEI
from bot.db import engine_for
from bot.intake.store import DocumentsStore
from tests.fixtures.gov_backend import TOKEN, free_port, http, sqlite_backend  # noqa: F401
from tests.fixtures.intake import complete, industries, matters, store  # noqa: F401

pytest_plugins = ["tests.fixtures.gov_backend"]


def tracker(slots: Dict[str, Any], text: str = "", intent: str = "", entities=(),
            sender: str = "citizen-1") -> Tracker:
    return Tracker(
        sender_id=sender,
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0},
                        "entities": list(entities)},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "permit_intake_form"},
        latest_action_name="action_listen",
    )


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


@pytest.fixture
def store(tmp_path, monkeypatch):
    documents = DocumentsStore(engine_for(f"sqlite:///{tmp_path / 'docs.db'}"), timedelta(hours=24))
    monkeypatch.setattr(intake_actions, "documents_store", lambda: documents)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://zwfw.example.gov.cn/")
    return documents


async def test_activation_sets_the_industry_and_the_ask_action_asks_with_buttons():
    messages, events = await run(
        intake_actions.ValidatePermitIntakeForm(),
        tracker({"requested_slot": None}, "我想开个小超市", "start_permit_intake",
                [{"entity": "industry", "value": "小超市"}]),
    )
    slots = slot_events(events)
    assert slots["intake_industry"] == "convenience_store" and slots["intake_status"] == "asking"
    assert "intake_reply" not in slots  # already empty: no event for it
    assert "一业一证" in messages[0]["text"]
    # Had the form filled the reply slot from the activating message, it is emptied, so
    # the form asks its first question instead of ending.
    _, filled = await run(
        intake_actions.ValidatePermitIntakeForm(),
        tracker({"requested_slot": None, "intake_reply": "我想开个小超市"}, "我想开个小超市",
                "start_permit_intake", [{"entity": "industry", "value": "小超市"}]),
    )
    assert slot_events(filled)["intake_reply"] is None
    messages, events = await run(intake_actions.ActionAskIntakeReply(), tracker(slots))
    assert slot_events(events) == {"intake_question": "has_licence"}
    assert [b["title"] for b in messages[0]["buttons"]] == ["是", "否"]


async def test_a_reply_is_recorded_and_the_form_asks_again():
    slots = {"requested_slot": "intake_reply", "intake_status": "asking",
             "intake_industry": "convenience_store", "intake_answers": {},
             "intake_question": "has_licence", "intake_reply": "还没办呢"}
    _, events = await run(intake_actions.ValidatePermitIntakeForm(), tracker(slots, "还没办呢", "deny"))
    changed = slot_events(events)
    assert changed["intake_answers"] == {"has_licence": False}
    assert changed["intake_reply"] is None  # empty again: the form asks the next question


async def test_stop_fills_the_reply_so_the_form_ends():
    slots = {"requested_slot": "intake_reply", "intake_status": "asking",
             "intake_industry": "convenience_store", "intake_answers": {"has_licence": True},
             "intake_question": "prepackaged_only", "intake_reply": "算了，不办了"}
    messages, events = await run(intake_actions.ValidatePermitIntakeForm(),
                                 tracker(slots, "算了，不办了", "deny"))
    changed = slot_events(events)
    assert changed["intake_reply"] == "stopped" and changed["intake_status"] == "stopped"
    assert "停下" in messages[0]["text"]


def _confirmed(industries, person: Optional[str], **given) -> Dict[str, Any]:
    answers = complete(industries["convenience_store"], {"has_licence": True, **given})
    return {"intake_status": "confirmed", "intake_industry": "convenience_store",
            "intake_answers": answers, "intake_question": "__confirm__",
            "intake_reply": "confirmed", "verified_person_id": person}


async def test_documents_link_summary_and_slots_reset(industries, store):
    messages, events = await run(
        intake_actions.ActionIntakeDone(), tracker(_confirmed(industries, None, alcohol=True))
    )
    text = messages[0]["text"]
    assert "酒类商品零售许可证" in text and "材料合并后共" in text
    link = next(w for w in text.split() if "https://zwfw.example.gov.cn/documents/" in w)
    token = link.split("/documents/")[1].split("（")[0].split(".txt")[0]
    stored = store.get(token)
    assert stored is not None and stored.sender_id == "citizen-1"
    assert "已预填" not in stored.html
    changed = slot_events(events)
    assert changed["intake_answers"] is None and changed["intake_status"] is None
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}


@pytest.fixture
async def backend_env(sqlite_backend, monkeypatch):
    monkeypatch.setenv("BACKEND_URL", sqlite_backend.url)
    monkeypatch.setenv("BACKEND_SERVICE_TOKEN", TOKEN)
    return sqlite_backend


def _token(messages) -> str:
    text = messages[0]["text"]
    return text.split("/documents/")[1].split()[0].split("（")[0].split(".txt")[0]


async def test_verified_citizen_gets_the_form_prefilled_from_the_backend(industries, store, backend_env):
    messages, _ = await run(intake_actions.ActionIntakeDone(),
                            tracker(_confirmed(industries, ZHAO_LEI, tobacco=True)))
    assert "上海申城便利商贸有限公司" in messages[0]["text"]
    html = store.get(_token(messages)).html
    assert "上海申城便利商贸有限公司" in html and SHENCHENG in html and "已预填" in html
    assert "浦东新区张杨路1288号" in html
    assert ZHAO_LEI not in html  # the legal representative stays masked


async def test_no_prefill_when_the_licence_is_still_to_be_obtained(industries, store, backend_env):
    slots = _confirmed(industries, ZHAO_LEI)
    slots["intake_answers"] = complete(industries["convenience_store"], {"has_licence": False})
    messages, _ = await run(intake_actions.ActionIntakeDone(), tracker(slots))
    assert "已预填" not in store.get(_token(messages)).html


async def test_verified_citizen_without_enterprise_gets_a_blank_form(industries, store, backend_env):
    messages, _ = await run(intake_actions.ActionIntakeDone(),
                            tracker(_confirmed(industries, CHEN_JING)))
    assert "预填" not in messages[0]["text"]
    assert "已预填" not in store.get(_token(messages)).html


async def test_backend_down_still_gives_the_documents(industries, store, monkeypatch):
    monkeypatch.setenv("BACKEND_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BACKEND_TIMEOUT", "0.5")
    messages, _ = await run(intake_actions.ActionIntakeDone(),
                            tracker(_confirmed(industries, ZHAO_LEI)))
    assert "读取不到" in messages[0]["text"]
    assert store.get(_token(messages)) is not None


async def test_stopped_interview_produces_nothing(industries, store):
    slots = _confirmed(industries, None)
    slots["intake_status"] = "stopped"
    messages, events = await run(intake_actions.ActionIntakeDone(), tracker(slots))
    assert messages == [] and slot_events(events)["intake_status"] is None
