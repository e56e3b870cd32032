"""The interview engine on the reference industry (spec: convenience store) and the others."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.intake import engine
from bot.intake.documents import build_documents
from bot.intake.engine import InvalidAnswer
from bot.intake.schema import find_industry

from tests.fixtures.intake import complete

REGISTRATIONS = {"SH-E-001", "SH-E-002"}


def materials(industry, answers, matters):
    return {i.name: i for i in build_documents(industry, answers, matters).checklist.items}


# -- question flow ----------------------------------------------------------


def test_store_has_the_specs_twelve_questions_plus_1a(store):
    ids = [q.id for q in store.questions]
    assert len(ids) == 13 and ids[:2] == ["has_licence", "entity_type"]
    assert all(q.kind == "yes_no" for q in store.questions if q.id != "entity_type")
    assert store.question("entity_type").kind == "choice"
    assert store.question("has_licence").text == "是否已办理营业执照？"
    assert store.question("large_area").text == "营业面积是否超过300平方米？"


def test_licensed_store_is_not_asked_1a(store):
    assert engine.next_question(store, {}).id == "has_licence"
    answers = engine.apply_answer(store, {}, "has_licence", True)
    assert engine.next_question(store, answers).id == "prepackaged_only"
    answers = complete(store, {"has_licence": True})
    assert "entity_type" not in answers
    assert not REGISTRATIONS & set(engine.approvals(store, answers))


def test_unlicensed_store_is_asked_1a_and_registers_first(store):
    answers = engine.apply_answer(store, {}, "has_licence", "还没办")
    assert answers == {"has_licence": False}
    assert engine.next_question(store, answers).id == "entity_type"
    company = complete(store, {"has_licence": False, "entity_type": "enterprise", "tobacco": True})
    assert engine.approvals(store, company)[0] == "SH-E-001"
    assert "SH-E-002" not in engine.approvals(store, company)
    person = complete(store, {"has_licence": False, "entity_type": "individual", "tobacco": True})
    assert engine.approvals(store, person) == ["SH-E-002", "SH-E-011"]


def test_only_prepackaged_food_gives_the_filing(store, matters):
    answers = complete(store, {"has_licence": True, "prepackaged_only": True})
    assert engine.approvals(store, answers) == ["SH-E-019"]
    assert "食品经营备案信息表" in materials(store, answers, matters)


@pytest.mark.parametrize(
    "question, scenario, material",
    [
        ("bulk_food", "散装食品（含冷藏冷冻）", "冷藏冷冻设施设备清单"),
        ("onsite_food", "现场制售", "现场制售工艺流程图"),
        ("special_food", "特殊食品（婴幼儿配方乳粉等）", "特殊食品专区（专柜）设置说明"),
    ],
)
@pytest.mark.parametrize("prepackaged", [True, False])
def test_questions_3_to_5_give_the_licence_with_their_scenario(
    store, matters, question, scenario, material, prepackaged
):
    if prepackaged and question != "special_food":
        pytest.skip("only prepackaged food: bulk and on-site food are not asked (moot)")
    answers = complete(store, {"has_licence": True, "prepackaged_only": prepackaged, question: True})
    codes = engine.approvals(store, answers)
    assert "SH-E-005" in codes and "SH-E-019" not in codes
    assert engine.scenarios(store, answers)["SH-E-005"] == [scenario]
    found = materials(store, answers, matters)
    assert material in found and found[material].needed_by == ("SH-E-005",)
    assert found[material].scenarios == (scenario,)


def test_on_site_preparation_adds_process_flow_and_equipment_layout(store, matters):
    answers = complete(store, {"has_licence": True, "onsite_food": True})
    found = materials(store, answers, matters)
    assert {"现场制售工艺流程图", "现场制售设备布局图"} <= set(found)
    assert "冷藏冷冻设施设备清单" not in found


def test_all_of_3_to_5_give_one_licence_with_three_scenarios(store):
    answers = complete(store, {"has_licence": True, "bulk_food": True, "onsite_food": True,
                               "special_food": True})
    assert engine.approvals(store, answers).count("SH-E-005") == 1
    assert len(engine.scenarios(store, answers)["SH-E-005"]) == 3


def test_no_food_at_all_gives_no_food_approval(store):
    answers = complete(store, {"has_licence": True, "prepackaged_only": False})
    assert engine.approvals(store, answers) == []


@pytest.mark.parametrize(
    "question, code",
    [
        ("alcohol", "SH-E-006"),
        ("otc_drugs", "SH-E-008"),
        ("medical_devices", "SH-E-007"),
        ("tobacco", "SH-E-011"),
        ("publications", "SH-E-018"),
        ("outdoor_sign", "SH-E-013"),
        ("large_area", "SH-E-014"),
    ],
)
def test_questions_6_to_12_each_add_their_approval(store, question, code):
    yes = complete(store, {"has_licence": True, question: True})
    no = complete(store, {"has_licence": True, question: False})
    assert engine.approvals(store, yes) == [code]
    assert engine.approvals(store, no) == []


def test_otc_drugs_are_the_class_b_scope(store, matters):
    answers = complete(store, {"has_licence": True, "otc_drugs": True})
    assert engine.scenarios(store, answers) == {"SH-E-008": ["仅经营乙类非处方药"]}
    found = materials(store, answers, matters)
    assert "乙类非处方药专柜设置说明" in found
    assert "执业药师注册证" not in found  # the prescription scope is not asked of a store


def test_everything_yes_covers_every_declared_approval_but_the_other_registration(store):
    answers = complete(store, {"has_licence": False, "entity_type": "individual",
                               "prepackaged_only": False}, default=True)
    assert engine.approvals(store, answers) == [
        c for c in store.approvals if c not in ("SH-E-001", "SH-E-019")
    ]


def test_area_by_number(store):
    question = store.question("large_area")
    assert engine.parse_answer(question, "大概500平米") is True
    assert engine.parse_answer(question, "200平") is False
    assert engine.parse_answer(question, "不到300平方米") is False
    assert engine.parse_answer(question, "超过了") is True
    assert engine.parse_answer(question, "1") is True  # 1 / 0 stay yes / no


# -- answering and changing answers -----------------------------------------


def test_text_answers_are_parsed_with_the_questions_words(store):
    answers = complete(store, {"has_licence": True})
    answers = engine.apply_answer(store, answers, "tobacco", "烟有卖的")
    answers = engine.apply_answer(store, answers, "onsite_food", "關東煮有")
    assert answers["tobacco"] is True and answers["onsite_food"] is True
    answers = engine.apply_answer(store, answers, "alcohol", "酒不卖")
    assert answers["alcohol"] is False


def test_an_answer_that_is_neither_is_refused_with_the_question(store):
    with pytest.raises(InvalidAnswer) as err:
        engine.apply_answer(store, {}, "has_licence", "需要带身份证原件吗？")
    assert err.value.question.id == "has_licence"


def test_choice_answers(store):
    question = store.question("entity_type")
    assert engine.parse_answer(question, "个体户") == "individual"
    assert engine.parse_answer(question, "開公司") == "enterprise"
    assert engine.parse_answer(question, "2") == "individual"
    assert engine.parse_answer(question, "企业") == "enterprise"
    assert engine.parse_answer(question, "还没想好") is None
    with pytest.raises(InvalidAnswer):
        engine.apply_answer(store, {"has_licence": False}, "entity_type", "随便")


def test_a_question_that_does_not_apply_cannot_be_answered(store):
    with pytest.raises(InvalidAnswer):
        engine.apply_answer(store, {"has_licence": True}, "entity_type", "enterprise")
    with pytest.raises(InvalidAnswer):
        engine.apply_answer(store, {}, "no_such_question", True)


def test_changing_1_to_yes_drops_1a_and_the_registration(store):
    answers = complete(store, {"has_licence": False, "entity_type": "enterprise", "alcohol": True})
    assert engine.is_complete(store, answers)
    changed = engine.change_answer(store, answers, "has_licence", "已经办了")
    assert "entity_type" not in changed
    assert engine.is_complete(store, changed)
    assert engine.approvals(store, changed) == ["SH-E-006"]
    assert answers["entity_type"] == "enterprise"  # the input is never modified


def test_changing_1_back_to_no_asks_1a_again(store):
    answers = complete(store, {"has_licence": True})
    changed = engine.change_answer(store, answers, "has_licence", False)
    assert not engine.is_complete(store, changed)
    assert engine.next_question(store, changed).id == "entity_type"
    assert engine.remaining_questions(store, changed)[0].id == "entity_type"


def test_changing_a_food_answer_switches_licence_and_filing(store):
    answers = complete(store, {"has_licence": True, "prepackaged_only": True, "special_food": True})
    assert engine.approvals(store, answers) == ["SH-E-005"]
    changed = engine.change_answer(store, answers, "special_food", "没有")
    assert engine.approvals(store, changed) == ["SH-E-019"]


def test_a_yes_to_a_moot_question_changes_the_answer_that_made_it_moot(store):
    """"我们也卖散装的" after "只卖预包装": the file says a yes to bulk food means not only
    prepackaged food (yes_means_ask_if), so both change and the licence replaces the filing."""
    answers = complete(store, {"has_licence": True, "prepackaged_only": True})
    assert "bulk_food" not in answers and engine.approvals(store, answers) == ["SH-E-019"]
    earlier, changed = engine.unmooting_answer(store, answers, store.question("bulk_food"), True)
    assert earlier.id == "prepackaged_only" and changed["prepackaged_only"] is False
    assert changed["bulk_food"] is True and "SH-E-005" in engine.approvals(store, changed)
    # a no changes nothing; a question without the flag neither
    assert engine.unmooting_answer(store, answers, store.question("bulk_food"), False) is None
    assert engine.unmooting_answer(store, answers, store.question("entity_type"), True) is None


def test_stale_answers_are_ignored(store):
    stale = {**complete(store, {"has_licence": True}), "entity_type": "enterprise", "bogus": 1}
    assert "entity_type" not in engine.prune(store, stale)
    assert "SH-E-001" not in engine.approvals(store, stale)


def test_read_back_in_order(store):
    answers = complete(store, {"has_licence": False, "entity_type": "individual"})
    read = [(q.id, engine.answer_label(q, v)) for q, v in engine.answered(store, answers)]
    assert read[:3] == [("has_licence", "否"), ("entity_type", "个体工商户"), ("prepackaged_only", "否")]
    assert len(read) == 13


def test_forget_answer(store):
    answers = complete(store, {"has_licence": False})
    forgotten = engine.forget_answer(store, answers, "has_licence")
    assert "has_licence" not in forgotten and "entity_type" not in forgotten
    assert engine.next_question(store, forgotten).id == "has_licence"


# -- the other industries ---------------------------------------------------


def test_pharmacy(industries, matters):
    pharmacy = industries["pharmacy"]
    rx = complete(pharmacy, {"has_licence": True, "prescription_drugs": True})
    assert engine.approvals(pharmacy, rx) == ["SH-E-008"]
    assert "执业药师注册证" in materials(pharmacy, rx, matters)
    otc = complete(pharmacy, {"has_licence": True, "prescription_drugs": False, "medical_devices": True,
                              "device_online": True, "special_food": True, "prepackaged_food": True})
    assert engine.approvals(pharmacy, otc) == ["SH-E-008", "SH-E-007", "SH-E-005"]
    assert engine.scenarios(pharmacy, otc)["SH-E-007"] == ["通过网络销售"]
    no_devices = engine.change_answer(pharmacy, otc, "medical_devices", False)
    assert "device_online" not in no_devices and "SH-E-007" not in engine.approvals(pharmacy, no_devices)


def test_gym(industries):
    gym = industries["gym"]
    dry = complete(gym, {"has_licence": True})
    assert "central_air" not in dry and "renovated" not in dry
    assert engine.approvals(gym, dry) == []
    pool = complete(gym, {"has_licence": True, "swimming_pool": True, "central_air": True,
                          "area": "large", "renovated": True})
    assert engine.approvals(gym, pool) == ["SH-E-010", "SH-E-014"]
    assert engine.scenarios(gym, pool) == {
        "SH-E-010": ["游泳场（馆）", "设有集中空调通风系统"],
        "SH-E-014": ["场所经过装修或改造"],
    }
    showers = complete(gym, {"has_licence": True, "showers": True})
    assert "central_air" in showers and engine.approvals(gym, showers) == ["SH-E-010"]


def test_restaurant(industries):
    restaurant = industries["restaurant"]
    plain = complete(restaurant, {"has_licence": True})
    assert engine.approvals(restaurant, plain) == ["SH-E-005"]
    assert engine.scenarios(restaurant, plain) == {"SH-E-005": ["现场制售"]}
    full = complete(restaurant, {"has_licence": False, "entity_type": "individual"}, default=True)
    assert engine.approvals(restaurant, full) == [
        "SH-E-002", "SH-E-005", "SH-E-006", "SH-E-011", "SH-E-013", "SH-E-014"]
    assert engine.scenarios(restaurant, full)["SH-E-006"] == ["零售散装酒"]


@pytest.mark.parametrize(
    "text, code",
    [("我想开个小超市", "convenience_store"), ("開一家士多店", "convenience_store"),
     ("开药房要办什么", "pharmacy"), ("健身房一业一证", "gym"), ("开饭店", "restaurant"),
     ("我要开便利店", "convenience_store")],
)
def test_find_industry_by_alias(industries, text, code):
    assert find_industry(industries.values(), text).code == code


def test_find_industry_none(industries):
    assert find_industry(industries.values(), "我要办居住证") is None


SPEC = Path(__file__).resolve().parents[4] / "shared" / "spec" / "permit-intake.md"


@pytest.mark.skipif(not SPEC.exists(), reason="the shared spec is not on this machine")
def test_store_questions_are_the_specs_words(store):
    rows = re.findall(r"^\| (1a|\d+) \| (?:\(only when 1 is no\) )?(.+?) \|", SPEC.read_text("utf-8"), re.M)
    spec = [text.strip() for number, text in rows]
    assert len(spec) == 13
    assert [q.text for q in store.questions] == spec
