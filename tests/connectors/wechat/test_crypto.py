"""WeChat signatures and safe-mode crypto: the spec's known-answer vector, and wechatpy
(an independent implementation) as the other side in both directions."""
from __future__ import annotations

import base64

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature as wechatpy_check_signature

from connectors.wechat.crypto import (
    MessageCrypto, WeChatCryptoError, aes_key, check_signature, pad, signature,
)

TOKEN, AES_KEY, APPID = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
REPLY = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
         "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
         "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
         "<CreateTime>1411525903</CreateTime>\n</xml>")


def test_known_answer_vector():
    crypto = MessageCrypto(TOKEN, AES_KEY, APPID)
    encrypted = crypto.encrypt(REPLY, random_prefix=b"1234567890123456")
    assert encrypted.startswith("9s4gMv99m88kKTh/H8Id")
    assert crypto.msg_signature("1411525903", "461056294", encrypted) == \
        "407518b7649e86ef23978113f92d27afa9296533"
    assert crypto.decrypt(encrypted) == REPLY


def test_url_check_signature_agrees_with_wechatpy():
    sign = signature(TOKEN, "1411525903", "461056294")
    wechatpy_check_signature(TOKEN, sign, "1411525903", "461056294")  # raises if wrong
    assert check_signature(sign, TOKEN, "1411525903", "461056294")
    assert check_signature(sign.upper(), TOKEN, "1411525903", "461056294")
    assert not check_signature(sign, TOKEN, "1411525904", "461056294")
    assert not check_signature("", TOKEN, "1411525903", "461056294")
    assert not check_signature(None, TOKEN, "1411525903", "461056294")


@pytest.mark.parametrize("text", ["你好，居住证要什么材料？", "a", "x" * 5000, "辦營業執照 😀"])
def test_wechatpy_encrypts_we_decrypt(text):
    wechat = WeChatCrypto(TOKEN, AES_KEY, APPID)
    envelope = wechat.encrypt_message(f"<xml><Content>{text}</Content></xml>", "42", "1411525903")
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    crypto = MessageCrypto(TOKEN, AES_KEY, APPID)
    assert crypto.decrypt(encrypted) == f"<xml><Content>{text}</Content></xml>"


def test_we_encrypt_wechatpy_decrypts():
    crypto = MessageCrypto(TOKEN, AES_KEY, APPID)
    envelope = crypto.encrypted_reply("<xml><Content>收到</Content></xml>", "1411525903", "7")
    plain = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(
        envelope, envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0], "1411525903", "7"
    )
    assert plain == "<xml><Content>收到</Content></xml>"


def test_wrong_appid_is_refused():
    encrypted = MessageCrypto(TOKEN, AES_KEY, "wx_other_app_0001").encrypt("<xml/>")
    with pytest.raises(WeChatCryptoError, match="appid"):
        MessageCrypto(TOKEN, AES_KEY, APPID).decrypt(encrypted)


def test_bad_padding_and_garbage_are_refused():
    crypto = MessageCrypto(TOKEN, AES_KEY, APPID)
    from Crypto.Cipher import AES
    key = aes_key(AES_KEY)
    plain = b"0" * 16 + b"\x00\x00\x00\x01" + b"x" + APPID.encode()
    bad = plain + b"\x05" * (32 - len(plain) % 32)  # padding bytes do not say their length
    raw = AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(bad[:len(bad) - len(bad) % 16])
    with pytest.raises(WeChatCryptoError):
        crypto.decrypt(base64.b64encode(raw).decode())
    for garbage in ["", "not base64!", base64.b64encode(b"short").decode(),
                    base64.b64encode(b"\x00" * 48).decode()]:
        with pytest.raises(WeChatCryptoError):
            crypto.decrypt(garbage)


def test_declared_length_beyond_the_plaintext_is_refused():
    key = aes_key(AES_KEY)
    from Crypto.Cipher import AES
    plain = pad(b"0" * 16 + b"\x00\x00\xff\xff" + b"x" + APPID.encode())
    raw = AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(plain)
    with pytest.raises(WeChatCryptoError, match="length"):
        MessageCrypto(TOKEN, AES_KEY, APPID).decrypt(base64.b64encode(raw).decode())


def test_a_bad_encoding_aes_key_is_named():
    with pytest.raises(WeChatCryptoError):
        aes_key("short")
    with pytest.raises(WeChatCryptoError):
        aes_key("!" * 43)
