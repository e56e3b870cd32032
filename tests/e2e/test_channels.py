"""WeChat and Alipay through the whole running assistant: requests signed (and encrypted)
as the platforms do, the bot's real answers received by fake platform servers on the
loopback ports the stack's connectors are configured with (tests/e2e/conftest.py)."""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import aiohttp
import pytest

from tests.stack import rasa_headers

from tests.connectors.platforms import (
    E2E_ALIPAY_APP_ID, E2E_WECHAT, AlipaySide, FakeAlipay, FakeWeChat, WeChatSide, start_site,
    text_xml, wait_until,
)

pytestmark = pytest.mark.slow
NOTIFY = "alipay.mobile.public.message.notify"
ANSWER_TIMEOUT = 60.0


class Platforms:
    """The fake WeChat API and Alipay gateway, served from a thread of their own for the
    whole session (each test has its own event loop)."""

    def __init__(self, channels) -> None:
        self.wechat = FakeWeChat()
        self.alipay = FakeAlipay(channels["alipay_keys"], channels["app_keys"])
        self._ports = channels["wechat_port"], channels["alipay_port"]
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runners = self._loop.run_until_complete(self._start())
        self._started.set()
        self._loop.run_forever()

    async def _start(self):
        wechat, _ = await start_site(self.wechat.app(), self._ports[0])
        alipay, _ = await start_site(self.alipay.app(), self._ports[1])
        return [wechat, alipay]

    def __enter__(self) -> "Platforms":
        self._thread.start()
        assert self._started.wait(10), "fake platforms did not start"
        return self

    def __exit__(self, *exc) -> None:
        async def stop():
            for runner in self._runners:
                await runner.cleanup()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def platforms(stack):
    with Platforms(stack["channels"]) as fakes:
        yield fakes


def wechat_side(stack, kind: str) -> WeChatSide:
    upper = kind.upper()
    return WeChatSide(f"{stack['RASA_PORT']}/webhooks/wechat_{kind}/webhook",
                      E2E_WECHAT[f"WECHAT_{upper}_TOKEN"], E2E_WECHAT[f"WECHAT_{upper}_APPID"],
                      E2E_WECHAT[f"WECHAT_{upper}_AES_KEY"] or None)


def user() -> str:
    return f"o{uuid.uuid4().hex[:20]}"


@pytest.mark.parametrize("kind, safe", [("oa", False), ("mp", True)],
                         ids=["plain-official-account", "safe-mode-mini-program"])
async def test_wechat_question_gets_the_real_answer(stack, platforms, kind, safe):
    side, openid = wechat_side(stack, kind), user()
    async with aiohttp.ClientSession() as session:
        assert await side.post(session, text_xml(openid, "居住证要什么材料", uuid.uuid4().hex),
                               openid, safe=safe) == (200, "success")
    assert await wait_until(lambda: platforms.wechat.texts_for(openid), ANSWER_TIMEOUT)
    answer = "\n".join(platforms.wechat.texts_for(openid))
    assert "上海市居住证申领" in answer and "居民身份证" in answer


async def test_mini_program_options_answered_by_number(stack, platforms):
    side, openid = wechat_side(stack, "mp"), user()
    async with aiohttp.ClientSession() as session:
        inner = json.dumps({"ToUserName": "gh_mp", "FromUserName": openid,
                            "CreateTime": int(time.time()), "MsgType": "text",
                            "Content": "社保卡要带什么材料", "MsgId": uuid.uuid4().int % 10**18})
        assert await side.post(session, inner, openid, safe=True, as_json=True) == (200, "success")
        assert await wait_until(lambda: platforms.wechat.texts_for(openid), ANSWER_TIMEOUT)
        offer = platforms.wechat.texts_for(openid)[0]
        lines = [line for line in offer.splitlines() if line.startswith("回复")]
        assert any("社会保障卡补换" in line for line in lines), offer
        choice = next(line for line in lines if "社会保障卡补换" in line)
        number = choice[len("回复"):choice.index("：")]
        assert await side.post(session, text_xml(openid, f"回复{number}", uuid.uuid4().hex),
                               openid, safe=True) == (200, "success")
    assert await wait_until(lambda: len(platforms.wechat.texts_for(openid)) > 1, ANSWER_TIMEOUT)
    answer = "\n".join(platforms.wechat.texts_for(openid)[1:])
    assert "社会保障卡补换" in answer and "份" in answer


