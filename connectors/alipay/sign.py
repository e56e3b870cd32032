"""Alipay's RSA2 signatures (SHA256withRSA, PKCS#1 v1.5), written from the spec.

Alipay signs every parameter except `sign`, sorted by key and joined as `k=v&k=v`,
*encoded in the request's charset*: a GBK request is signed over GBK bytes, so the text
must be decoded and re-encoded with the declared charset, never assumed UTF-8.
Keys are accepted as PEM or as the bare base64 the Alipay console shows (PKCS#1 or
PKCS#8 private keys, X.509 SubjectPublicKeyInfo public keys).

The tests cross-check these signatures with alipay-sdk-python's helpers (another
implementation on the `rsa` package); this module uses `cryptography`.
"""
from __future__ import annotations

import base64
import binascii
from typing import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class AlipayKeyError(ValueError):
    """A configured key that cannot be read."""


def _der(text: str) -> bytes:
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise AlipayKeyError("key is neither PEM nor base64") from error


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_der_private_key(_der(text), password=None)
    except ValueError as error:
        raise AlipayKeyError("not an RSA private key (PKCS#1 or PKCS#8)") from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AlipayKeyError("not an RSA private key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    try:  # X.509 SubjectPublicKeyInfo or PKCS#1 RSAPublicKey
        key = serialization.load_der_public_key(_der(text))
    except ValueError as error:
        raise AlipayKeyError("not an RSA public key") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise AlipayKeyError("not an RSA public key")
    return key


def public_key_base64(key: rsa.RSAPrivateKey) -> str:
    """The app's public key as the bare base64 Alipay's gateway check expects."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def sign_content(params: Mapping[str, str]) -> str:
    """`k=v&…` of every parameter but `sign`, sorted by key (empty values kept)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")


def sign(key: rsa.RSAPrivateKey, content: str, charset: str = "utf-8") -> str:
    raw = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def verify(key: rsa.RSAPublicKey, content: str, signature: str, charset: str = "utf-8") -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False


def verify_params(key: rsa.RSAPublicKey, params: Mapping[str, str], charset: str) -> bool:
    """True when `params["sign"]` is Alipay's RSA2 signature of the other parameters."""
    signature = params.get("sign")
    if not signature or params.get("sign_type", "RSA2").upper() != "RSA2":
        return False
    return verify(key, sign_content(params), signature, charset)
