"""The WeChat connectors over HTTP: requests made by wechatpy acting as WeChat, replies
received by a fake WeChat API server."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from connectors.wechat.channel import WeChatOfficialAccountInput
from tests.fixtures.platforms import BUTTONS, new_id
from tests.connectors.platforms import text_xml, wait_until


async def test_url_check_echoes_only_for_a_valid_signature(harness):
    side = harness.oa_side
    query = {**side.query(), "echostr": "echo-123"}
    async with harness.session.get(side.url, params=query) as response:
        assert response.status == 200 and await response.text() == "echo-123"
    forged = {**query, "signature": "0" * 40}
    async with harness.session.get(side.url, params=forged) as response:
        assert response.status == 403 and "echo-123" not in await response.text()


@pytest.mark.parametrize("channel,safe", [("wechat_oa", False), ("wechat_mp", True)],
                         ids=["plain", "safe"])
async def test_text_message_is_answered_through_the_send_api(harness, channel, safe):
    side = harness.oa_side if channel == "wechat_oa" else harness.mp_side
    openid = f"o{new_id()}"
    status, body = await side.post(
        harness.session, text_xml(openid, "居住证要什么材料", new_id()), openid, safe=safe)
    assert (status, body) == (200, "success")
    assert await wait_until(lambda: harness.wechat.texts_for(openid))
    assert harness.wechat.texts_for(openid) == ["收到：居住证要什么材料"]
    message = harness.bot.received[0]
    assert message.sender_id == f"{channel}:{openid}" and message.input_channel == channel


async def test_mini_program_safe_mode_json(harness):
    openid = f"o{new_id()}"
    import json
    inner = json.dumps({"ToUserName": "gh_mp", "FromUserName": openid, "CreateTime": int(time.time()),
                        "MsgType": "text", "Content": "社保卡怎么补办",
                        "MsgId": int(time.time() * 1e6)})
    status, body = await harness.mp_side.post(harness.session, inner, openid, safe=True,
                                              as_json=True)
    assert (status, body) == (200, "success")
    assert await wait_until(lambda: harness.wechat.texts_for(openid))
    assert harness.wechat.texts_for(openid) == ["收到：社保卡怎么补办"]
    assert harness.bot.received[0].sender_id == f"wechat_mp:{openid}"


async def _refused(harness, status, body, expected=403):
    await asyncio.sleep(0.1)
    await harness.drain()
    assert status == expected, body
    assert harness.bot.received == [] and harness.wechat.sent == []


async def test_forged_signature_is_refused(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    query = {**side.query(openid), "signature": "f" * 40}
    status, body = await side.post(harness.session, text_xml(openid, "hi", new_id()), openid,
                                   query=query)
    await _refused(harness, status, body)


async def test_forged_msg_signature_is_refused(harness):
    side, openid = harness.mp_side, f"o{new_id()}"
    body, query = side.encrypt(text_xml(openid, "hi", new_id()), side.query(openid))
    query["msg_signature"] = "0" * 40
    async with harness.session.post(side.url, params=query, data=body) as response:
        await _refused(harness, response.status, await response.text())


async def test_message_encrypted_for_another_appid_is_refused(harness):
    side, openid = harness.mp_side, f"o{new_id()}"
    body, query = side.encrypt(text_xml(openid, "hi", new_id()), side.query(openid),
                               appid="wx_someone_else01")
    async with harness.session.post(side.url, params=query, data=body) as response:
        await _refused(harness, response.status, await response.text())


async def test_stale_timestamp_is_refused(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    query = side.query(openid, timestamp=int(time.time()) - 3600)
    status, body = await side.post(harness.session, text_xml(openid, "hi", new_id()), openid,
                                   query=query)
    await _refused(harness, status, body)


async def test_openid_that_does_not_match_the_sender_is_refused(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    status, body = await side.post(harness.session, text_xml("someone-else", "hi", new_id()),
                                   openid)
    await _refused(harness, status, body)


@pytest.mark.parametrize("body,expected", [
    ("", 400),
    ("<xml><Content>unclosed", 400),
    ("<xml><MsgType>text</MsgType><Content>no sender</Content></xml>", 400),
    ("""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;">]><xml><FromUserName>o1</FromUserName><MsgType>text</MsgType>
