"""Matter cards (bot/catalog/cards.py) built from the real catalog, without Rasa."""
from __future__ import annotations

import dataclasses

import pytest

from bot.catalog.answers import materials
from bot.catalog.cards import (
    MAX_SCENARIOS, card_problems, chips, is_card, materials_card, overview_card,
)
from bot.catalog.schema import Material

RESIDENCE = "SH-P-001"  # 上海市居住证申领: two held materials, four scenarios


def test_materials_card_of_a_real_matter(index):
    matter = index.get(RESIDENCE)
    card = materials_card(matter)
    assert is_card(card) and card["kind"] == "materials"
    assert card["matter"] == {"code": RESIDENCE, "name": "上海市居住证申领"}
    assert card["title"] == f"办理「上海市居住证申领」需要准备{len(matter.materials)}项材料"
    assert "2项政府已有" in card["summary"]
    assert [m["name"] for m in card["materials"]] == [m.name for m in matter.materials]
    first = card["materials"][0]
    assert first == {"name": "居民身份证", "form": "原件", "count": 1, "tag": "免提交"}
    assert card["materials"][2]["tag"] == "需提交" and card["materials"][2]["note"]
    assert [s["name"] for s in card["scenarios"]] == [s.name for s in matter.scenarios][:4]
    assert not any(s.get("open") for s in card["scenarios"])
    labels = {f["label"]: f["value"] for f in card["facts"]}
    assert labels["办理时限"] == "承诺10个工作日（法定15个工作日）" and labels["收费"] == "不收费"
    assert {"type": "link", "title": "查看指南", "url": f"/guide/{RESIDENCE}"} in card["actions"]
    assert {"type": "call", "title": "拨打12345", "number": "12345"} in card["actions"]
    assert card["actions"][0] == {"type": "link", "title": "去办理", "url": matter.online_url}
    titles = [c["title"] for c in card["chips"]]
    assert "要多久" in titles and "要带什么材料" not in titles  # not the question just answered
    assert card["chips"][0]["payload"] == '/ask_processing_time{"matter": "上海市居住证申领"}'
    # the plain text is the answer every other channel gives
    assert card["text"] == "\n\n".join(materials(matter))
    assert card_problems(card) == []


def test_a_held_material_is_tagged_exempt_also_in_the_text(index):
    card = materials_card(index.get(RESIDENCE))
    held = [m for m in card["materials"] if m["tag"] == "免提交"]
    assert [m["name"] for m in held] == ["居民身份证", "居住登记信息"]
    assert "1. 【免提交】居民身份证（原件1份" in card["text"]
    optional = [m for s in card["scenarios"] for m in s["materials"] if m["tag"] == "非必需"]
    assert [m["name"] for m in optional] == ["劳动合同"]


def test_the_citizens_scenario_is_opened_and_counted(index):
    matter = index.get(RESIDENCE)
    card = materials_card(matter, scenario="租赁居住")
    assert card["title"] == "办理「上海市居住证申领」（租赁居住）需要准备6项材料"
    assert [(s["name"], s.get("open")) for s in card["scenarios"]] == [("租赁居住", True)]
    assert "「租赁居住」另需" in card["text"]
    assert card_problems(card) == []
    # a scenario name from another matter's conversation is ignored
    assert materials_card(matter, scenario="卡片遗失")["title"] == materials_card(matter)["title"]


def test_every_card_of_the_catalog_fits_the_schema(index):
    for matter in index.matters:
        for card in (materials_card(matter), overview_card(matter)):
            assert card_problems(card) == [], matter.code
            assert len(card["text"]) <= 4000


def test_long_lists_are_bounded(index):
    matter = index.get(RESIDENCE)
    many = [Material(f"材料{i}", "copy", 1, False) for i in range(30)]
    scenarios = list(matter.scenarios) * 3
    big = dataclasses.replace(matter, materials=many, scenarios=scenarios)
    card = materials_card(big)
    assert len(card["materials"]) == 8
    assert card["more"] == "另有22项材料未列出，详见办事指南"
    assert len(card["scenarios"]) == MAX_SCENARIOS
    assert card["title"].endswith("需要准备30项材料")
    assert card_problems(card) == []


def test_no_empty_sections(index):
    matter = index.get(RESIDENCE)
    bare = dataclasses.replace(matter, scenarios=[], online_available=False, online_url="",
                               materials=[Material("申请表", "original", 1, False)])
    card = materials_card(bare)
    assert "scenarios" not in card and "summary" not in card and "more" not in card
    assert [a["title"] for a in card["actions"]] == ["查看指南", "拨打12345"]
    for key, value in card.items():
        assert value not in (None, "", [], {}), key
    assert card_problems(card) == []


def test_schema_refuses_what_clients_cannot_trust(index):
    card = materials_card(index.get(RESIDENCE))
    assert card_problems({**card, "materials": []})  # an empty section
    assert card_problems({**card, "actions": [{"type": "link", "title": "x",
                                               "url": "javascript:alert(1)"}]})
    wrong_tag = {**card["materials"][0], "tag": "红色"}
    assert card_problems({**card, "materials": [wrong_tag]})
    assert card_problems({**card, "extra": 1})
    assert card_problems({k: v for k, v in card.items() if k != "text"})


def test_overview_card_offers_every_question(index):
    matter = index.get(RESIDENCE)
    card = overview_card(matter)
    assert card["kind"] == "overview" and "materials" not in card
    assert [c["title"] for c in card["chips"]] == [c["title"] for c in chips(matter)]
    assert len(card["chips"]) == 7 and card["text"].endswith("您想了解哪方面？")


@pytest.mark.parametrize("payload", [None, {}, {"type": "matter_card", "version": 2}, "x"])
def test_is_card_knows_only_its_version(payload):
    assert not is_card(payload)
