"""WeChat's customer-service send API with a shared access token and errcode handling.

Used by the WeChat connectors for the bot's replies and reusable by an agent desk: the
only state is the access token, kept in the shared key-value store (bot/kv.py) so every
process of the deployment uses one token per appid. Tokens come from
`cgi-bin/stable_token`, which does not invalidate the token other processes hold (the
plain `cgi-bin/token` does), and are refreshed 5 minutes before they expire.

WeChat answers HTTP 200 for failures too; the `errcode` decides:
- 40001/40014/42001: the token is bad or expired → drop it, fetch again, retry once;
- 45015 (user outside the 48-hour window), 45047 (too many replies to one message),
  45009 (daily quota): not retryable; recorded (log + a daily counter per code);
- anything else: logged with WeChat's errmsg, not retried.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

import aiohttp

from bot.kv import KeyValueStore, store_from_env
from bot.privacy import mask_text
from connectors.common import http

logger = logging.getLogger(__name__)

BAD_TOKEN = {40001, 40014, 42001}
NOT_RETRYABLE = {
    45015: "user has not written within 48 hours",
    45047: "too many replies to one message",
    45009: "daily API quota reached",
}
TOKEN_MARGIN = 300  # seconds before expiry at which a token counts as stale


@dataclass(frozen=True)
class SendResult:
    ok: bool
    errcode: int = 0
    errmsg: str = ""

    @property
    def retryable(self) -> bool:
        return not self.ok and self.errcode not in NOT_RETRYABLE


class WeChatAPIError(RuntimeError):
    """The token endpoint did not give a token."""


class AccessTokens:
    """One cached access token per appid in the shared store."""

    def __init__(self, store: KeyValueStore, base: str) -> None:
        self._store = store
        self._base = base
        self._locks: Dict[str, asyncio.Lock] = {}

    @staticmethod
    def key(appid: str) -> str:
        return f"wechat:token:{appid}"

    async def get(self, appid: str, secret: str) -> str:
        cached = await self._store.get(self.key(appid))
        if cached:
            return cached
        lock = self._locks.setdefault(appid, asyncio.Lock())
        async with lock:  # one fetch per process; the others wait for its result
            cached = await self._store.get(self.key(appid))
            if cached:
                return cached
            token, expires_in = await self._fetch(appid, secret)
            ttl = max(60.0, float(expires_in) - TOKEN_MARGIN)
            await self._store.set(self.key(appid), token, ttl=ttl)
            return token

    async def invalidate(self, appid: str, bad_token: str) -> None:
        """Drops the cached token if it is still the bad one (another process may have
        replaced it already)."""
        if await self._store.get(self.key(appid)) == bad_token:
            await self._store.delete(self.key(appid))

    async def _fetch(self, appid: str, secret: str) -> tuple[str, int]:
        url = f"{self._base}/cgi-bin/stable_token"
        body = {"grant_type": "client_credential", "appid": appid, "secret": secret,
                "force_refresh": False}
        async with http.session().post(url, json=body) as response:
            data = await response.json(content_type=None)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise WeChatAPIError(
                f"stable_token for {appid}: errcode {data.get('errcode')} {data.get('errmsg')}"
            )
        return token, int(data.get("expires_in") or 7200)


class WeChatSender:
    """Sends customer-service messages (`cgi-bin/message/custom/send`) for one appid."""

    def __init__(
        self, appid: str, secret: str, base: str, store: Optional[KeyValueStore] = None,
    ) -> None:
        """`base` is the API's base URL (WECHAT_API_BASE: connectors.common.settings)."""
        self.appid = appid
        self._secret = secret
        self._base = base.rstrip("/")
        self._store = store or store_from_env()
        self.tokens = AccessTokens(self._store, self._base)

    async def send(self, message: Dict[str, Any]) -> SendResult:
        """Sends one message body ({"touser", "msgtype", …}); never raises for a
        platform or network failure: the result says what happened and it is logged."""
        try:
            result = await self._send_with_token(message)
            if result.errcode in BAD_TOKEN:
                result = await self._send_with_token(message, refresh=True)
        except (aiohttp.ClientError, asyncio.TimeoutError, WeChatAPIError, ValueError) as error:
            result = SendResult(False, -1, f"{type(error).__name__}: {error}")
        await self._record(message, result)
        return result

    async def _send_with_token(self, message: Dict[str, Any], refresh: bool = False) -> SendResult:
        token = await self.tokens.get(self.appid, self._secret)
        url = f"{self._base}/cgi-bin/message/custom/send"
        data = json.dumps(message, ensure_ascii=False).encode("utf-8")
        async with http.session().post(
            url, params={"access_token": token}, data=data,
            headers={"Content-Type": "application/json; charset=utf-8"},
        ) as response:
            if response.status >= 500:
                return SendResult(False, -response.status, f"HTTP {response.status}")
            answer = await response.json(content_type=None)
        code = int(answer.get("errcode", 0)) if isinstance(answer, dict) else -2
        if code in BAD_TOKEN and not refresh:
            await self.tokens.invalidate(self.appid, token)
        return SendResult(code == 0, code, str(answer.get("errmsg", "")) if code else "")

    async def _record(self, message: Dict[str, Any], result: SendResult) -> None:
        if result.ok:
            return
        who = mask_text(str(message.get("touser", "")))[:8] + "…"
        if result.errcode in NOT_RETRYABLE:
            day = time.strftime("%Y%m%d")
            try:
                await self._store.incr(
                    f"wechat:undelivered:{self.appid}:{result.errcode}:{day}", ttl=3 * 86400
                )
            except Exception:  # noqa: BLE001 - a counter must not hide the log line
                pass
            logger.warning(
                "wechat %s: reply to %s not delivered (errcode %s: %s)", self.appid, who,
                result.errcode, NOT_RETRYABLE[result.errcode],
            )
        else:
            logger.error(
                "wechat %s: reply to %s failed (errcode %s: %s)", self.appid, who,
                result.errcode, mask_text(result.errmsg),
            )