<Content>&c;</Content></xml>""", 400),
    ("<xml><FromUserName>o1</FromUserName><Content>" + "x" * 70_000 + "</Content></xml>", 413),
    ("{not json", 400),
    ('{"FromUserName": "o1", "Content": ' + "[" * 20_000 + "]" * 20_000 + "}", 400),
    ("[1, 2]", 400),
], ids=["empty", "unclosed", "no-sender", "xml-bomb", "too-large", "bad-json", "deep-json",
        "json-array"])
async def test_malformed_bodies_are_refused(harness, body, expected):
    status, text = await harness.oa_side.post(harness.session, body, None)
    await _refused(harness, status, text, expected)


async def test_retries_and_replays_are_handled_once(harness):
    openid, msg_id = f"o{new_id()}", new_id()
    xml = text_xml(openid, "护照多少钱", msg_id)
    for _ in range(3):  # WeChat retries after 5 s; a replay arrives with a fresh signature
        assert await harness.mp_side.post(harness.session, xml, openid, safe=True) == (200, "success")
    await wait_until(lambda: harness.wechat.texts_for(openid))
    await asyncio.sleep(0.2)
    await harness.drain()
    assert harness.bot.texts() == ["护照多少钱"]
    assert harness.wechat.texts_for(openid) == ["收到：护照多少钱"]


async def test_events_images_and_voice(harness):
    side = harness.oa_side
    subscriber, sender, speaker = (f"o{new_id()}" for _ in range(3))
    await side.post(harness.session, text_xml(subscriber, "", None, msg_type="event",
                                              Event="subscribe"), subscriber)
    await side.post(harness.session, text_xml(subscriber, "", None, msg_type="event",
                                              Event="unsubscribe", CreateTime="1"), subscriber)
    await side.post(harness.session, text_xml(sender, "", new_id(), msg_type="image",
                                              PicUrl="http://x/y.jpg", MediaId="m"), sender)
    await side.post(harness.session, text_xml(speaker, "", new_id(), msg_type="voice",
                                              MediaId="m", Format="amr"), speaker)
    entered = f"o{new_id()}"
    await harness.mp_side.post(harness.session, text_xml(entered, "", None, msg_type="event",
                               Event="user_enter_tempsession", SessionFrom="service"),
                               entered, safe=True)
    await wait_until(lambda: len(harness.wechat.sent) >= 4)
    await harness.drain()
    assert sorted(harness.bot.texts()) == ["/greet", "/greet"]  # subscribe, session entry
    assert "图片" in harness.wechat.texts_for(sender)[0]
    assert "语音" in harness.wechat.texts_for(speaker)[0]


async def test_buttons_become_numbered_options_answered_by_number(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    await side.post(harness.session, text_xml(openid, "社保卡", new_id()), openid)
    assert await wait_until(lambda: harness.wechat.texts_for(openid))
    assert harness.wechat.texts_for(openid)[0].splitlines() == [
        "您指的是下面哪一项？", "回复1：社会保障卡申领", "回复2：社会保障卡补换"]
    await side.post(harness.session, text_xml(openid, "回复2", new_id()), openid)
    await wait_until(lambda: len(harness.bot.received) == 2)
    await harness.drain()
    assert harness.bot.received[1].text == BUTTONS[1]["payload"]
    # that turn offered no options: a later "1" is just "1"
    await side.post(harness.session, text_xml(openid, "1", new_id()), openid)
    await wait_until(lambda: len(harness.bot.received) == 3)
    assert harness.bot.received[2].text == "1"


async def test_long_answers_are_split_within_2048_bytes(harness):
    openid = f"o{new_id()}"
    await harness.oa_side.post(harness.session, text_xml(openid, "长", new_id()), openid)
    await wait_until(lambda: len(harness.wechat.texts_for(openid)) > 1)
    await harness.drain()
    pieces = harness.wechat.texts_for(openid)
    assert len(pieces) > 1 and all(len(p.encode()) <= 2048 for p in pieces)
    assert pieces[0].startswith("0. ") and "59. " in pieces[-1]


async def test_images_become_cards(harness):
    oa_user, mp_user = f"o{new_id()}", f"o{new_id()}"
    await harness.oa_side.post(harness.session, text_xml(oa_user, "图", new_id()), oa_user)
    await harness.mp_side.post(harness.session, text_xml(mp_user, "图", new_id()), mp_user,
                               safe=True)
    await wait_until(lambda: len(harness.wechat.sent) == 2)
    kinds = {m["touser"]: m["msgtype"] for m in harness.wechat.sent}
    assert kinds == {oa_user: "news", mp_user: "link"}


async def test_bad_token_is_refreshed_once_and_the_reply_delivered(harness):
    openid = f"o{new_id()}"
    harness.wechat.errcodes = [40001]
    await harness.oa_side.post(harness.session, text_xml(openid, "你好", new_id()), openid)
    assert await wait_until(lambda: harness.wechat.texts_for(openid))
    assert harness.wechat.token_requests == 2


async def test_token_is_shared_not_fetched_per_message(harness):
    users = [f"o{new_id()}" for _ in range(5)]
    for user in users:
        await harness.oa_side.post(harness.session, text_xml(user, "你好", new_id()), user)
    await wait_until(lambda: len(harness.wechat.sent) == 5)
    assert harness.wechat.token_requests == 1


async def test_not_retryable_errcode_is_recorded(harness, caplog):
    openid = f"o{new_id()}"
    harness.wechat.fail_for[openid] = 45015
    with caplog.at_level(logging.WARNING):
        await harness.oa_side.post(harness.session, text_xml(openid, "你好", new_id()), openid)
        await wait_until(lambda: harness.bot.received)
        await harness.drain()
    assert "45015" in caplog.text and "48 hours" in caplog.text
    day = time.strftime("%Y%m%d")
    appid = harness.oa.settings.appid
    assert await harness.store.get(f"wechat:undelivered:{appid}:45015:{day}") == "1"
    assert harness.wechat.token_requests == 1  # no refresh, no retry storm


async def test_a_failing_turn_is_logged_masked_and_the_user_told(harness, caplog):
    openid = f"o{new_id()}"
    with caplog.at_level(logging.ERROR):
        await harness.oa_side.post(harness.session, text_xml(openid, "boom", new_id()), openid)
        assert await wait_until(lambda: harness.wechat.texts_for(openid))
    assert "出了点问题" in harness.wechat.texts_for(openid)[0]
    assert "310101********1234" in caplog.text and "310101199001011234" not in caplog.text


async def test_output_channel_reaches_a_user_outside_a_webhook(harness):
    openid = f"o{new_id()}"
    output = harness.oa.get_output_channel()
    await output.send_response(f"wechat_oa:{openid}", {"text": "人工客服：您好，请问有什么可以帮您？"})
    assert harness.wechat.texts_for(openid) == ["人工客服：您好，请问有什么可以帮您？"]


async def test_unconfigured_connector_answers_503(monkeypatch, harness):
    for name in ("WECHAT_OA_TOKEN", "WECHAT_OA_SECRET"):
        monkeypatch.delenv(name)
    channel = WeChatOfficialAccountInput.from_credentials({})
    assert channel.missing == ["WECHAT_OA_TOKEN", "WECHAT_OA_SECRET"]
    assert channel.get_output_channel() is None
    from sanic import Sanic
    app = Sanic(f"unconfigured_{new_id()[:8]}", configure_logging=False)
    app.blueprint(channel.blueprint(harness.bot), url_prefix="/webhooks/wechat_oa")
    from tests.fixtures.platforms import free_port
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    try:
        async with harness.session.post(f"http://127.0.0.1:{port}/webhooks/wechat_oa/webhook",
                                         data="<xml/>") as response:
            assert response.status == 503
            assert "WECHAT_OA_TOKEN" in await response.text()
    finally:
        server.close()
        await server.wait_closed()


async def test_burst_of_100_users_acknowledged_fast_and_all_answered(harness):
    harness.bot.delay = 0.1  # a turn's work, so turns overlap
    users = [f"o{new_id()}" for _ in range(100)]

    async def one(user: str) -> float:
        started = time.monotonic()
        result = await harness.mp_side.post(harness.session, text_xml(user, "居住证", new_id()),
                                            user, safe=True)
        assert result == (200, "success")
        return time.monotonic() - started

    latencies = await asyncio.gather(*(one(u) for u in users))
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert await wait_until(lambda: len(harness.wechat.sent) == 100, timeout=30)
    assert {m["touser"] for m in harness.wechat.sent} == set(users)


# --- replayed signatures (plain mode signs only token, timestamp and nonce) ---

async def test_plain_mode_signature_replayed_with_another_body_is_refused(harness):
    """A captured (timestamp, nonce, signature) is good for one message, not for any."""
    side, openid = harness.oa_side, f"o{new_id()}"
    captured = side.query(openid)
    first = text_xml(openid, "居住证要什么材料", new_id())
    assert await side.post(harness.session, first, openid, query=captured) == (200, "success")
    assert await wait_until(lambda: harness.wechat.texts_for(openid))
    forged = text_xml(openid, "帮我取消预约", new_id())
    status, _ = await side.post(harness.session, forged, openid, query=captured)
    await asyncio.sleep(0.1)
    await harness.drain()
    assert status == 403
    assert harness.bot.texts() == ["居住证要什么材料"]


async def test_plain_mode_retry_with_the_same_or_a_new_signature_is_answered_once(harness):
    """WeChat's retries (same message, same or new timestamp/nonce) are acknowledged."""
    side, openid = harness.oa_side, f"o{new_id()}"
    xml, query = text_xml(openid, "护照多少钱", new_id()), side.query(openid)
    for retry_query in (query, query, side.query(openid)):
        assert await side.post(harness.session, xml, openid, query=retry_query) == (200, "success")
    await wait_until(lambda: harness.wechat.texts_for(openid))
    await asyncio.sleep(0.1)
    await harness.drain()
    assert harness.bot.texts() == ["护照多少钱"]
    assert harness.wechat.texts_for(openid) == ["收到：护照多少钱"]