async def test_subscribe_gets_the_welcome(stack, platforms):
    side, openid = wechat_side(stack, "oa"), user()
    async with aiohttp.ClientSession() as session:
        await side.post(session, text_xml(openid, "", None, msg_type="event", Event="subscribe"),
                        openid)
    assert await wait_until(lambda: platforms.wechat.texts_for(openid), ANSWER_TIMEOUT)
    welcome = platforms.wechat.texts_for(openid)[0]
    assert "一网通办" in welcome and "回复1：" in welcome


async def test_alipay_gbk_question_gets_the_real_answer(stack, platforms):
    channels = stack["channels"]
    side = AlipaySide(f"{stack['RASA_PORT']}/webhooks/alipay_life/webhook", E2E_ALIPAY_APP_ID,
                      channels["alipay_keys"], channels["app_keys"])
    alipay_user = f"2088{uuid.uuid4().int % 10**12:012d}"
    async with aiohttp.ClientSession() as session:
        status, body = await side.post(
            session, side.form(NOTIFY, side.biz_text(alipay_user, "辦營業執照要什麼材料",
                                                     uuid.uuid4().hex), "GBK"))
    assert status == 200 and side.answer_is_signed(body, "GBK")
    assert await wait_until(lambda: platforms.alipay.texts_for(alipay_user), ANSWER_TIMEOUT)
    assert "企业设立登记" in "\n".join(platforms.alipay.texts_for(alipay_user))
    assert platforms.alipay.bad_signatures == 0


async def test_agent_message_reaches_wechat_outside_a_webhook(stack, platforms):
    """What the handoff needs: Rasa's HTTP API sends to a WeChat user through the connector."""
    side, openid = wechat_side(stack, "oa"), user()
    async with aiohttp.ClientSession() as session:
        await side.post(session, text_xml(openid, "你好", uuid.uuid4().hex), openid)
        assert await wait_until(lambda: platforms.wechat.texts_for(openid), ANSWER_TIMEOUT)
        before = len(platforms.wechat.texts_for(openid))
        url = (f"{stack['RASA_PORT']}/conversations/wechat_oa:{openid}/trigger_intent"
               f"?output_channel=wechat_oa")
        async with session.post(url, json={"name": "bot_challenge"},
                                headers=rasa_headers()) as response:
            assert response.status == 200, await response.text()
    assert await wait_until(lambda: len(platforms.wechat.texts_for(openid)) > before,
                            ANSWER_TIMEOUT)
    assert "机器人" in platforms.wechat.texts_for(openid)[-1]


async def test_burst_of_100_users_is_acknowledged_fast_and_all_answered(stack, platforms):
    side = wechat_side(stack, "mp")
    users = [user() for _ in range(100)]
    questions = ["居住证要什么材料", "护照多少钱", "社保卡去哪里办", "公积金提取能网上办吗"]

    async def one(session, index: int, openid: str) -> float:
        started = time.monotonic()
        result = await side.post(session, text_xml(openid, questions[index % 4],
                                                   uuid.uuid4().hex), openid, safe=True)
        assert result == (200, "success")
        return time.monotonic() - started

    async with aiohttp.ClientSession() as session:
        latencies = await asyncio.gather(*(one(session, i, u) for i, u in enumerate(users)))
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert await wait_until(lambda: all(platforms.wechat.texts_for(u) for u in users), 180,
                            interval=0.5), \
        f"{sum(1 for u in users if platforms.wechat.texts_for(u))} of 100 answered"
