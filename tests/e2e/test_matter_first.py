"""Matter-first turns through the running assistant's REST channel (issue 12): a name or a
situation alone, candidates chosen by typing, the question type read from the wording,
the honest answer naming the whole unknown thing. Needs a model trained with this
commit's domain and rules (action_matter_first, the matter_* slots)."""
from __future__ import annotations

import pytest

from tests.e2e.test_conversations import Citizen
from tests.stack import rasa_api, rest_conversation

pytestmark = pytest.mark.slow

TOPIC_TITLES = ["要带什么材料", "要多久", "收不收费", "去哪里办", "能否网上办", "申请条件", "办理流程"]


def replies_of(citizen: Citizen, text: str):
    replies = citizen.say(text)
    return "\n".join(r.get("text", "") for r in replies), [b for r in replies for b in r.get("buttons", [])]


def slots(stack, citizen: Citizen) -> dict:
    return rasa_api(stack, f"/conversations/{rest_conversation(citizen.sender)}/tracker")["slots"]


def assert_overview(text: str, buttons, name: str) -> None:
    assert f"「{name}」" in text and "您想了解哪方面" in text, text
    assert "没太明白" not in text
    assert [b["title"] for b in buttons] == TOPIC_TITLES


def test_a_bare_matter_name_gets_the_overview_and_is_kept(stack):
    citizen = Citizen(stack)
    text, buttons = replies_of(citizen, "护照")
    assert_overview(text, buttons, "普通护照申请")
    assert "上海市公安局出入境管理局" in text
    assert slots(stack, citizen)["matter_code"] == "SH-P-010"
    fee = citizen.text("多少钱")
    assert "普通护照申请" in fee and "120元" in fee


def test_a_business_licence_alone_gets_the_overview(stack):
    text, buttons = replies_of(Citizen(stack), "营业执照")
    assert_overview(text, buttons, "企业设立登记（开办企业）")


def test_a_situation_names_the_matter_and_its_scenario(stack):
    citizen = Citizen(stack)
    text, _ = replies_of(citizen, "社保卡丢了")
    # the overview, or (should NLU read it as a question) that question's answer
    assert "「社会保障卡补换」" in text and "没太明白" not in text
    answer = citizen.text("要带什么")
    assert "社会保障卡补换" in answer and "社会保障卡挂失记录" in answer


@pytest.mark.parametrize("text,name", [("驾照快到期了", "机动车驾驶证换证"), ("驾照丢了", "机动车驾驶证补证")])
def test_situations_choose_between_sibling_matters(stack, text, name):
    citizen = Citizen(stack)
    said, _ = replies_of(citizen, text)
    assert f"「{name}」" in said and "没太明白" not in said and "哪一项" not in said
    assert slots(stack, citizen)["matter_code"] == {"机动车驾驶证换证": "SH-P-013",
                                                    "机动车驾驶证补证": "SH-P-014"}[name]


def test_a_situation_after_the_matter_selects_the_scenario_materials(stack):
    citizen = Citizen(stack)
    citizen.text("护照")
    assert "护照遗失或被盗" in citizen.text("丢了")  # the overview names the scenario
    answer = citizen.text("要带什么材料")
    assert "（护照遗失或被盗）" in answer and "护照遗失或被盗情况说明" in answer


def test_an_id_card_situation_is_answered_honestly_and_followed_up(stack):
    """Our catalog holds no ID card matter: an honest answer naming it, a person, 12345,
    and the follow-up is about the same thing, not "哪个事项？"."""
    citizen = Citizen(stack)
    text, buttons = replies_of(citizen, "身份证快过期了")
    assert "没有找到「身份证」" in text and "12345" in text
    assert {"title": "转人工", "payload": "/request_human"} in buttons
    follow, _ = replies_of(citizen, "要带什么")
    assert "没有找到「身份证」" in follow and "哪个事项" not in follow


@pytest.mark.parametrize("reply,name", [
    ("补办的", "社会保障卡补换"), ("丢了", "社会保障卡补换"), ("第一次办", "社会保障卡申领"),
])
def test_typed_reply_chooses_among_the_candidates(stack, reply, name):
    citizen = Citizen(stack)
    _, buttons = replies_of(citizen, "社保卡要带什么")
    assert {"社会保障卡补换", "社会保障卡申领"} <= {b["title"] for b in buttons}
    assert {"SH-P-003", "SH-P-004"} <= set(slots(stack, citizen)["matter_candidates"])
    answer = citizen.text(reply)
    assert f"「{name}」" in answer and "份" in answer  # the materials asked for first
    state = slots(stack, citizen)
    assert state["matter_candidates"] is None
    assert state["matter_code"] == {"社会保障卡补换": "SH-P-004", "社会保障卡申领": "SH-P-003"}[name]


def test_candidates_for_someone_else_use_the_proxy_scenario(stack):
    citizen = Citizen(stack)
    _, buttons = replies_of(citizen, "社保卡帮别人办")
    payload = next(b["payload"] for b in buttons if b["title"] == "社会保障卡申领")
    assert "委托他人代办" in citizen.text(payload)
    answer = citizen.text("要带什么材料")
    assert "委托书" in answer and "代办人居民身份证" in answer


@pytest.mark.parametrize("text,name,partial", [
    ("如何办理渔船登记", "渔船登记", None),
    ("渔业捕捞许可证需要什么条件", "渔业捕捞许可证", "「渔业」"),
])
def test_unknown_matter_is_named_whole_with_a_person_and_12345(stack, text, name, partial):
    said, buttons = replies_of(Citizen(stack), text)
    assert f"没有找到「{name}」" in said and "12345" in said, said
    assert "/request_human" in [b["payload"] for b in buttons]
    if partial:
        assert partial not in said


def test_a_formal_question_is_answered_whatever_nlu_made_of_it(stack):
    text = "您好，想请问一下，在本市申请办理居住证，一般需要准备哪些材料呢？谢谢！"
    answer = Citizen(stack).text(text)
    assert "上海市居住证申领" in answer and "居民身份证" in answer


def test_a_greeting_that_names_a_matter_gets_the_matter(stack):
    said, buttons = replies_of(Citizen(stack), "你好，护照")
    assert_overview(said, buttons, "普通护照申请")


def test_a_matter_word_in_a_foreign_request_stays_out_of_scope(stack):
    said, buttons = replies_of(Citizen(stack), "帮我订一张明天去香港的机票")
    assert "12345" in said and "往来港澳通行证" not in said and not buttons


def test_urgent_gets_the_time_limit_and_no_invented_express_service(stack):
    answer = Citizen(stack).text("护照加急")
    assert "普通护照申请" in answer and "工作日" in answer and "没有单列「加急」" in answer


def test_an_answered_fallback_does_not_count_towards_a_handoff(stack):
    citizen = Citizen(stack)
    citizen.text("护照")
    reply = citizen.text("asdfghjkl")
    assert "没太明白" in reply and "没能理解" not in reply


def test_the_matter_in_focus_survives_social_turns(stack):
    citizen = Citizen(stack)
    citizen.text("居住证要什么材料")
    citizen.text("谢谢")
    follow = citizen.text("那要多久？")
    assert "上海市居住证申领" in follow and "工作日" in follow