async def test_safe_mode_nonce_reused_for_another_message_is_refused(harness):
    side, openid = harness.mp_side, f"o{new_id()}"
    query = side.query(openid)
    first = text_xml(openid, "社保卡怎么补办", new_id())
    assert await side.post(harness.session, first, openid, safe=True, query=query) \
        == (200, "success")
    second = text_xml(openid, "另一条消息", new_id())
    status, _ = await side.post(harness.session, second, openid, safe=True, query=query)
    await asyncio.sleep(0.1)
    await harness.drain()
    assert status == 403
    assert harness.bot.texts() == ["社保卡怎么补办"]


async def test_safe_mode_retry_encrypted_again_with_the_same_nonce_is_answered_once(harness):
    """A retry of one message is one message, whatever its ciphertext's random prefix."""
    side, openid = harness.mp_side, f"o{new_id()}"
    xml, query = text_xml(openid, "公积金怎么提取", new_id()), side.query(openid)
    bodies = {side.encrypt(xml, query)[0] for _ in range(2)}
    assert len(bodies) == 2  # wechatpy's random prefix: two ciphertexts of one message
    for _ in range(2):
        assert await side.post(harness.session, xml, openid, safe=True, query=query) \
            == (200, "success")
    await wait_until(lambda: harness.wechat.texts_for(openid))
    await asyncio.sleep(0.1)
    await harness.drain()
    assert harness.bot.texts() == ["公积金怎么提取"]


