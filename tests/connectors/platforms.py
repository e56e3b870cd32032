"""The platforms' side, played in tests: fake WeChat and Alipay API servers on loopback
that receive the bot's replies, and clients that send what WeChat and Alipay send.

WeChat requests are signed and encrypted by `wechatpy`, Alipay requests signed and the
bot's calls verified by `alipay-sdk-python`'s RSA helpers: implementations independent of
the connectors' own crypto. Used by tests/connectors and by the end-to-end tests (which run
these fakes in a thread of their own, on fixed ports, for the whole stack).
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

import aiohttp
import xmltodict
from aiohttp import web
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2, verify_with_rsa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

WECHAT_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


# ---------------------------------------------------------------- keys

@dataclass(frozen=True)
class KeyPair:
    private_pkcs1: str  # bare base64, as alipay-sdk and the Alipay console use
    public_spki: str

    @classmethod
    def generate(cls) -> "KeyPair":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(base64.b64encode(private).decode(), base64.b64encode(public).decode())


# ---------------------------------------------------------------- fake WeChat API

@dataclass
class FakeWeChat:
    """cgi-bin/stable_token and cgi-bin/message/custom/send, recording what arrives."""

    sent: List[Dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    valid_tokens: set = field(default_factory=set)
    errcodes: List[int] = field(default_factory=list)  # answered (in order) before success
    fail_for: Dict[str, int] = field(default_factory=dict)  # touser → errcode, always

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.token_requests += 1
        if not body.get("appid") or not body.get("secret"):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        token = f"TOKEN-{body['appid']}-{self.token_requests}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        body = json.loads(await request.read())
        if token not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if body.get("touser") in self.fail_for:
            return web.json_response({"errcode": self.fail_for[body["touser"]], "errmsg": "x"})
        if self.errcodes:
            code = self.errcodes.pop(0)
            if code in (40001, 42001):
                self.valid_tokens.discard(token)
            return web.json_response({"errcode": code, "errmsg": "fake error"})
        if body.get("msgtype") == "text" and len(body["text"]["content"].encode()) > 2048:
            return web.json_response({"errcode": 45002, "errmsg": "content too long"})
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def texts_for(self, openid: str) -> List[str]:
        return [m["text"]["content"] for m in self.sent
                if m.get("touser") == openid and m.get("msgtype") == "text"]


# ---------------------------------------------------------------- fake Alipay gateway

@dataclass
class FakeAlipay:
    """The OpenAPI gateway: checks the app's signature (alipay-sdk), records custom.send,
    answers signed with "Alipay's" key."""

    alipay_keys: KeyPair
    app_keys: KeyPair
    sent: List[Dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/gateway.do", self._gateway)
        return app

    async def _gateway(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        sign = form.pop("sign", "")
        content = get_sign_content(form)
        try:
            ok = verify_with_rsa(self.app_keys.public_spki, content.encode("utf-8"), sign)
        except Exception:  # noqa: BLE001 - rsa raises VerificationError
            ok = False
        method = form.get("method", "")
        node_key = method.replace(".", "_") + "_response"
        if not ok:
            self.bad_signatures += 1
            node = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
        else:
            self.sent.append(json.loads(form["biz_content"]))
            node = {"code": "10000", "msg": "Success"}
        node_text = json.dumps(node, separators=(",", ":"))
        signature = sign_with_rsa2(self.alipay_keys.private_pkcs1, node_text, "utf-8")
        raw = f'{{"{node_key}":{node_text},"sign":"{signature}"}}'
        return web.Response(text=raw, content_type="application/json", charset="utf-8")

    def texts_for(self, user_id: str) -> List[str]:
        return [m["text"]["content"] for m in self.sent
                if m.get("to_user_id") == user_id and m.get("msg_type") == "text"]


async def start_site(app: web.Application, port: int = 0) -> Tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


# ---------------------------------------------------------------- WeChat's requests

def text_xml(openid: str, content: str, msg_id: Optional[str] = None, to: str = "gh_test",
             msg_type: str = "text", **extra: str) -> str:
    fields = {"ToUserName": to, "FromUserName": openid, "CreateTime": str(int(time.time())),
              "MsgType": msg_type}
    if msg_type == "text":
        fields["Content"] = content
    if msg_id is not None:
        fields["MsgId"] = msg_id
    fields.update(extra)
    return xmltodict.unparse({"xml": fields}, full_document=False)


@dataclass
class WeChatSide:
    """Sends what WeChat sends to a webhook, signed (and encrypted) with wechatpy."""

    url: str
    token: str
    appid: str
    aes_key: Optional[str] = None

    def query(self, openid: Optional[str] = None, timestamp: Optional[int] = None,
              nonce: Optional[str] = None) -> Dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**9))
        signer = WeChatSigner()
        signer.add_data(self.token, ts, nonce)
        query = {"signature": signer.signature, "timestamp": ts, "nonce": nonce}
        if openid:
            query["openid"] = openid
        return query

    def encrypt(self, xml: str, query: Dict[str, str], appid: Optional[str] = None,
                as_json: bool = False) -> Tuple[str, Dict[str, str]]:
        crypto = WeChatCrypto(self.token, self.aes_key, appid or self.appid)
        envelope = xmltodict.parse(crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))
        encrypted = envelope["xml"]["Encrypt"]
        query = {**query, "encrypt_type": "aes", "msg_signature": envelope["xml"]["MsgSignature"]}
        if as_json:
            return json.dumps({"ToUserName": "gh_test", "Encrypt": encrypted}), query
        return f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>" \
               f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>", query

    async def post(self, session: aiohttp.ClientSession, body: str, openid: Optional[str],
                   safe: bool = False, query: Optional[Dict[str, str]] = None,
                   as_json: bool = False) -> Tuple[int, str]:
        query = query or self.query(openid)
        if safe:
            body, query = self.encrypt(body, query, as_json=as_json)
        async with session.post(self.url, params=query, data=body.encode("utf-8")) as response:
            return response.status, await response.text()


# ---------------------------------------------------------------- Alipay's requests

@dataclass
class AlipaySide:
    """Sends what Alipay's life-account gateway sends, signed with alipay-sdk."""

    url: str
    app_id: str
    alipay_keys: KeyPair
    app_keys: KeyPair

    def biz_text(self, user_id: str, content: str, msg_id: str) -> str:
        return (f"<XML><AppId><![CDATA[{self.app_id}]]></AppId>"
                f"<FromAlipayUserId><![CDATA[{user_id}]]></FromAlipayUserId>"
                f"<CreateTime>{int(time.time() * 1000)}</CreateTime>"
                f"<MsgType><![CDATA[text]]></MsgType>"
                f"<Text><Content><![CDATA[{content}]]></Content></Text>"
                f"<MsgId><![CDATA[{msg_id}]]></MsgId></XML>")

    def biz_event(self, user_id: str, event: str, app_id: Optional[str] = None) -> str:
        return (f"<XML><AppId><![CDATA[{app_id or self.app_id}]]></AppId>"
                f"<FromAlipayUserId><![CDATA[{user_id}]]></FromAlipayUserId>"
                f"<CreateTime>{int(time.time() * 1000)}</CreateTime>"
                f"<MsgType><![CDATA[event]]></MsgType>"
                f"<EventType><![CDATA[{event}]]></EventType></XML>")

    def form(self, service: str, biz_content: str, charset: str = "GBK",
             tamper: bool = False) -> bytes:
        params = {"service": service, "sign_type": "RSA2", "charset": charset,
                  "biz_content": biz_content}
        params["sign"] = sign_with_rsa2(self.alipay_keys.private_pkcs1,
                                        get_sign_content(params), charset)
        if tamper:
            params["biz_content"] = biz_content.replace("</XML>", "<X>1</X></XML>")
        return urlencode(params, encoding=charset).encode("ascii")

    def answer_is_signed(self, body: bytes, charset: str = "GBK") -> bool:
        text = body.decode(charset)
        response = re.search(r"<response>.*</response>", text, re.S)
        sign = re.search(r"<sign>(.*?)</sign>", text, re.S)
        if not (response and sign):
            return False
        try:
            return verify_with_rsa(self.app_keys.public_spki,
                                   response.group(0).encode(charset), sign.group(1))
        except Exception:  # noqa: BLE001
            return False

    async def post(self, session: aiohttp.ClientSession, form: bytes,
                   charset: str = "GBK") -> Tuple[int, bytes]:
        headers = {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}
        async with session.post(self.url, data=form, headers=headers) as response:
            return response.status, await response.read()


