"""The backend's JSON answers: every body is UTF-8 JSON, an error one
`{"error": code, "message": "中文 / English"}` (docs/backend-openapi.yaml)."""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from aiohttp import web


def json_response(data: Any, status: int = 200,
                  headers: Optional[Mapping[str, str]] = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def error_response(status: int, code: str, zh: str, en: str,
                   headers: Optional[Mapping[str, str]] = None) -> web.Response:
    return json_response(
        {"error": code, "message": f"{zh} / {en}"}, status=status, headers=headers
    )


def _dumps(data: Any) -> str:
    """JSON text that always encodes as UTF-8: a lone surrogate a client sent in a field
    name (echoed in an error message) becomes U+FFFD instead of a 500."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
