"""One fix aiohttp 3.9 needs beside the yarl the lock pins (Rasa 3.6 keeps aiohttp below
3.10, and yarl is 1.25).

aiohttp before 3.10.7 builds `request.url` with the Host header's port inside the host
name, which yarl 1.13 and later refuse with a ValueError (aio-libs/aiohttp#9435, fixed
upstream by #9309). A sub-application finds its routes through `request.url`, so without
the fix every request to the desk whose Host carries a port (every one on :8800) would
be a 500. This backports upstream's `url`: the Host header read as an authority.
"""
from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.helpers import reify
from yarl import URL

#: The first aiohttp release whose request.url parses the port itself.
FIXED_IN = (3, 10, 7)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def _url(request: web.BaseRequest) -> URL:
    """The request's full URL, the Host header read as host and port (aiohttp 3.10.7)."""
    return URL.build(scheme=request.scheme, authority=request.host).join(request.rel_url)


def fix_request_url() -> None:
    """Gives aiohttp's requests upstream's `url` when this aiohttp predates it; harmless
    to call again."""
    if _release(aiohttp.__version__) < FIXED_IN:
        web.BaseRequest.url = reify(_url)  # type: ignore[method-assign]