# ---------------------------------------------------------------- the end-to-end stack

# The Official Account in plain mode, the Mini Program in safe mode: with a key set, a
# connector accepts only the encrypted form (no downgrade), so each mode needs its own.
E2E_WECHAT = {"WECHAT_OA_TOKEN": "e2e-oa-token", "WECHAT_OA_APPID": "wxe2e00000000000oa",
              "WECHAT_OA_SECRET": "e2e-oa-secret", "WECHAT_OA_AES_KEY": "",
              "WECHAT_MP_TOKEN": "e2e-mp-token", "WECHAT_MP_APPID": "wxe2e00000000000mp",
              "WECHAT_MP_SECRET": "e2e-mp-secret", "WECHAT_MP_AES_KEY": WECHAT_AES_KEY}
E2E_ALIPAY_APP_ID = "2021000000000e2e"


def stack_channel_env(offset: int) -> Tuple[Dict[str, str], Dict[str, Any]]:
    """Environment that points the stack's connectors at fake platforms on fixed loopback
    ports (17100/17150 + offset: clear of the stack's own ports for offsets 0-400), and
    what the tests need to play those platforms."""
    wechat_port, alipay_port = 17100 + offset, 17150 + offset
    alipay_keys, app_keys = KeyPair.generate(), KeyPair.generate()
    env = {**E2E_WECHAT,
           "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_port}",
           "ALIPAY_GATEWAY": f"http://127.0.0.1:{alipay_port}/gateway.do",
           "ALIPAY_APP_ID": E2E_ALIPAY_APP_ID,
           "ALIPAY_APP_PRIVATE_KEY": app_keys.private_pkcs1,
           "ALIPAY_PUBLIC_KEY": alipay_keys.public_spki}
    return env, {"wechat_port": wechat_port, "alipay_port": alipay_port,
                 "alipay_keys": alipay_keys, "app_keys": app_keys, "env": env}
