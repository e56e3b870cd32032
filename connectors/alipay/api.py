"""Alipay's `alipay.open.public.message.custom.send`: signed requests, checked answers.

Used by the Alipay connector for the bot's replies and reusable by an agent desk. The
request is an OpenAPI call (form POST to the gateway, RSA2-signed with the app's private
key, UTF-8); Alipay's answer is JSON whose response node is signed with Alipay's key and
succeeds with `code` 10000. A failure is logged and returned, never raised.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.privacy import mask_text
from connectors.alipay import sign as alipay_sign
from connectors.common import http

logger = logging.getLogger(__name__)

SEND_METHOD = "alipay.open.public.message.custom.send"
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class SendResult:
    ok: bool
    code: str = ""
    msg: str = ""


def response_node(raw: str, key: str) -> Optional[str]:
    """The exact text of `"key": {...}` in Alipay's answer: the signed content."""
    start = raw.find(f'"{key}"')
    if start < 0:
        return None
    start = raw.find("{", start + len(key) + 2)
    if start < 0:
        return None
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(raw)):
        char = raw[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return raw[start:index + 1]
    return None


class AlipayClient:
    """Signed OpenAPI calls for one app."""

    def __init__(
        self, app_id: str, private_key: rsa.RSAPrivateKey, alipay_public_key: rsa.RSAPublicKey,
        gateway: str,
    ) -> None:
        """`gateway` is the OpenAPI gateway's URL (ALIPAY_GATEWAY: connectors.common.settings)."""
        self.app_id = app_id
        self._key = private_key
        self._alipay_key = alipay_public_key
        self._gateway = gateway

    def signed_params(self, method: str, biz_content: Dict[str, Any],
                      now: Optional[datetime] = None) -> Dict[str, str]:
        params = {
            "app_id": self.app_id, "method": method, "format": "JSON", "charset": "utf-8",
            "sign_type": "RSA2", "version": "1.0",
            "timestamp": (now or datetime.now(_CHINA)).strftime("%Y-%m-%d %H:%M:%S"),
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = alipay_sign.sign(self._key, alipay_sign.sign_content(params))
        return params

    async def call(self, method: str, biz_content: Dict[str, Any]) -> SendResult:
        params = self.signed_params(method, biz_content)
        node_key = method.replace(".", "_") + "_response"
        try:
            async with http.session().post(
                self._gateway, params={"charset": "utf-8"}, data=params
            ) as response:
                raw = await response.text(encoding="utf-8")
            answer = json.loads(raw)
            node = answer.get(node_key) or {}
            signed = response_node(raw, node_key)
            if answer.get("sign") and signed is not None and not alipay_sign.verify(
                self._alipay_key, signed, answer["sign"]
            ):
                return SendResult(False, "bad-sign", "answer's signature does not verify")
            code = str(node.get("code", ""))
            return SendResult(code == "10000", code, str(node.get("sub_msg") or node.get("msg", "")))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, AttributeError) as error:
            return SendResult(False, "network", f"{type(error).__name__}: {error}")

    async def custom_send(self, to_user_id: str, message: Dict[str, Any]) -> SendResult:
        """Sends one message ({"msg_type": "text", "text": {"content": …}} …) to a user."""
        result = await self.call(SEND_METHOD, {"to_user_id": to_user_id, **message})
        if not result.ok:
            logger.error(
                "alipay %s: reply to %s… failed (%s: %s)", self.app_id,
                mask_text(to_user_id)[:8], result.code, mask_text(result.msg),
            )
        return result
