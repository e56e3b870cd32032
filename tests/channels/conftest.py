"""A small Sanic server running the connectors' blueprints with a stand-in bot, and fake
WeChat and Alipay API servers on loopback receiving the replies."""
from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List

import aiohttp
import pytest
from sanic import Sanic
from sanic.touchup import TouchUp

from connectors.alipay.channel import AlipayLifeInput
from connectors.common import http
from connectors.wechat.channel import WeChatMiniProgramInput, WeChatOfficialAccountInput
from tests.channels.platforms import (
    WECHAT_AES_KEY, AlipaySide, FakeAlipay, FakeWeChat, KeyPair, WeChatSide, start_site,
)

# The Official Account runs in plain mode (no EncodingAESKey), the Mini Program in safe
# mode: with a key set a connector takes only encrypted messages, so one needs each.
OA = {"WECHAT_OA_TOKEN": "oa-token", "WECHAT_OA_APPID": "wxoa0000000000001",
      "WECHAT_OA_SECRET": "oa-secret", "WECHAT_OA_AES_KEY": ""}
MP = {"WECHAT_MP_TOKEN": "mp-token", "WECHAT_MP_APPID": "wxmp0000000000002",
      "WECHAT_MP_SECRET": "mp-secret", "WECHAT_MP_AES_KEY": WECHAT_AES_KEY}
ALIPAY_APP_ID = "2021000000000001"

# Sanic 21.12 rewrites its HTTP functions at an app's start ("touchup": signal dispatches
# nobody listens to are removed) and fails when a second app of the process does it again.
# The rewritten functions stay, and no test app listens to signals: touch up once.
_touch_up = TouchUp.run


def _touch_up_once(app) -> None:
    if not getattr(TouchUp, "_done", False):
        _touch_up(app)
        TouchUp._done = True


TouchUp.run = staticmethod(_touch_up_once)
BUTTONS = [{"title": "社会保障卡申领", "payload": '/ask_materials{"matter": "社会保障卡申领"}'},
           {"title": "社会保障卡补换", "payload": '/ask_materials{"matter": "社会保障卡补换"}'}]


@pytest.fixture(scope="session")
def alipay_keys():
    return KeyPair.generate()


@pytest.fixture(scope="session")
def app_keys():
    return KeyPair.generate()


@dataclass
class StandInBot:
    """Answers like the assistant would, through the message's output channel."""

    received: List[Any] = field(default_factory=list)
    delay: float = 0.0

    async def __call__(self, message) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        text = message.text or ""
        out = message.output_channel
        if text == "boom":
            raise RuntimeError("the bot failed on 310101199001011234")
        if text == "社保卡":
            await out.send_response(message.sender_id,
                                    {"text": "您指的是下面哪一项？", "buttons": [dict(b) for b in BUTTONS]})
        elif text == "长":
            await out.send_response(message.sender_id,
                                    {"text": "\n".join(f"{i}. 材料名称很长很长" * 8 for i in range(60))})
        elif text == "图":
            await out.send_response(message.sender_id, {"image": "https://example.gov.cn/a.png"})
        else:
            await out.send_response(message.sender_id, {"text": f"收到：{text}"})

    def texts(self) -> List[str]:
        return [m.text for m in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Harness:
    base: str
    bot: StandInBot
    wechat: FakeWeChat
    alipay: FakeAlipay
    oa: WeChatOfficialAccountInput
    mp: WeChatMiniProgramInput
    ali: AlipayLifeInput
    session: aiohttp.ClientSession
    store: Any
    oa_side: WeChatSide = None  # type: ignore[assignment]
    mp_side: WeChatSide = None  # type: ignore[assignment]
    ali_side: AlipaySide = None  # type: ignore[assignment]

    async def drain(self) -> None:
        for channel in (self.oa, self.mp, self.ali):
            await channel.runner.drain()


@pytest.fixture
async def harness(monkeypatch, kv_store, alipay_keys, app_keys):
    wechat = FakeWeChat()
    alipay = FakeAlipay(alipay_keys, app_keys)
    wechat_runner, wechat_port = await start_site(wechat.app())
    alipay_runner, alipay_port = await start_site(alipay.app())
    # each test's appids are its own, so a shared Redis holds no other test's token
    prefix = uuid.uuid4().hex[:8]
    oa_env = {**OA, "WECHAT_OA_APPID": f"wxoa{prefix}00001"}
    mp_env = {**MP, "WECHAT_MP_APPID": f"wxmp{prefix}00002"}
    env: Dict[str, str] = {**oa_env, **mp_env,
                           "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_port}",
                           "ALIPAY_GATEWAY": f"http://127.0.0.1:{alipay_port}/gateway.do",
                           "ALIPAY_APP_ID": ALIPAY_APP_ID,
                           "ALIPAY_APP_PRIVATE_KEY": app_keys.private_pkcs1,
                           "ALIPAY_PUBLIC_KEY": alipay_keys.public_spki}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    oa = WeChatOfficialAccountInput.from_credentials({}, store=kv_store)
    mp = WeChatMiniProgramInput.from_credentials({}, store=kv_store)
    ali = AlipayLifeInput.from_credentials({}, store=kv_store)
    bot = StandInBot()
    app = Sanic(f"channels_{prefix}", configure_logging=False)
    for channel in (oa, mp, ali):
        app.blueprint(channel.blueprint(bot), url_prefix=f"/webhooks/{channel.name()}")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    base = f"http://127.0.0.1:{port}"
    session = aiohttp.ClientSession()
    h = Harness(base, bot, wechat, alipay, oa, mp, ali, session, kv_store)
    h.oa_side = WeChatSide(f"{base}/webhooks/wechat_oa/webhook", OA["WECHAT_OA_TOKEN"],
                           oa_env["WECHAT_OA_APPID"])
    h.mp_side = WeChatSide(f"{base}/webhooks/wechat_mp/webhook", MP["WECHAT_MP_TOKEN"],
                           mp_env["WECHAT_MP_APPID"], WECHAT_AES_KEY)
    h.ali_side = AlipaySide(f"{base}/webhooks/alipay_life/webhook", ALIPAY_APP_ID,
                            alipay_keys, app_keys)
    yield h
    await h.drain()
    await session.close()
    server.close()
    await server.wait_closed()
    await http.close_all()
    await wechat_runner.cleanup()
    await alipay_runner.cleanup()


def new_id() -> str:
    return uuid.uuid4().hex
