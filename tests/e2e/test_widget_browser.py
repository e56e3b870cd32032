"""The web widget in a real browser (Debian's chromium through Playwright) against the
whole running assistant: the demo portal page on the web app, Rasa's socket.io channel.

Screenshots go to test-artifacts/widget/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
import socketio
from aiohttp import web

from bot import settings
from web import templating, widget
from web.app import STATIC
from web.keys import SETTINGS_KEY, TEMPLATES_KEY

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "widget"
ANSWER_TIMEOUT = 30_000  # ms; a turn takes well under a second, but the machine is shared
SOCKET_URL = re.compile(r"/socket\.io/")
NETWORK_ERROR = re.compile(r"WebSocket|Failed to load resource|net::ERR_")


class Portal:
    """One citizen's browser tab on the demo portal, with the page's errors collected."""

    def __init__(self, browser, stack, **context_options):
        self.context = browser.new_context(locale="zh-CN", **context_options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.errors.append(message.text),
        )
        self.url = stack["WEB_PORT"] + "/"

    def goto(self):
        self.page.goto(self.url)
        expect(self.launcher).to_be_visible()
        return self

    @property
    def launcher(self):
        return self.page.get_by_role("button", name=re.compile("打开在线客服"))

    @property
    def dialog(self):
        return self.page.get_by_role("dialog", name="一网通办智能客服")

    @property
    def log(self):
        return self.page.get_by_role("log", name="对话记录")

    @property
    def textbox(self):
        return self.page.get_by_role("textbox", name="输入您的问题")

    @property
    def status(self):
        return self.dialog.get_by_role("status").first

    def open(self):
        self.launcher.click()
        expect(self.dialog).to_be_visible()
        expect(self.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)

    def say(self, text: str):
        self.textbox.fill(text)
        self.textbox.press("Enter")

    def expect_answer(self, *fragments: str):
        for fragment in fragments:
            expect(self.log).to_contain_text(fragment, timeout=ANSWER_TIMEOUT)
        expect(self.page.locator(".gw-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT)

    def shot(self, name: str):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self, network_errors_expected: bool = False):
        self.context.close()
        errors = [
            e for e in self.errors
            if not (network_errors_expected and NETWORK_ERROR.search(e))
        ]
        assert not errors, errors  # no script errors, no CSP violations


def test_ask_click_quick_reply_reload_and_continue(browser, stack):
    portal = Portal(browser, stack, viewport={"width": 1280, "height": 860}).goto()
    expect(portal.page).to_have_title(re.compile("一网通办"))
    portal.open()

    portal.say("居住证要什么材料")
    expect(portal.log.locator(".gw-user").last).to_have_text(re.compile("居住证要什么材料"))
    portal.expect_answer("上海市居住证申领", "居民身份证")

    portal.say("你好")
    portal.expect_answer("能不能网上办")
    greeting_buttons = portal.log.get_by_role("group", name="快捷回复")
    expect(greeting_buttons.get_by_role("button")).to_have_count(3)

    # An ambiguous name gets candidates as quick replies; the payload goes to Rasa,
    # the citizen sees the title.
    portal.say("社保卡要带什么材料")
    expect(greeting_buttons.get_by_role("button", name="转人工")).to_have_count(0)
    choice = portal.log.get_by_role("button", name="社会保障卡补换")
    expect(choice).to_be_visible(timeout=ANSWER_TIMEOUT)
    choice.click()
    expect(portal.log.locator(".gw-user .gw-bubble").last).to_have_text(re.compile("社会保障卡补换$"))
    portal.expect_answer("社会保障卡补换", "份")
    expect(portal.log.get_by_role("group", name="快捷回复")).to_have_count(0)
    expect(portal.textbox).to_be_focused()
    portal.shot("1-conversation")

    # Links in bot text are anchors to http(s) addresses, opening in a new tab, or the
    # 12345 hotline (tel:, the answer cards' 拨打12345).
    for link in portal.log.get_by_role("link").all():
        href = link.get_attribute("href")
        assert re.match(r"https?://|tel:12345$", href), href
        if href.startswith("http"):
            assert link.get_attribute("rel") == "noopener noreferrer"

    before = portal.log.inner_text()
    portal.page.reload()
    expect(portal.dialog).to_be_visible()  # it was open: it stays open
    expect(portal.log).to_contain_text("居民身份证")
    expect(portal.log).to_contain_text("社会保障卡补换")
    assert portal.log.inner_text() == before
    expect(portal.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)

    # The same Rasa conversation continues: a follow-up keeps the matter.
    portal.say("那要多久？")
    portal.expect_answer("工作日")
    last_bot = portal.log.locator(".gw-bot").last
    expect(last_bot).to_contain_text("社会保障卡补换")
    portal.shot("2-after-reload")
    portal.close()


def test_phone_gets_a_full_screen_chat(browser, stack):
    portal = Portal(
        browser, stack, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2,
    ).goto()
    portal.launcher.tap()
    expect(portal.dialog).to_be_visible()
    box = portal.dialog.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    expect(portal.launcher).to_be_hidden()  # the panel covers the page; 关闭 is in its header
    expect(portal.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)
    portal.say("驾驶证换证能网上办吗")
    portal.expect_answer("可以全程网办")
    link = portal.log.get_by_role("link", name="sh.122.gov.cn")  # a short label, not the URL
    expect(link).to_have_attribute("href", "https://sh.122.gov.cn/")
    expect(link).to_have_attribute("target", "_blank")
    font_size = portal.textbox.evaluate("el => getComputedStyle(el).fontSize")
    assert font_size == "16px"  # smaller and iOS zooms the page on focus
    portal.shot("3-phone")
    portal.dialog.get_by_role("button", name="关闭对话窗口").tap()
    expect(portal.dialog).to_be_hidden()
    expect(portal.launcher).to_be_visible()
    portal.close()


def focused_label(page) -> str:
    """The accessible label or text of the focused element, inside the widget's shadow root."""
    return page.evaluate(
        """() => {
            let el = document.activeElement;
            while (el && el.shadowRoot && el.shadowRoot.activeElement) {
                el = el.shadowRoot.activeElement;
            }
            return el ? (el.getAttribute('aria-label') || el.textContent || '').trim() : '';
        }"""
    )


