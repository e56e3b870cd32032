"""The interview as a conversation (bot.intake.dialogue), without Rasa: a citizen's
messages in, the bot's questions and the recorded answers out."""
from __future__ import annotations

from dataclasses import replace
from typing import List

import pytest

from bot.dialogue.turn import Said
from bot.intake import engine
from bot.intake.dialogue import (
    ASK_CONFIRM,
    ASK_INDUSTRY,
    ASKING,
    CONFIRMED,
    HANDOFF,
    STOPPED,
    IntakeState,
    introduction,
    Outcome,
    handle_reply,
    prompt,
    start,
)


class Interview:
    """Drives the dialogue the way the form does: ask, read the reply, ask again."""

    def __init__(self, industries, index=None, opening: str = "我想开个便利店",
                 intent: str = "start_permit_intake"):
        self.industries, self.index = industries, index
        self.outcome = start(industries, Said(intent, opening))
        self.state = self.outcome.state
        self.asked_text = ""
        self.buttons: List[str] = []
        self._ask()

    def _ask(self) -> None:
        turn, asked = prompt(self.industries, self.state)
        self.state = replace(self.state, asked=asked)
        self.asked_text = turn.messages[-1].text
        self.buttons = [b["title"] for b in turn.messages[-1].buttons]

    def say(self, text: str, intent: str = "", entities=()) -> Outcome:
        self.outcome = handle_reply(self.industries, self.state, Said(intent, text, tuple(entities)),
                                    index=self.index)
        self.state = self.outcome.state
        if self.outcome.status == ASKING:
            self._ask()
        return self.outcome

    @property
    def said(self) -> str:
        return "\n".join(self.outcome.turn.texts)

    @property
    def answers(self):
        return self.state.answers


def test_start_with_industry_introduces_and_asks_first_question_with_buttons(industries):
    talk = Interview(industries)
    assert talk.state.industry == "convenience_store"
    assert "便利店" in talk.said and "一业一证" in talk.said
    assert "是否已办理营业执照" in talk.asked_text and talk.buttons == ["是", "否"]
    assert talk.state.asked == "has_licence"


def test_industry_named_later(industries):
    talk = Interview(industries, opening="开店需要办哪些证")
    assert talk.state.industry is None and talk.state.asked == ASK_INDUSTRY
    assert set(talk.buttons) == {i.name for i in industries.values()}
    talk.say("嗯…想开个小药房吧")
    assert talk.state.industry == "pharmacy"
    assert "是否已办理营业执照" in talk.asked_text


def test_unknown_industry_is_asked_again(industries):
    talk = Interview(industries, opening="开店需要办哪些证")
    talk.say("开个理发店")
    assert talk.state.industry is None and "暂时还没有上线" in talk.said
    assert talk.state.asked == ASK_INDUSTRY


@pytest.mark.parametrize(
    "reply, value",
    [("有", True), ("没有", False), ("不卖", False), ("卖的", True), ("暂时不", False),
     ("嗯嗯，卖的", True), ("/affirm", True), ("/deny", False), ("是", True), ("否", False),
     ("烟不卖", False), ("賣的", True)],
)
def test_yes_no_in_many_forms(industries, reply, value):
    talk = Interview(industries)
    talk.state = replace(talk.state, answers={"has_licence": True, "prepackaged_only": True,
                                              "bulk_food": False, "onsite_food": False,
                                              "special_food": False, "alcohol": False,
                                              "otc_drugs": False, "medical_devices": False})
    talk._ask()
    assert talk.state.asked == "tobacco"
    talk.say(reply)
    assert talk.answers["tobacco"] is value


def test_neither_yes_nor_no_is_asked_again_with_buttons(industries):
    talk = Interview(industries)
    talk.say("这个嘛，不知道")
    assert "没听明白" in talk.said
    assert talk.state.asked == "has_licence" and talk.answers == {}
    assert talk.buttons == ["是", "否"]


def test_unsure_answers_read_as_small_talk_are_asked_again_not_chatted_with(industries):
    """The NLU may call "这个我也说不好" chitchat; in an interview it is an answer the bot
    did not understand. Small talk it knows ("你真聪明") is answered, then the question."""
    talk = Interview(industries)
    talk.say("这个我也说不好", intent="chitchat")
    assert "没听明白" in talk.said and "闲聊" not in talk.said
    assert talk.state.asked == "has_licence" and talk.buttons == ["是", "否"]
    talk.say("你真聪明", intent="chitchat")
    assert "谢谢夸奖" in talk.said and "我们接着刚才的问题" in talk.said
    assert talk.state.asked == "has_licence"


def test_question_in_the_middle_is_answered_and_the_interview_resumes(industries, index):
    talk = Interview(industries, index=index)
    talk.say("已经办好了")
    pending = talk.state.asked
    talk.say("需要带身份证原件吗？", intent="ask_materials")
    assert "材料" in talk.said and "接着刚才的问题" in talk.said
    assert talk.state.asked == pending and "prepackaged_only" not in talk.answers
    talk.say("对")
    assert talk.answers["prepackaged_only"] is True


def test_correction_finds_the_question_by_keyword(industries):
    talk = Interview(industries)
    for reply in ("办了", "不是", "没有", "不做", "不卖", "不卖", "没有"):
        talk.say(reply)
    assert talk.answers["alcohol"] is False and talk.state.asked == "medical_devices"
    talk.say("刚才说错了，我们卖酒")
    assert talk.answers["alcohol"] is True
    assert "酒类零售" in talk.said and talk.state.asked == "medical_devices"
    assert "SH-E-006" in engine.approvals(industries["convenience_store"], talk.answers)


