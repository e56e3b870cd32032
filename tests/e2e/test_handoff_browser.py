"""The whole handoff loop with a real browser desk and a socket.io citizen.

The agent works in the desk page in Chromium (Playwright); the citizen is a socket.io
client of Rasa (the channel the web widget uses), so agent messages must arrive through
Rasa's output channel, not only in the tracker.
"""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import socketio
from playwright.async_api import async_playwright, expect

from tests.e2e.socketio_client import close_polling_client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
#: The widget's socket.io channel (connectors/widget/channel.py, another branch) awaits
#: enter_room and accepts only 32-hex session ids it confirmed.
ROOMS_AWAITED = (ROOT / "connectors" / "widget" / "channel.py").exists()


class SocketCitizen:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session_id = ""
        self.received: asyncio.Queue = asyncio.Queue()
        self.sio.on("bot_uttered", self._bot)

    async def _bot(self, data) -> None:
        await self.received.put(data)

    async def connect(self) -> None:
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()

        def confirm(session_id: str) -> None:
            if not confirmed.done():
                confirmed.set_result(session_id)

        self.sio.on("session_confirm", confirm)
        # Long polling: the installed engineio needs a newer aiohttp for its websocket client.
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        if ROOMS_AWAITED:
            requested = uuid.uuid4().hex
        else:
            # Rasa 3.6.21's own channel calls python-socketio 5's coroutine `enter_room`
            # without awaiting it, so a chosen session never gets its room; the socket's
            # own id is always a room.
            requested = self.sio.get_sid()
        await self.sio.emit("session_request", {"session_id": requested})
        self.session_id = await asyncio.wait_for(confirmed, 10)

    async def say(self, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def wait_for(self, fragment: str, timeout: float = 30.0) -> dict:
        async def find() -> dict:
            while True:
                message = await self.received.get()
                if fragment in (message.get("text") or ""):
                    return message
        return await asyncio.wait_for(find(), timeout)


async def test_agent_in_browser_and_socketio_citizen(stack):
    citizen = SocketCitizen(stack["RASA_PORT"])
    await citizen.connect()
    marker = "zz" + uuid.uuid4().hex[:6]  # not six digits: those are masked as codes
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = await browser.new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        try:
            await page.goto(stack["WEB_PORT"] + "/desk")
            await page.fill("#login-name", "agent1")
            await page.fill("#login-password", "wrong-password")
            await page.click("#login-submit")
            await expect(page.locator("#login-error")).to_contain_text("账号或密码错误")
            await page.fill("#login-password", "agent1-pass")
            await page.click("#login-submit")
            await expect(page.locator("#whoami")).to_contain_text("agent1")
            await expect(page.locator("#online-agents")).to_contain_text("agent1")

            await citizen.say(f"编号 {marker}")  # it finds the citizen in the queue
            await citizen.say("居住证要什么材料")
            await citizen.wait_for("上海市居住证申领")
            await citizen.say("转人工")
            await citizen.wait_for("转接人工客服")

            item = page.locator(".queue-item", has_text=marker)
            await expect(item).to_contain_text("网页")
            await expect(item).to_contain_text("上海市居住证申领")
            await item.locator("button.accept").click()
            await citizen.wait_for("已为您接入")

            await citizen.say("我电话13812345678，居住证什么时候能好")
            message = page.locator(".msg.citizen", has_text="什么时候能好")
            await expect(message).to_contain_text("138****5678")
            await message.locator("button.reveal").click()
            await expect(message).to_contain_text("13812345678")

            # 常用语 is a searchable list now (issue 16), inserted at the cursor
            await page.click("#canned-open")
            await page.fill("#canned-search", "请稍等")
            await page.press("#canned-search", "Enter")
            await expect(page.locator("#reply-text")).to_have_value("好的，我帮您查一下，请稍等一两分钟。")
            await page.fill("#reply-text", "您的居住证已制证完成，3个工作日内寄出。")
            await page.click("#reply-send")
            await citizen.wait_for("3个工作日内寄出")
            await expect(page.locator(".msg.agent", has_text="3个工作日内寄出")).to_be_visible()

            await page.fill("#search", "社保卡丢了")
            await page.press("#search", "Enter")
            await expect(page.locator("#search-results")).to_contain_text("社会保障卡补换")

            await page.click("#end")
            rating = await citizen.wait_for("满意吗")
            # Rasa's socket.io output carries a message's buttons as quick_replies
            assert [b["payload"] for b in rating["quick_replies"]] == [
                f'/rate_service{{"satisfaction":"{score}"}}' for score in (5, 4, 3, 2, 1)]
            await citizen.say('/rate_service{"satisfaction":"5"}')
            await citizen.wait_for("感谢您的评价（5分）")
            await citizen.say("居住证要多久")
            await citizen.wait_for("工作日")
            await expect(page.locator("#reply-send")).to_be_disabled()
            await page.click("#logout")
            await expect(page.locator("#login-form")).to_be_visible()

            # The supervisor view counts today's handoff and its rating.
            await page.fill("#login-name", "supervisor1")
            await page.fill("#login-password", "supervisor1-pass")
            await page.click("#login-submit")
            await expect(page.locator("#supervisor-link")).to_be_visible()
            await page.click("#supervisor-link")
            await expect(page.locator("#queue-length")).to_have_text("0")
            await expect(page.locator("#days tr").first.locator("td").nth(6)).not_to_have_text("-")
            await page.goto(stack["WEB_PORT"] + "/desk")
            await page.click("#logout")  # offline: later tests expect nobody to answer
            await expect(page.locator("#login-form")).to_be_visible()
        finally:
            await browser.close()
            await close_polling_client(citizen.sio)