# --- safe mode cannot be downgraded ---

@pytest.mark.parametrize("encrypt_type,encrypted", [
    (None, False), ("raw", False), ("aes", False), ("des", True), ("raw", True),
], ids=["plaintext", "raw-plaintext", "aes-without-encrypt", "other-type", "raw-encrypted"])
async def test_safe_mode_refuses_anything_but_the_encrypted_form(harness, encrypt_type, encrypted):
    """With an EncodingAESKey set, a plaintext body (whose body no signature covers) or an
    unknown encrypt_type is refused, not read as a plain-mode message."""
    side, openid = harness.mp_side, f"o{new_id()}"
    xml = text_xml(openid, "居住证要什么材料", new_id())
    body, query = side.encrypt(xml, side.query(openid)) if encrypted else (xml, side.query(openid))
    query.pop("encrypt_type", None)
    if encrypt_type is not None:
        query["encrypt_type"] = encrypt_type
    async with harness.session.post(side.url, params=query, data=body.encode()) as response:
        await _refused(harness, response.status, await response.text())


async def test_plain_mode_refuses_an_unknown_encrypt_type(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    query = {**side.query(openid), "encrypt_type": "des"}
    status, body = await side.post(harness.session, text_xml(openid, "hi", new_id()), openid,
                                   query=query)
    await _refused(harness, status, body)


# --- bounded input ---

async def test_long_text_is_cut_before_it_reaches_the_bot(harness):
    side, openid = harness.oa_side, f"o{new_id()}"
    long_text = "请问居住证" * 4000  # 20,000 characters, 60 KB: under the body cap
    assert await side.post(harness.session, text_xml(openid, long_text, new_id()), openid) \
        == (200, "success")
    assert await wait_until(lambda: harness.bot.received)
    assert harness.bot.texts() == [long_text[:2000]]
