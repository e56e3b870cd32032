"""Conversations through the running assistant's REST channel, as a citizen has them."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.stack import nobody_online

pytestmark = pytest.mark.slow


def post(url: str, payload: dict, timeout: float = 30.0):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class Citizen:
    def __init__(self, stack):
        self.url = stack["RASA_PORT"] + "/webhooks/rest/webhook"
        self.sender = f"test-{uuid.uuid4().hex[:12]}"

    def say(self, text: str):
        replies = post(self.url, {"sender": self.sender, "message": text})
        return replies

    def text(self, text: str) -> str:
        return "\n".join(r.get("text", "") for r in self.say(text))


def test_residence_permit_question_and_follow_up(stack):
    citizen = Citizen(stack)
    first = citizen.text("居住证要什么材料")
    assert "上海市居住证申领" in first and "居民身份证" in first
    follow = citizen.text("那要多久？")
    assert "上海市居住证申领" in follow and "工作日" in follow
    fee = citizen.text("要钱吗")
    assert "上海市居住证申领" in fee and "收费" in fee


def test_traditional_and_typo_input(stack):
    assert "企业设立登记" in Citizen(stack).text("辦營業執照要什麼材料")
    assert "上海市居住证申领" in Citizen(stack).text("居往证要带什么材料")


def test_ambiguous_matter_gets_buttons_and_button_answers(stack):
    citizen = Citizen(stack)
    replies = citizen.say("社保卡要带什么材料")
    buttons = [b for r in replies for b in r.get("buttons", [])]
    titles = [b["title"] for b in buttons]
    assert "社会保障卡补换" in titles and "社会保障卡申领" in titles
    payload = next(b["payload"] for b in buttons if b["title"] == "社会保障卡补换")
    answer = citizen.text(payload)
    assert "社会保障卡补换" in answer and "份" in answer


def test_unknown_matter_is_honest_and_offers_a_person(stack):
    citizen = Citizen(stack)
    # a real government matter the catalog does not hold (a Mars visa is out of scope)
    replies = citizen.say("渔船登记要带什么材料")
    text = "\n".join(r.get("text", "") for r in replies)
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert "没有找到" in text and "/request_human" in buttons


def test_small_talk_and_scope(stack):
    citizen = Citizen(stack)
    assert "智能客服" in citizen.text("你好")
    assert "机器人" in citizen.text("你是机器人吗")
    assert "12345" in citizen.text("帮我订一张明天去北京的机票")
    assert citizen.text("谢谢啦")
    assert "再见" in citizen.text("没别的事了，拜拜")


def test_two_misunderstandings_in_a_row_with_nobody_online_offer_a_message(stack):
    """With no agent at the desk the citizen is told so and may leave a message. (With
    an agent online the same two messages queue the citizen: tests/e2e/test_handoff.py,
    test_two_misunderstood_messages_in_a_row_go_to_a_person.)"""
    nobody_online(stack)
    citizen = Citizen(stack)
    citizen.text("asdfghjkl")
    reply = citizen.text("qwertyuiop zxcv")
    assert "没能理解" in reply
    assert "没有在线的工作人员" in reply and "转接人工客服" not in reply


def test_long_complaint_is_answered(stack):
    """How long a long message takes is a figure of `make bench` (section 4, a long
    message beside a normal conversation), not a bound here."""
    text = "楼下工地每天半夜施工，噪音特别大，" * 120  # about 2,000 characters
    replies = Citizen(stack).say(text[:2000])
    assert replies and all(r.get("text") or r.get("buttons") for r in replies)


def test_model_parse_understands_contract_intents(stack):
    result = post(stack["RASA_PORT"] + "/model/parse", {"text": "公积金提取能网上办吗"})
    assert result["intent"]["name"] == "ask_online"


def test_web_api_search(stack):
    query = urllib.parse.quote("社保卡丢了")
    with urllib.request.urlopen(stack["WEB_PORT"] + f"/api/matters/search?q={query}") as r:
        results = json.loads(r.read())["results"]
    assert results[0]["name"] == "社会保障卡补换"
