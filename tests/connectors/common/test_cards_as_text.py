"""Matter cards in text-only chats (WeChat, Alipay): connectors.common.text.card_as_text
and the platforms' output channels sending them (docs/answer-cards.md)."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from bot.catalog.cards import materials_card
from bot.kv import MemoryStore
from connectors.alipay.channel import AlipayOutput
from connectors.common import options
from connectors.common.text import card_as_text, web_base_url
from connectors.wechat.channel import WeChatMPOutput, WeChatOAOutput

BASE = "https://zwfw.example.gov.cn"


@pytest.fixture
def card(index):
    return materials_card(index.get("SH-P-001"))


def message(card: Dict[str, Any]) -> Dict[str, Any]:
    """What Rasa hands an output channel for the action's message (text + custom)."""
    return {"text": card["text"], "custom": card, "buttons": []}


def test_a_card_becomes_its_text_links_hotline_and_options(card):
    text, buttons = card_as_text(message(card), BASE)
    assert text.startswith(card["text"])
    tail = text[len(card["text"]):].strip().splitlines()
    assert tail == ["[去办理](https://zwdt.sh.gov.cn/)",
                    f"[查看指南]({BASE}/guide/SH-P-001)", "政务服务热线：12345"]
    assert [b["title"] for b in buttons] == ["要多久", "收不收费", "去哪里办", "能否网上办",
                                             "申请条件", "办理流程"]
    assert buttons[0]["payload"] == '/ask_processing_time{"matter": "上海市居住证申领"}'


def test_other_messages_are_not_cards():
    assert card_as_text({"text": "你好"}, BASE) is None
    assert card_as_text({"text": "x", "custom": {"wechat": {"msgtype": "text"}}}, BASE) is None
    unknown = {"custom": {"type": "matter_card", "version": 9, "text": "x"}}
    assert card_as_text(unknown, BASE) is None


def test_the_guide_link_is_on_the_public_base_url(monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://zwfw.example.gov.cn/")
    assert web_base_url() == "https://zwfw.example.gov.cn"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("WEB_PORT", "8811")
    assert web_base_url() == "http://127.0.0.1:8811"


class FakeWeChat:
    def __init__(self):
        self.sent: List[Dict[str, Any]] = []

    async def send(self, body):
        self.sent.append(body)


class FakeAlipay:
    def __init__(self):
        self.sent: List[Any] = []

    async def custom_send(self, user_id, body):
        self.sent.append((user_id, body))


async def test_wechat_sends_the_card_once_as_text_with_numbered_options(card, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    store, sender = MemoryStore(), FakeWeChat()
    out = WeChatOAOutput(sender, store)
    await out.send_response("wechat_oa:o-citizen", message(card))
    texts = [body["text"]["content"] for body in sender.sent]
    whole = "\n".join(texts)
    assert all(body["touser"] == "o-citizen" for body in sender.sent)
    assert whole.count("办理「上海市居住证申领」需要准备4项材料") == 1  # not text and payload both
    assert "【免提交】居民身份证" in whole
    # Official Accounts show anchors: a short label, no raw URL dump
    assert f'<a href="{BASE}/guide/SH-P-001">查看指南</a>' in whole
    assert "政务服务热线：12345" in whole
    assert whole.splitlines()[-6:] == ["回复1：要多久", "回复2：收不收费", "回复3：去哪里办",
                                        "回复4：能否网上办", "回复5：申请条件", "回复6：办理流程"]
    assert all(len(t.encode()) <= 2048 for t in texts)
    assert out.offered_options
    # "回复1" is the chip's question
    assert await options.resolve(store, "wechat_oa", "o-citizen", "回复1") == \
        '/ask_processing_time{"matter": "上海市居住证申领"}'


async def test_mini_program_and_alipay_write_links_as_title_and_address(card, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    sender = FakeWeChat()
    await WeChatMPOutput(sender, MemoryStore()).send_response("wechat_mp:o-1", message(card))
    mini = "\n".join(body["text"]["content"] for body in sender.sent)
    assert f"查看指南（{BASE}/guide/SH-P-001）" in mini and "<a " not in mini

    client, store = FakeAlipay(), MemoryStore()
    await AlipayOutput(client, store).send_response("alipay_life:2088", message(card))
    alipay = "\n".join(body["text"]["content"] for _, body in client.sent)
    assert {user for user, _ in client.sent} == {"2088"}
    assert alipay.count("需要准备4项材料") == 1
    assert f"查看指南（{BASE}/guide/SH-P-001）" in alipay and "回复6：办理流程" in alipay
    assert await options.resolve(store, "alipay_life", "2088", "2") == \
        '/ask_fee{"matter": "上海市居住证申领"}'


async def test_plain_texts_are_sent_as_before():
    sender = FakeWeChat()
    await WeChatOAOutput(sender, MemoryStore()).send_response("wechat_oa:o-2", {"text": "收到"})
    assert [body["text"]["content"] for body in sender.sent] == ["收到"]
