"""The widget's socket.io channel (connectors/widget/channel.py) on the running Rasa,
driven by python-socketio's client: sessions, rooms and what is refused."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import socketio

from connectors.widget.session import session_of
from tests.e2e.socketio_client import close_polling_client

pytestmark = pytest.mark.slow
TIMEOUT = 30


class Tab:
    """One socket.io connection, as one browser tab of the widget has."""

    def __init__(self):
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue = asyncio.Queue()
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.put_nowait)
        self.client.on("session_confirm", self.confirmed.put_nowait)

    async def connect(self, stack, session_token=None, headers=None) -> str:
        """Asks for the session of `session_token` (a new one when None); returns the
        token the channel confirms (connectors/widget/session.py)."""
        # polling: python-engineio's WebSocket client needs a newer aiohttp than ours
        await self.client.connect(stack["RASA_PORT"], transports=["polling"],
                                  headers=headers or {})
        await self.client.emit("session_request", {"session_id": session_token})
        return await asyncio.wait_for(self.confirmed.get(), TIMEOUT)

    async def say(self, session_id: str, text: str) -> dict:
        return await self.client.call(
            "user_uttered", {"message": text, "session_id": session_id}, timeout=TIMEOUT
        )

    async def close(self) -> None:
        await close_polling_client(self.client)

    async def reply_texts(self) -> str:
        texts = [(await asyncio.wait_for(self.replies.get(), TIMEOUT)).get("text", "")]
        while not self.replies.empty():
            texts.append(self.replies.get_nowait().get("text", ""))
        return "\n".join(texts)


@pytest.fixture
async def tabs():
    """Opens tabs (Tab instances) and closes every one of them after the test, passed
    or failed."""
    opened = []

    def open_tab() -> Tab:
        opened.append(Tab())
        return opened[-1]

    yield open_tab
    await asyncio.gather(*(tab.close() for tab in opened))


async def test_a_session_gets_its_replies_and_a_reload_continues_it(stack, tabs):
    first = tabs()
    token = await first.connect(stack)
    session_id = session_of(token)
    assert len(session_id) == 32
    assert await first.say(token, "居住证要什么材料") == {"status": "ok"}
    assert "居民身份证" in await first.reply_texts()
    await first.close()

    reloaded = tabs()  # the stored token after a reload: the same conversation
    again = await reloaded.connect(stack, token)
    assert session_of(again) == session_id
    assert await reloaded.say(again, "那要多久？") == {"status": "ok"}
    answer = await reloaded.reply_texts()
    assert "上海市居住证申领" in answer and "工作日" in answer


async def test_session_ids_not_of_our_shape_are_replaced(stack, tabs):
    tab = tabs()
    granted = await tab.connect(stack, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")  # e.g. a WeChat openid
    assert session_of(granted) and len(session_of(granted)) == 32


async def test_messages_for_a_session_the_socket_did_not_request_are_refused(stack, tabs):
    owner, other = tabs(), tabs()
    session_id = session_of(await owner.connect(stack))
    await other.connect(stack)
    refused = await other.say(session_id, "居住证要什么材料")
    assert refused == {"status": "ignored", "reason": "no_session"}
    assert await other.say(uuid.uuid4().hex, "你好") == {"status": "ignored", "reason": "no_session"}
    await asyncio.sleep(1)
    assert owner.replies.empty() and other.replies.empty()


async def test_two_tabs_of_one_session_both_see_the_replies(stack, tabs):
    one, two = tabs(), tabs()
    token = await one.connect(stack)
    await two.connect(stack, token)
    await one.say(token, "你好")
    assert "智能客服" in await one.reply_texts()
    assert "智能客服" in await two.reply_texts()
