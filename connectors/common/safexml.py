"""Safe parsing of the small XML documents WeChat and Alipay send.

Their messages are flat (`<xml><MsgType>text</MsgType>…</xml>`, Alipay nests one level:
`<Text><Content>…</Content></Text>`), so the parser returns a flat dict of element paths
to text and refuses anything a message never contains but an attacker would send: a
DOCTYPE (so no entity expansion, no "billion laughs", no external entities), processing
instructions, deep nesting, many elements, big bodies. expat is driven directly so those
are refused while parsing, not after an expansion has already happened.
"""
from __future__ import annotations

from typing import Dict, List, Union
from xml.parsers import expat

MAX_BYTES = 64 * 1024
MAX_DEPTH = 8
MAX_ELEMENTS = 512


class UnsafeXML(ValueError):
    """The body is not a small, plain XML document."""


def parse_flat(body: Union[bytes, str], max_bytes: int = MAX_BYTES) -> Dict[str, str]:
    """{"MsgType": "text", "Text/Content": "…"}: paths below the root element to text.

    Repeated paths keep their first value (messages never repeat a field).
    """
    # Text already decoded (Alipay's biz_content) is fed as UTF-8 whatever its
    # declaration says; bytes follow their declaration (UTF-8 by default).
    as_text = isinstance(body, str)
    data = body.encode("utf-8") if as_text else body
    if len(data) > max_bytes:
        raise UnsafeXML(f"body larger than {max_bytes} bytes")
    if not data.strip():
        raise UnsafeXML("empty body")

    parser = expat.ParserCreate("UTF-8") if as_text else expat.ParserCreate()
    stack: List[str] = []
    texts: List[List[str]] = []
    result: Dict[str, str] = {}
    count = 0

    def refuse(*_args) -> None:
        raise UnsafeXML("DOCTYPE, entities and processing instructions are not accepted")

    def start(name: str, _attrs) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise UnsafeXML("too many or too deeply nested elements")
        stack.append(name)
        texts.append([])

    def end(name: str) -> None:
        text = "".join(texts.pop())
        if len(stack) > 1:
            path = "/".join(stack[1:])
            result.setdefault(path, text.strip())
        stack.pop()

    def chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.ProcessingInstructionHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise UnsafeXML(f"malformed XML: {error}") from error
    return result
