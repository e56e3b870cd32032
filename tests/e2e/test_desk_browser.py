"""The agent desk for a hotline's load (issue 16) in Debian's chromium (Playwright),
against the running stack: a REST citizen presses a button and asks for a person; the
agent's inbox labels the chat, the conversation shows the button's title and the buttons
offered, timestamps and 显示号码 on every masked message; canned answers are searched
with "/" and inserted at the cursor; tags and notes; the open chat survives a reload; the
supervisor is not online by default, watches on the wallboard and takes the chat over
(the citizen is told). Screenshots at 1280×800 and 375×740 go to test-artifacts/desk/,
with axe-core's report beside them (no serious or critical violation on /desk and
/desk/supervisor)."""
from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.accessibility import serious_violations
from tests.stack import rasa_api, rest_conversation

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "desk"
TIMEOUT = 30_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


def say(stack, sender: str, text: str) -> list:
    request = urllib.request.Request(
        stack["RASA_PORT"] + "/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def bot_texts(stack, sender: str) -> list:
    tracker = rasa_api(stack, f"/conversations/{rest_conversation(sender)}/tracker")
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "bot"]


def wait_for_bot(stack, sender: str, fragment: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(fragment in t for t in bot_texts(stack, sender)):
            return
        time.sleep(0.5)
    raise AssertionError(f"no bot message with {fragment!r}: {bot_texts(stack, sender)}")


class Desk:
    def __init__(self, browser, stack, name: str, viewport=DESKTOP) -> None:
        # bypass_csp: axe is injected as a script (the CSP is tested in tests/web/desk)
        self.context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
        self.page = self.context.new_page()
        self.errors: list = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.stack = stack
        self.page.goto(stack["WEB_PORT"] + "/desk")
        self.page.fill("#login-name", name)
        self.page.fill("#login-password", f"{name}-pass")
        self.page.click("#login-submit")
        expect(self.page.locator("#whoami")).to_contain_text(name)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def accessible(self, name: str) -> None:
        found = serious_violations(self.page, report=ARTIFACTS / f"axe-{name}.json")
        assert not found, "\n".join(found)

    def close(self) -> None:
        if self.page.url.endswith("/desk/supervisor"):
            self.page.goto(self.stack["WEB_PORT"] + "/desk")
        self.page.click("#logout")  # offline: later tests expect nobody to answer
        expect(self.page.locator("#login-form")).to_be_visible()
        self.context.close()


def test_desk_inbox_conversation_tools_and_supervisor(browser, stack):
    agent = Desk(browser, stack, "agent1")
    boss = None
    sender = f"desk-{uuid.uuid4().hex[:8]}"
    short = sender[-4:]
    try:
        page = agent.page
        expect(page.locator("#online-toggle")).to_be_checked()  # agents take chats by default
        expect(page.locator("#online-agents")).to_contain_text("agent1")

        # The citizen chooses among the bot's buttons, then asks for a person.
        answer = say(stack, sender, "社保卡要带什么")
        buttons = next(m["buttons"] for m in answer if m.get("buttons"))
        chosen = next(b for b in buttons if "补" in b["title"])
        say(stack, sender, chosen["payload"])
        say(stack, sender, "转人工")
        wait_for_bot(stack, sender, "转接人工客服")

        item = page.locator(".queue-item", has_text=short)
        expect(item).to_be_visible(timeout=TIMEOUT)
        expect(item).to_contain_text("网页接口")  # the channel in words, not "rest"
        expect(item).to_contain_text("已等待")
        expect(item).not_to_contain_text("意图")
        expect(page.locator("#tab-queue .count")).not_to_have_text("0")
        agent.shot("1-inbox-queue-1280")
        item.locator("button.accept").click()
        wait_for_bot(stack, sender, "已为您接入")

        # The conversation: the button's title (not /ask_materials{…}), the buttons offered,
        # timestamps; the chat in 我的会话 with its short label.
        expect(page.locator("#tab-mine")).to_have_attribute("aria-selected", "true")
        expect(page.locator(".mine-item", has_text=short)).to_be_visible()
        pressed = page.locator(".msg.citizen.pressed", has_text=chosen["title"])
        expect(pressed).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#messages")).not_to_contain_text("/ask_")
        expect(page.locator(".msg.bot .offered li", has_text=chosen["title"]).first).to_be_visible()
        expect(page.locator(".msg time").first).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))

        # 显示号码 on every masked message, not only the newest.
        say(stack, sender, "我电话13812345678")
        say(stack, sender, "备用电话13900001111")
        older = page.locator(".msg.citizen", has_text="138****5678")
        expect(page.locator(".msg.citizen", has_text="139****1111")).to_be_visible(timeout=TIMEOUT)
        older_id = older.get_attribute("data-id")
        older.locator("button.reveal").click()
        older = page.locator(f".msg.citizen[data-id='{older_id}']")
        expect(older).to_contain_text("13812345678")

        # Canned answers: "/" opens the search; the answer goes in at the cursor.
        box = page.locator("#reply-text")
        box.fill("您好，")
        box.press("End")
        box.type("/")
        expect(page.locator("#canned-panel")).to_be_visible()
        page.locator("#canned-search").type("稍等")
        page.locator("#canned-search").press("Enter")
        expect(box).to_have_value("您好，好的，我帮您查一下，请稍等一两分钟。")
        page.click("#reply-send")
        wait_for_bot(stack, sender, "请稍等一两分钟")

        # A matter's short answer from the catalog, inserted at the cursor.
        page.fill("#search", "居住证")
        page.press("#search", "Enter")
        page.locator("#search-results li", has_text="居住证").first.locator("button.insert-answer").click()
        expect(box).to_have_value(re.compile("「.*居住证.*」.*/guide/"))
        box.fill("")

        # Wrap-up tags and an internal note (never sent to the citizen).
        page.locator("#tags .chip", has_text="已解答").click()
        expect(page.locator("#tags .chip.on", has_text="已解答")).to_be_visible()
        page.fill("#note-text", "市民要补办社保卡，已告知材料")
        page.click("#note-form button[type=submit]")
        expect(page.locator("#notes")).to_contain_text("已告知材料")
        expect(page.locator("#transfer-to option", has_text="退回队列")).to_have_count(1)
        expect(page.locator("#transfer-to")).to_contain_text("暂无其他在线坐席")
        agent.shot("2-conversation-1280")
        agent.accessible("desk-1280")

        # A reload keeps the open chat.
        page.reload()
        expect(page.locator("#conversation-title")).to_contain_text(short, timeout=TIMEOUT)
        expect(page.locator(".msg.agent", has_text="请稍等一两分钟")).to_be_visible()

        # The phone-sized desk, the chat open.
        page.set_viewport_size(PHONE)
        page.locator("#conversation").scroll_into_view_if_needed()
        agent.shot("5-desk-375")
        agent.accessible("desk-375")
        page.set_viewport_size(DESKTOP)

        # The supervisor: not online until they switch 接待 on; the wallboard shows the
        # chat with its agent; watch it, then take it over.
        boss = Desk(browser, stack, "supervisor1")
        expect(boss.page.locator("#online-toggle")).not_to_be_checked()
        expect(boss.page.locator("#online-agents")).not_to_contain_text("supervisor1")
        boss.page.click("#supervisor-link")
        live = boss.page.locator("#live tr", has_text=short)
        expect(live).to_contain_text("agent1", timeout=TIMEOUT)
        expect(boss.page.locator("#agents")).to_contain_text("agent1")
        expect(boss.page.locator("#agent-names")).not_to_contain_text("supervisor1")
        live.get_by_role("button", name="旁听").click()
        expect(boss.page.locator("#watch-messages")).to_contain_text(chosen["title"])
        expect(boss.page.locator("#reveals")).to_contain_text("agent1")
        expect(boss.page.locator("#reveals")).to_contain_text(f"…{short}")
        boss.shot("3-wallboard-1280")
        boss.accessible("supervisor-1280")
        boss.page.set_viewport_size(PHONE)
        boss.shot("4-wallboard-375")
        boss.accessible("supervisor-375")
        boss.page.set_viewport_size(DESKTOP)
        boss.page.locator("#watch-take-over").click()
        expect(boss.page).to_have_url(re.compile(r"/desk#h=\d+"))
        expect(boss.page.locator("#reply-form")).to_be_visible(timeout=TIMEOUT)
        wait_for_bot(stack, sender, "值班班长")
        expect(page.locator(".mine-item", has_text=short)).to_have_count(0, timeout=TIMEOUT)
        # the agent is told in the page, and the chat closes
        expect(page.locator("#desk-alert")).to_contain_text("不在您这里", timeout=TIMEOUT)
        expect(page.locator("#reply-form")).to_be_hidden()
        agent.shot("6-desk-after-take-over-1280")
        boss.page.click("#end")
        wait_for_bot(stack, sender, "满意吗")
        assert not agent.errors and not boss.errors, agent.errors + boss.errors
    finally:
        if boss is not None:
            boss.close()
        agent.close()
