"""WeChat's message signatures and safe-mode (AES) encryption, written from the spec.

Every request WeChat sends is signed with sha1 over the sorted strings token, timestamp,
nonce (plus the ciphertext in safe mode); a request that does not match is not WeChat's.
Safe mode wraps each message in AES-256-CBC with the key from the console's
EncodingAESKey, IV = key[:16], PKCS#7 padding to 32-byte blocks, and a plaintext of
16 random bytes ‖ uint32 big-endian length ‖ message ‖ appid, so a message encrypted for
another account (a wrong appid) is refused even when the key is shared.

wechatpy plays WeChat's side in the tests; this module does not use it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from typing import Optional

from Crypto.Cipher import AES

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class WeChatCryptoError(ValueError):
    """A ciphertext that cannot be WeChat's message for this account."""


def signature(*parts: str) -> str:
    """sha1 hex of the parts sorted and joined (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: Optional[str], *parts: str) -> bool:
    """Constant-time comparison of a received signature with the one computed."""
    if not expected:
        return False
    return hmac.compare_digest(expected.lower().encode(), signature(*parts).encode())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key from the console's 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as error:
        raise WeChatCryptoError("EncodingAESKey is not base64") from error
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise WeChatCryptoError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def unpad(data: bytes) -> bytes:
    if not data:
        raise WeChatCryptoError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise WeChatCryptoError("bad padding")
    return data[:-amount]


class MessageCrypto:
    """Safe-mode encryption for one account (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.appid = appid

    def _cipher(self):
        return AES.new(self.key, AES.MODE_CBC, iv=self.key[:16])

    def encrypt(self, message: str, random_prefix: Optional[bytes] = None) -> str:
        """Base64 ciphertext of the message (random_prefix is fixed only in tests)."""
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("the random prefix is 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.appid.encode("utf-8")
        return base64.b64encode(self._cipher().encrypt(pad(plain))).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The message inside; WeChatCryptoError for anything not made for this appid."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise WeChatCryptoError("ciphertext is not base64") from error
        if not raw or len(raw) % 16:
            raise WeChatCryptoError("ciphertext length is not a whole number of blocks")
        plain = unpad(self._cipher().decrypt(raw))
        if len(plain) < 20:
            raise WeChatCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise WeChatCryptoError("declared length exceeds the plaintext")
        appid = plain[20 + length:]
        if not hmac.compare_digest(appid, self.appid.encode("utf-8")):
            raise WeChatCryptoError("message is for another appid")
        try:
            return plain[20:20 + length].decode("utf-8")
        except UnicodeDecodeError as error:
            raise WeChatCryptoError("message is not UTF-8") from error

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def encrypted_reply(self, message: str, timestamp: str, nonce: str) -> str:
        """The XML envelope a passive reply takes in safe mode."""
        encrypted = self.encrypt(message)
        sign = self.msg_signature(timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sign}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
