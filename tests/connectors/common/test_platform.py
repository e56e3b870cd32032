"""The pieces of the shared platform flow (connectors/common/platform.py, turn.py) that
the connector tests reach only through a webhook."""
from __future__ import annotations

from connectors.alipay.channel import dedup_key as alipay_key
from connectors.common.platform import delivery_key, strip_channel
from connectors.common.turn import WELCOME, Incoming, event_incoming, said
from connectors.wechat.channel import dedup_key as wechat_key


def test_delivery_keys_keep_their_form():
    """The keys live in the shared store across a rolling deploy: a new process must
    recognise a message an old one handled."""
    assert delivery_key("wechat_oa", "123", "o1", "17") == "wechat_oa:msg:123"
    assert delivery_key("wechat_oa", None, "o1", "17") == "wechat_oa:evt:o1:17"
    assert wechat_key("wechat_mp", {"FromUserName": "o2", "CreateTime": "5"}) == \
        "wechat_mp:evt:o2:5"
    assert alipay_key({"MsgId": "m1", "FromAlipayUserId": "2088"}) == "alipay_life:msg:m1"
    assert alipay_key({"FromUserId": "2088", "CreateTime": "9"}) == "alipay_life:evt:2088:9"


def test_sender_ids_lose_only_their_own_channel():
    assert strip_channel("alipay_life", "alipay_life:2088") == "2088"
    assert strip_channel("wechat_oa", "wechat_mp:o1") == "wechat_mp:o1"


def test_events_and_texts():
    assert event_incoming("SUBSCRIBE", {"subscribe"}, "") == Incoming(text=WELCOME)
    assert event_incoming("click", set(), "  办居住证 ") == Incoming(text="办居住证")
    assert event_incoming("click", set(), "   ").asks_nothing
    assert event_incoming("unsubscribe", {"subscribe"}, "x").asks_nothing
    assert said("字" * 2500) == Incoming(text="字" * 2000)
    assert said(" \n").asks_nothing and not Incoming(reply="收到").asks_nothing