def test_keyboard_only(browser, stack):
    portal = Portal(browser, stack, viewport={"width": 1280, "height": 860}).goto()
    page = portal.page
    for _ in range(80):  # through the portal's links to the widget's button
        page.keyboard.press("Tab")
        if focused_label(page) == "打开在线客服":
            break
    else:
        pytest.fail("the widget's button cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(portal.dialog).to_be_visible()
    assert focused_label(page) == "输入您的问题"  # focus moves into the chat
    expect(portal.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)

    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")  # a new line, not a send
    page.keyboard.type("第二行")
    assert portal.textbox.input_value() == "第一行\n第二行"
    page.keyboard.press("Control+A")
    page.keyboard.type("社保卡要带什么材料")
    page.keyboard.press("Enter")
    expect(portal.log.get_by_role("button", name="社会保障卡申领")).to_be_visible(
        timeout=ANSWER_TIMEOUT
    )
    for _ in range(10):  # back from the text box to the quick replies
        page.keyboard.press("Shift+Tab")
        if focused_label(page) == "社会保障卡申领":
            break
    else:
        pytest.fail("the quick replies cannot be reached with Shift+Tab")
    page.keyboard.press("Enter")
    portal.expect_answer("社会保障卡申领", "份")
    assert focused_label(page) == "输入您的问题"

    page.keyboard.press("Escape")
    expect(portal.dialog).to_be_hidden()
    assert focused_label(page) == "打开在线客服"  # focus returns to the button
    portal.close()


def test_reconnects_after_a_network_drop_and_sends_what_was_typed(browser, stack):
    portal = Portal(browser, stack, viewport={"width": 1280, "height": 860})
    network = {"down": False, "sockets": []}

    def websocket(ws):
        if network["down"]:
            ws.close()
            return
        server = ws.connect_to_server()
        network["sockets"].append((ws, server))

    portal.page.route_web_socket(SOCKET_URL, websocket)
    # with the WebSocket refused the client falls back to long-polling: refuse that too
    portal.page.route(
        SOCKET_URL, lambda route: route.abort() if network["down"] else route.continue_()
    )
    portal.goto()
    portal.open()
    portal.say("你好")
    portal.expect_answer("能不能网上办")

    network["down"] = True
    for ws, server in network["sockets"]:
        server.close()
        ws.close()
    expect(portal.status).to_have_text("重新连接中…", timeout=ANSWER_TIMEOUT)
    portal.say("居住证要什么材料")
    pending = portal.log.locator(".gw-user").last
    expect(pending).to_contain_text("等待连接后发送")
    portal.shot("4-reconnecting")

    network["down"] = False
    expect(portal.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)
    portal.expect_answer("居民身份证")
    expect(pending).not_to_contain_text("等待连接后发送")
    assert portal.log.inner_text().count("居住证要什么材料") == 1  # sent once, shown once
    portal.shot("5-reconnected")
    portal.close(network_errors_expected=True)


# A network whose proxy refuses WebSockets: every handshake fails before it opens.
BLOCKED_WEBSOCKETS = """
window.WebSocket = class BlockedWebSocket {
  constructor() {
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      if (this.onerror) this.onerror(new Event('error'));
      if (this.onclose) this.onclose({ code: 1006, reason: '', wasClean: false });
    }, 20);
  }
  send() {}
  close() {}
};
"""


def test_works_over_long_polling_where_websockets_are_blocked(browser, stack):
    """Some networks (proxies) block WebSockets: the widget falls back to long-polling,
    which crosses origins (:8800 → Rasa) with the CORS headers Rasa's --cors gives."""
    portal = Portal(browser, stack, viewport={"width": 1280, "height": 860})
    portal.page.add_init_script(BLOCKED_WEBSOCKETS)
    polled = []
    portal.page.on("request", lambda r: "transport=polling" in r.url and polled.append(r.url))
    portal.goto()
    portal.open()
    portal.say("居住证要什么材料")
    portal.expect_answer("居民身份证")
    assert polled
    portal.close(network_errors_expected=True)


# ---------------------------------------------------------------------------------------
# Rendering of what the bot (or, later, an agent) sends, against a scripted socket.io
# server that speaks Rasa's channel protocol: no Rasa needed, every message shape possible.

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101002d4d0b1c0000000049454e44ae426082"
)


