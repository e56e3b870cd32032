"""One kept-alive aiohttp session per event loop for the outbound platform clients.

Sending a reply must not open a new TCP+TLS connection each time (a burst of 100 users
would open 100); the session is shared by every client in the process and recreated if
the loop that owned it has gone (tests run several loops one after another).
"""
from __future__ import annotations

import asyncio
from typing import Dict

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
_sessions: Dict[int, aiohttp.ClientSession] = {}


def session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    key = id(loop)
    current = _sessions.get(key)
    if current is None or current.closed:
        current = aiohttp.ClientSession(
            timeout=TIMEOUT, connector=aiohttp.TCPConnector(limit=32)
        )
        _sessions[key] = current
    return current


async def close_all() -> None:
    """Closes the current loop's session (tests; a server's session lives as long as it)."""
    current = _sessions.pop(id(asyncio.get_running_loop()), None)
    if current is not None:
        await current.close()
