"""Closing python-socketio's client over long polling without waiting out the poll.

python-engineio's client posts CLOSE and then waits for its open GET, which the server
(having closed the socket without replying) answers only when the poll times out, 25-45 s
later. Nothing can arrive on it any more, so the wait is cut short and the client's HTTP
session closed here: otherwise every socket costs half a minute, and one left open by a
failing test leaves tasks for the event loop's teardown.
"""
from __future__ import annotations

import asyncio

import socketio

#: How long a disconnect may wait for the pending long-poll.
CLOSE_WAIT = 2.0


async def close_polling_client(client: socketio.AsyncClient) -> None:
    """Disconnects `client` (connected or not) within about CLOSE_WAIT seconds."""
    if client.connected:
        try:
            await asyncio.wait_for(client.disconnect(), CLOSE_WAIT)
        except asyncio.TimeoutError:
            pass  # the read loop is cancelled with the wait; CLOSE was already posted
    http = client.eio.http
    if http is not None and not http.closed:
        await http.close()