def test_answer_naming_another_question_goes_to_that_question(industries):
    talk = Interview(industries)
    for reply in ("办了", "不是", "没有", "不做", "不卖", "不卖", "不卖", "没有"):
        talk.say(reply)
    assert talk.state.asked == "tobacco" and talk.answers["alcohol"] is False
    talk.say("我们也卖酒")
    assert talk.answers["alcohol"] is True and "tobacco" not in talk.answers
    assert talk.state.asked == "tobacco"


def test_changing_the_licence_answer_brings_in_the_entity_question(industries):
    talk = Interview(industries)
    talk.say("有执照")
    talk.say("是")
    talk.say("不对，刚才说错了，营业执照还没办")
    assert talk.answers["has_licence"] is False
    assert talk.state.asked == "entity_type" and talk.buttons == ["企业", "个体工商户"]
    talk.say("个体户")
    assert talk.answers["entity_type"] == "individual"
    # only prepackaged food: bulk food and food made on site are not asked (moot)
    assert talk.state.asked == "special_food"


def test_back_to_the_previous_question(industries):
    talk = Interview(industries)
    talk.say("办了")
    talk.say("上一题")
    assert talk.answers == {} and talk.state.asked == "has_licence"


def test_asking_for_a_person_ends_the_interview_for_the_handoff(industries):
    talk = Interview(industries)
    talk.say("是")
    outcome = talk.say("我要找人工客服", intent="request_human")
    assert outcome.status == HANDOFF
    assert "转人工" in talk.said


def test_stop_and_restart(industries):
    talk = Interview(industries)
    talk.say("没办")
    talk.say("重新开始")
    assert talk.answers == {} and talk.state.asked == "has_licence" and "重新开始" in talk.said
    talk.say("算了，不办了")
    assert talk.outcome.status == STOPPED and talk.answers == {}


def test_another_industry_mid_way_restarts_with_it(industries):
    talk = Interview(industries)
    talk.say("办了")
    talk.say("我还是想开个健身房", intent="start_permit_intake",
             entities=[{"entity": "industry", "value": "健身房"}])
    assert talk.state.industry == "gym" and talk.answers == {}


def _finish(talk: Interview, reply: str = "没有") -> None:
    for _ in range(30):
        if talk.state.asked == ASK_CONFIRM:
            return
        talk.say(reply if talk.buttons == ["是", "否"] else talk.buttons[0])
    raise AssertionError("the interview did not end")


def test_read_back_then_confirm(industries):
    talk = Interview(industries)
    _finish(talk)
    assert talk.state.asked == ASK_CONFIRM
    assert "请核对" in talk.asked_text and "1. 是否已办理营业执照？ —— 否" in talk.asked_text
    assert talk.buttons[0] == "确认无误"
    talk.say("确认无误")
    assert talk.outcome.status == CONFIRMED


def test_change_by_number_at_confirmation(industries):
    talk = Interview(industries)
    _finish(talk)
    talk.say("第4项改成是")
    changed = engine.answered(industries["convenience_store"], talk.answers)[3]
    assert changed[1] is True and "改为：是" in talk.said
    talk.say("我要修改")
    assert "要改哪一项" in talk.said and talk.outcome.status == ASKING


def test_every_industry_can_be_completed(industries):
    for industry in industries.values():
        talk = Interview(industries, opening=f"我想开{industry.aliases[0]}")
        assert talk.state.industry == industry.code
        _finish(talk, "有")
        talk.say("好的，确认")
        assert talk.outcome.status == CONFIRMED
        assert engine.is_complete(industry, talk.answers)


def test_a_correction_that_carries_its_answer_is_not_asked_again(industries):
    talk = Interview(industries)
    talk.say("办了")
    talk.say("是")
    talk.say("刚才说错了 营业执照还没办")
    assert talk.answers["has_licence"] is False and "重新回答" not in talk.said
    assert talk.state.asked == "entity_type"


def test_a_choice_question_is_asked_again_with_its_options_not_yes_or_no(industries):
    talk = Interview(industries)
    talk.say("还没有")
    assert talk.state.asked == "entity_type"
    talk.say("否")
    assert "是”或“否" not in talk.said and "1. 企业" in talk.said and "2. 个体工商户" in talk.said
    talk.say("2")
    assert talk.answers["entity_type"] == "individual"


def test_a_yes_to_a_moot_question_is_kept_and_changes_the_earlier_answer(industries):
    talk = Interview(industries)
    for reply in ("办了", "是"):  # only prepackaged food: 3 and 4 are not asked
        talk.say(reply)
    assert talk.state.asked == "special_food"
    talk.say("我们也卖散装的熟食")
    assert talk.answers["bulk_food"] is True and talk.answers["prepackaged_only"] is False
    assert "就改为：否" in talk.said and "不用回答" not in talk.said
    assert talk.state.asked == "onsite_food"  # now asked: it applies again


def test_the_introduction_says_how_many_questions_honestly(industries):
    gym = industries["gym"]
    low, high = engine.question_count_range(gym, {})
    assert (low, high) == (7, 10)
    assert "7到10个问题" in introduction(gym, {})
    # every path asks at least `low` and at most `high`
    asked_when_unlicensed = engine.remaining_questions(gym, {"has_licence": False})
    assert low <= len(asked_when_unlicensed) + 1 <= high


def test_what_the_reform_is_is_explained_before_the_interview_asks(industries):
    talk = Interview(industries, opening="一业一证是啥")
    assert "行业综合许可证" in talk.said and "一张表申请" in talk.said
    assert talk.state.asked == ASK_INDUSTRY and "便利店" in talk.buttons
    named = Interview(industries, opening="开便利店的一业一证是什么意思")
    assert "行业综合许可证”：一次告知" in named.said and named.state.industry == "convenience_store"
    plain = Interview(industries, opening="我想开个便利店")
    assert "一次告知要办什么" not in plain.said
