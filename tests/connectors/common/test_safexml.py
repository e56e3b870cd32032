"""The XML parser refuses what a platform message never contains."""
from __future__ import annotations

import pytest

from connectors.common.safexml import UnsafeXML, parse_flat

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<xml><Content>&lol2;</Content></xml>"""
EXTERNAL = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<xml><Content>&e;</Content></xml>"""


def test_flat_and_nested_fields():
    parsed = parse_flat("<xml><MsgType><![CDATA[text]]></MsgType><Content>a &amp; b</Content>"
                        "<Text><Content>内</Content></Text></xml>".encode())
    assert parsed["MsgType"] == "text" and parsed["Content"] == "a & b"
    assert parsed["Text/Content"] == "内"


def test_gbk_declaration_on_decoded_text_is_harmless():
    assert parse_flat('<?xml version="1.0" encoding="GBK"?><XML><A>中文</A></XML>') == {"A": "中文"}


@pytest.mark.parametrize("body", [
    BOMB, EXTERNAL, "<!DOCTYPE xml><xml/>", "<xml><?php evil ?></xml>", "<xml><a>",
    "not xml", "", "<xml><C>&undefined;</C></xml>", "<a>" * 20 + "</a>" * 20,
    "<xml>" + "<a/>" * 600 + "</xml>",
])
def test_refused(body):
    with pytest.raises(UnsafeXML):
        parse_flat(body)


def test_size_cap():
    with pytest.raises(UnsafeXML, match="larger"):
        parse_flat("<xml><C>" + "x" * 70_000 + "</C></xml>")
