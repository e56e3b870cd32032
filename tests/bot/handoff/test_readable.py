"""What the agent reads (issue 16): button presses as the buttons' titles, the buttons the
bot offered, channels in words, summaries in plain sentences without intent names."""
from __future__ import annotations

import pytest

from bot.handoff.history import messages
from bot.handoff.summary import channel_label, summarize

PAYLOAD = '/ask_materials{"matter": "社会保障卡补换"}'


def _bot_with_buttons(_id=1):
    return {"_id": _id, "event": "bot", "text": "您问的是下面哪一项？", "timestamp": 1.0, "data": {"buttons": [
        {"title": "社会保障卡申领", "payload": '/ask_materials{"matter": "社会保障卡申领"}'},
        {"title": "社会保障卡补换", "payload": PAYLOAD},
        {"title": "转人工"}]}}


def test_a_press_shows_the_title_of_the_button_the_bot_offered():
    shown = messages([_bot_with_buttons(), {"_id": 2, "event": "user", "text": PAYLOAD, "timestamp": 2.0},
                      {"_id": 3, "event": "user", "text": "转人工", "timestamp": 3.0}])
    assert shown[0]["buttons"] == ["社会保障卡申领", "社会保障卡补换", "转人工"]
    assert shown[1] == {"id": 2, "from": "citizen", "text": "社会保障卡补换", "pressed": True,
                        "masked": False, "at": 2.0}
    assert shown[2]["text"] == "转人工"  # a payload-less button sends its title


def test_a_press_without_the_bots_message_reads_as_words_not_json():
    [shown] = messages([{"_id": 5, "event": "user", "text": '/ask_fee{"matter": "居住证"}'}])
    assert shown["text"] == "收费：居住证"
    [odd] = messages([{"_id": 6, "event": "user", "text": "/whatever"}])
    assert odd["text"] == "点了按钮（whatever）" and "{" not in odd["text"]


def test_typed_texts_are_not_taken_for_presses():
    [shown] = messages([{"_id": 7, "event": "user", "text": "社会保障卡补换"}])
    assert "pressed" not in shown


@pytest.mark.parametrize("channel, label", [
    ("socketio", "网页"), ("rest", "网页接口"), ("wechat", "微信"), ("wechat_oa", "微信公众号"),
    ("alipay_life", "支付宝生活号"), ("alipay", "支付宝"), ("unknown", "其他渠道"),
    ("something_new", "其他渠道"), (None, "其他渠道"),
])
def test_channels_in_words(channel, label):
    assert channel_label(channel) == label


def _user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def test_summaries_are_plain_sentences():
    events = [_user("居住证要什么材料", "ask_materials"), _user("多久能办好", "ask_processing_time"),
              _user("啊啊啊", "nlu_fallback"), _user("/request_human", "request_human")]
    summary = summarize("request", events, "上海市居住证申领")["summary"]
    assert summary.startswith("市民问过「上海市居住证申领」的办事材料、办理时限。机器人有1句没听懂。")
    assert "意图" not in summary and "未识别" not in summary and "转人工" not in summary
    assert summarize("request", [_user("/request_human", "request_human")])["summary"] == "市民直接要求人工服务。"
    assert summarize("request", [])["summary"] == "还没有对话内容。"
    complaint = summarize("complaint", [_user("窗口态度太差", "complain")])["summary"]
    assert complaint.startswith("市民要投诉。") and "窗口态度太差" in complaint
