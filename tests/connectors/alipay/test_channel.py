"""The Alipay life-account connector over HTTP: requests signed with alipay-sdk as Alipay
signs them (GBK and UTF-8), replies received and verified by a fake Alipay gateway."""
from __future__ import annotations

import asyncio
import time

import pytest
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2

from connectors.alipay.channel import AlipayLifeInput, parse_form
from tests.fixtures.platforms import BUTTONS, new_id
from tests.connectors.platforms import wait_until

NOTIFY = "alipay.mobile.public.message.notify"


async def test_gateway_check_answers_the_app_public_key_signed(harness):
    side = harness.ali_side
    status, body = await side.post(harness.session,
                                   side.form("alipay.service.check", side.biz_event("2088", "verifygw")))
    assert status == 200
    text = body.decode("gbk")
    assert text.startswith('<?xml version="1.0" encoding="GBK"?><alipay><response>')
    assert f"<biz_content>{side.app_keys.public_spki}</biz_content>" in text
    assert "<success>true</success>" in text and side.answer_is_signed(body)


@pytest.mark.parametrize("charset", ["GBK", "UTF-8"])
async def test_text_in_the_declared_charset_is_answered_via_custom_send(harness, charset):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    said = "辦居住證要什麼材料？需要身份证吗"
    status, body = await side.post(harness.session,
                                   side.form(NOTIFY, side.biz_text(user, said, new_id()), charset),
                                   charset)
    assert status == 200 and side.answer_is_signed(body, charset)
    assert "<MsgType><![CDATA[ack]]></MsgType>" in body.decode(charset)
    assert await wait_until(lambda: harness.alipay.texts_for(user))
    assert harness.bot.texts() == [said]  # GBK decoded correctly, not garbled
    assert harness.alipay.texts_for(user) == [f"收到：{said}"]
    assert harness.alipay.bad_signatures == 0  # our custom.send verified by alipay-sdk
    assert harness.bot.received[0].sender_id == f"alipay_life:{user}"


async def _refused(harness, status, expected=403):
    await asyncio.sleep(0.1)
    await harness.ali.runner.drain()
    assert status == expected
    assert harness.bot.received == [] and harness.alipay.sent == []


async def test_forged_signature_is_refused(harness, alipay_keys):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    from tests.connectors.platforms import AlipaySide, KeyPair
    forger = AlipaySide(side.url, side.app_id, KeyPair.generate(), side.app_keys)
    status, _ = await forger.post(harness.session, forger.form(NOTIFY, side.biz_text(user, "hi", new_id())))
    await _refused(harness, status)


