"""Alipay RSA2: our signatures cross-checked with alipay-sdk-python's helpers, GBK included."""
from __future__ import annotations

import pytest
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2, verify_with_rsa

from connectors.alipay import sign as alipay_sign
from tests.connectors.platforms import KeyPair


@pytest.fixture(scope="module")
def keys():
    return KeyPair.generate()


PARAMS = {"service": "alipay.mobile.public.message.notify", "sign_type": "RSA2",
          "charset": "GBK", "biz_content": "<XML><Text><Content>辦居住證要什麼材料</Content></Text></XML>"}


@pytest.mark.parametrize("charset", ["GBK", "utf-8"])
def test_sdk_signs_we_verify(keys, charset):
    params = {**PARAMS, "charset": charset}
    sign = sign_with_rsa2(keys.private_pkcs1, get_sign_content(params), charset)
    assert alipay_sign.sign_content(params) == get_sign_content(params)
    public = alipay_sign.load_public_key(keys.public_spki)
    assert alipay_sign.verify_params(public, {**params, "sign": sign}, charset.lower())
    # the same text signed in the other charset does not verify: bytes matter
    other = "utf-8" if charset == "GBK" else "gbk"
    assert not alipay_sign.verify_params(public, {**params, "sign": sign}, other)


def test_we_sign_sdk_verifies(keys):
    private = alipay_sign.load_private_key(keys.private_pkcs1)
    content = "<response><success>true</success></response>"
    for charset in ("gbk", "utf-8"):
        sign = alipay_sign.sign(private, content + "受理", charset)
        assert verify_with_rsa(keys.public_spki, (content + "受理").encode(charset), sign)


def test_forged_or_missing_signatures_fail(keys):
    public = alipay_sign.load_public_key(keys.public_spki)
    other = KeyPair.generate()
    sign = sign_with_rsa2(other.private_pkcs1, get_sign_content(PARAMS), "GBK")
    assert not alipay_sign.verify_params(public, {**PARAMS, "sign": sign}, "gbk")
    assert not alipay_sign.verify_params(public, PARAMS, "gbk")
    assert not alipay_sign.verify_params(public, {**PARAMS, "sign": "@@@"}, "gbk")
    good = sign_with_rsa2(keys.private_pkcs1, get_sign_content(PARAMS), "GBK")
    assert not alipay_sign.verify_params(public, {**PARAMS, "sign_type": "RSA", "sign": good},
                                         "gbk")


def test_keys_in_pem_and_bare_base64(keys):
    private = alipay_sign.load_private_key(keys.private_pkcs1)
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + keys.private_pkcs1 + "\n-----END RSA PRIVATE KEY-----"
    assert alipay_sign.load_private_key(pem).private_numbers() == private.private_numbers()
    assert alipay_sign.public_key_base64(private) == keys.public_spki
    with pytest.raises(alipay_sign.AlipayKeyError):
        alipay_sign.load_private_key("not a key")
    with pytest.raises(alipay_sign.AlipayKeyError):
        alipay_sign.load_public_key("QUJD")
