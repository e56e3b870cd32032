"""One kept HTTP session per endpoint and event loop.

Each action call opened a new aiohttp ClientSession, so a new TCP connection to the
action server, per call (`EndpointConfig.session`); sessions are now kept per endpoint and
event loop, with keep-alive connections, writing and reading JSON with orjson.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

from bot import fast_json
from rasa_ext.patches import require_rasa

class _KeptSession:
    """`async with` yields the shared session and leaves it open afterwards."""

    def __init__(self, session) -> None:
        self._session = session

    async def __aenter__(self):
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


_sessions: Dict[Any, Any] = {}


@lru_cache(maxsize=1)
def _response_class():
    """aiohttp's response, reading JSON bodies (the action server's replies) with
    bot.fast_json."""
    import aiohttp

    class FastJSONResponse(aiohttp.ClientResponse):
        async def json(self, *, encoding=None, loads=fast_json.loads,
                       content_type="application/json"):
            return await super().json(encoding=encoding, loads=loads, content_type=content_type)

    return FastJSONResponse


def _endpoint_session(self):
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    key = (id(self), id(loop))
    session = _sessions.get(key)
    if session is None or session.closed:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            json_serialize=fast_json.dumps,
            response_class=_response_class(),
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30),
        )
        _sessions[key] = session
    return _KeptSession(session)


def apply() -> None:
    require_rasa(__name__)
    from rasa.utils.endpoints import EndpointConfig

    EndpointConfig.session = _endpoint_session