async def test_tampered_content_is_refused(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    status, _ = await side.post(harness.session,
                                side.form(NOTIFY, side.biz_text(user, "hi", new_id()), tamper=True))
    await _refused(harness, status)


async def test_wrong_app_is_refused(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    status, _ = await side.post(harness.session,
                                side.form(NOTIFY, side.biz_event(user, "follow", app_id="2021999")))
    await _refused(harness, status)


async def test_stale_message_is_refused(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    old = side.biz_text(user, "hi", new_id()).replace(
        f"<CreateTime>", "<CreateTime>1").replace("<CreateTime>1", "<CreateTime>", 1)
    old = old.split("<CreateTime>")[0] + f"<CreateTime>{int((time.time() - 86400) * 1000)}" \
        + "</CreateTime>" + old.split("</CreateTime>")[1]
    status, _ = await side.post(harness.session, side.form(NOTIFY, old))
    await _refused(harness, status)


async def test_signed_xml_bomb_and_bad_charset_are_refused(harness):
    side = harness.ali_side
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<XML><AppId>x</AppId><Text><Content>&b;</Content></Text></XML>")
    status, _ = await side.post(harness.session, side.form(NOTIFY, bomb))
    await _refused(harness, status, 400)
    params = {"service": NOTIFY, "sign_type": "RSA2", "charset": "KOI8-R", "biz_content": "<XML/>"}
    params["sign"] = sign_with_rsa2(side.alipay_keys.private_pkcs1, get_sign_content(params), "utf-8")
    from urllib.parse import urlencode
    status, _ = await side.post(harness.session, urlencode(params).encode())
    await _refused(harness, status, 400)


async def test_retries_are_handled_once(harness):
    side, user, msg_id = harness.ali_side, f"2088{new_id()[:12]}", new_id()
    form = side.form(NOTIFY, side.biz_text(user, "公积金怎么提取", msg_id))
    for _ in range(3):
        status, body = await side.post(harness.session, form)
        assert status == 200 and side.answer_is_signed(body)
    await wait_until(lambda: harness.alipay.texts_for(user))
    await harness.ali.runner.drain()
    assert harness.bot.texts() == ["公积金怎么提取"]


async def test_follow_gets_the_welcome_and_numbered_options_work(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    await side.post(harness.session, side.form(NOTIFY, side.biz_event(user, "follow")))
    await side.post(harness.session, side.form(NOTIFY, side.biz_text(user, "社保卡", new_id())))
    assert await wait_until(lambda: len(harness.alipay.texts_for(user)) == 2)
    assert "回复2：社会保障卡补换" in harness.alipay.texts_for(user)[1]
    await side.post(harness.session, side.form(NOTIFY, side.biz_text(user, "２", new_id())))
    await wait_until(lambda: len(harness.bot.received) == 3)
    assert harness.bot.texts() == ["/greet", "社保卡", BUTTONS[1]["payload"]]


async def test_output_channel_reaches_a_user_outside_a_webhook(harness):
    user = f"2088{new_id()[:12]}"
    await harness.ali.get_output_channel().send_response(f"alipay_life:{user}",
                                                         {"text": "人工客服已接入"})
    assert harness.alipay.texts_for(user) == ["人工客服已接入"]


def test_form_parsing_honours_the_charset():
    body = "charset=GBK&biz_content=".encode() + "%D6%D0%CE%C4".encode()
    assert parse_form(body)[0]["biz_content"] == "中文"
    raw_gbk = "charset=gbk&x=".encode() + "中文".encode("gbk")  # not percent-encoded
    assert parse_form(raw_gbk) == ({"charset": "gbk", "x": "中文"}, "gbk")


def test_unconfigured_alipay_names_the_variables(monkeypatch):
    for name in ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    channel = AlipayLifeInput.from_credentials({"app_id_env": "MY_ALIPAY_APP"})
    assert channel.missing == ["MY_ALIPAY_APP", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"]
    assert channel.get_output_channel() is None


# --- replays of a captured, validly signed notification ---
# The signature covers biz_content (MsgId, CreateTime, AppId), so a replay can only be
# the same notification again: it must be acknowledged without a second turn, refused
# once its CreateTime is out of the window, and refused when it is another app's.

async def test_replayed_notification_is_acknowledged_not_processed_again(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    captured = side.form(NOTIFY, side.biz_text(user, "公积金怎么提取", new_id()))
    assert (await side.post(harness.session, captured))[0] == 200
    assert await wait_until(lambda: harness.alipay.texts_for(user))
    await harness.ali.runner.drain()
    status, body = await side.post(harness.session, captured)  # later, turn long done
    await asyncio.sleep(0.1)
    await harness.ali.runner.drain()
    assert status == 200 and side.answer_is_signed(body)
    assert harness.bot.texts() == ["公积金怎么提取"]
    assert harness.alipay.texts_for(user) == ["收到：公积金怎么提取"]


async def test_replayed_event_without_msg_id_is_handled_once(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    captured = side.form(NOTIFY, side.biz_event(user, "follow"))
    for _ in range(2):
        assert (await side.post(harness.session, captured))[0] == 200
    await wait_until(lambda: harness.bot.received)
    await asyncio.sleep(0.1)
    await harness.ali.runner.drain()
    assert harness.bot.texts() == ["/greet"]


async def test_notification_replayed_after_the_window_is_refused(harness, monkeypatch):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    captured = side.form(NOTIFY, side.biz_text(user, "hi", new_id()))
    later = time.time() + harness.ali.settings.replay_window + 60
    monkeypatch.setattr("connectors.alipay.channel.time.time", lambda: later)
    status, _ = await side.post(harness.session, captured)
    await _refused(harness, status)


async def test_notification_without_app_id_is_refused(harness):
    """Alipay names the app in every notification; one without it may be another app's."""
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    biz = side.biz_text(user, "hi", new_id()).replace(
        f"<AppId><![CDATA[{side.app_id}]]></AppId>", "")
    status, _ = await side.post(harness.session, side.form(NOTIFY, biz))
    await _refused(harness, status)


# --- malformed and oversized requests: a clear 4xx, never a 500 ---

def _signed(side, biz_content: str) -> bytes:
    return side.form(NOTIFY, biz_content)


@pytest.mark.parametrize("make_body,expected", [
    (lambda side: b"", 400),
    (lambda side: b"&&=&", 400),
    (lambda side: b"charset=GBK&biz_content=" + b"x" * 70_000, 413),
    (lambda side: _signed(side, ""), 400),
    (lambda side: _signed(side, "not xml at all"), 400),
    (lambda side: _signed(side, "<XML><AppId>1</AppId>"), 400),
], ids=["empty", "bad-form", "too-large", "empty-biz", "biz-not-xml", "biz-unclosed"])
async def test_malformed_requests_are_refused(harness, make_body, expected):
    status, _ = await harness.ali_side.post(harness.session, make_body(harness.ali_side))
    await _refused(harness, status, expected)


async def test_long_text_is_cut_before_it_reaches_the_bot(harness):
    side, user = harness.ali_side, f"2088{new_id()[:12]}"
    long_text = "请问营业执照" * 500  # 3,000 characters (27 KB percent-encoded)
    form = side.form(NOTIFY, side.biz_text(user, long_text, new_id()), "UTF-8")
    status, _ = await side.post(harness.session, form, "UTF-8")
    assert status == 200
    assert await wait_until(lambda: harness.bot.received)
    assert harness.bot.texts() == [long_text[:2000]]