class ScriptedRasa:
    """A python-socketio server (the library Rasa uses) and the web app's widget routes,
    in a thread with its own event loop; `replies` maps a user message to bot messages."""

    def __init__(self):
        self.replies: dict[str, list] = {}
        self.received: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _start(self):
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        rasa = web.Application()
        self.sio.attach(rasa)

        @self.sio.on("session_request")
        async def session_request(sid, data):
            session_id = (data or {}).get("session_id") or uuid.uuid4().hex
            await self.sio.enter_room(sid, session_id)
            await self.sio.emit("session_confirm", session_id, room=sid)

        @self.sio.on("user_uttered")
        async def user_uttered(sid, data):
            self.received.append(data)
            for reply in self.replies.get(data["message"], []):
                await self.sio.emit("bot_uttered", reply, room=data["session_id"])
            return {"status": "ok"}

        self.runners = []
        self.rasa_url = await self._serve(rasa)
        portal = web.Application()  # the web app's portal page, pointed at this Rasa
        portal[SETTINGS_KEY] = dataclasses.replace(settings.load_web(),
                                                   rasa_public_url=self.rasa_url)
        portal[TEMPLATES_KEY] = templating.environment()
        widget.register(portal)
        portal.router.add_static("/static/", STATIC)
        portal.router.add_get(
            "/test-image.png", lambda _: web.Response(body=PNG_1X1, content_type="image/png")
        )
        self.portal_url = await self._serve(portal)

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self):
        self.thread.start()
        self.run(self._start())

    def push(self, session_id: str, message: dict):
        """A message nobody asked for, as the handoff will deliver an agent's."""
        self.run(self.sio.emit("bot_uttered", message, room=session_id))

    def stop(self):
        async def cleanup():
            for runner in self.runners:
                await runner.cleanup()

        self.run(cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def scripted():
    server = ScriptedRasa()
    server.start()
    yield server
    server.stop()


def test_bot_messages_are_rendered_safely(browser, scripted):
    image = scripted.portal_url + "/test-image.png"
    scripted.replies["给我看看"] = [
        {"text": "<img src=x onerror=alert(1)>指南见 https://zwdt.sh.gov.cn/guide?id=1。"
                 "另见[官方网站](https://www.gov.cn/)，[坏链接](javascript:alert(2)) javascript:alert(3)"},
        {"attachment": {"type": "image", "payload": {"src": image}}},
        {"attachment": {"type": "image", "payload": {"src": "javascript:alert(4)"}}},
        {"text": "您好，我是人工客服小王", "metadata": {"agent_name": "小王"}},
        {"text": "请选择", "quick_replies": [
            {"content_type": "text", "title": "<b>粗体</b>", "payload": '/choose{"x": 1}'}]},
    ]
    portal = Portal(
        browser, {"WEB_PORT": scripted.portal_url}, viewport={"width": 1280, "height": 860}
    )
    alerts = []
    portal.page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    portal.goto()
    portal.open()
    portal.say("给我看看")
    expect(portal.log).to_contain_text("请选择", timeout=ANSWER_TIMEOUT)

    expect(portal.log).to_contain_text("<img src=x onerror=alert(1)>指南见")  # text, not markup
    links = {a.inner_text(): a.get_attribute("href") for a in portal.log.get_by_role("link").all()}
    assert links == {
        "zwdt.sh.gov.cn": "https://zwdt.sh.gov.cn/guide?id=1",  # a bare URL by its host
        "官方网站": "https://www.gov.cn/",
        "": image,  # the picture, opening full size
    }
    expect(portal.log.get_by_role("img", name="客服发送的图片")).to_have_attribute("src", image)
    expect(portal.log.get_by_role("img")).to_have_count(1)
    expect(portal.log).to_contain_text("（此消息暂不支持显示）")  # the javascript: image
    expect(portal.log).to_contain_text("人工客服 · 小王")

    portal.log.get_by_role("button", name="<b>粗体</b>").click()
    expect(portal.log.locator(".gw-user").last).to_contain_text("<b>粗体</b>")
    deadline = time.monotonic() + 10
    while len(scripted.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scripted.received[-1]["message"] == '/choose{"x": 1}'  # the payload, not the title
    session_id = scripted.received[-1]["session_id"]

    # A message arriving while the window is closed marks the button.
    portal.page.keyboard.press("Escape")
    scripted.push(session_id, {"text": "人工客服已接入", "metadata": {"agent_name": "小王"}})
    expect(portal.page.get_by_role("button", name="打开在线客服（有新消息）")).to_be_visible()
    portal.shot("6-unread")
    portal.page.get_by_role("button", name="打开在线客服（有新消息）").click()
    expect(portal.log).to_contain_text("人工客服已接入")
    portal.shot("7-rendering")
    assert not alerts
    portal.close()
