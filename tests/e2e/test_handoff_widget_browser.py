"""The whole handoff loop in two browsers: a citizen in the web widget on the demo portal
and an agent in the desk, both in Debian's chromium (Playwright). Screenshots of both
sides go to test-artifacts/widget/.
"""
from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.test_widget_browser import ANSWER_TIMEOUT, ARTIFACTS, Portal

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow


class Desk:
    """An agent's browser on the desk page."""

    def __init__(self, browser, stack, name: str, password: str) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.page.goto(stack["WEB_PORT"] + "/desk")
        self.page.fill("#login-name", name)
        self.page.fill("#login-password", password)
        self.page.click("#login-submit")
        expect(self.page.locator("#whoami")).to_contain_text(name)

    def close(self) -> None:
        self.page.click("#logout")  # offline: later tests expect nobody to answer
        expect(self.page.locator("#login-form")).to_be_visible()
        self.context.close()


def test_citizen_in_widget_and_agent_in_desk(browser, stack):
    citizen = Portal(browser, stack, viewport={"width": 1280, "height": 860}).goto()
    citizen.open()
    desk = Desk(browser, stack, "agent1", "agent1-pass")
    try:
        marker = "zz" + uuid.uuid4().hex[:6]  # not six digits: those are masked as codes
        citizen.say("居住证要什么材料")
        citizen.expect_answer("上海市居住证申领")
        citizen.say(f"我想找人工问一下，我的编号{marker}")
        citizen.say("转人工")
        citizen.expect_answer("转接人工客服")

        item = desk.page.locator(".queue-item", has_text="上海市居住证申领").filter(
            has_text=re.compile("网页|socketio"))
        expect(item.first).to_be_visible(timeout=ANSWER_TIMEOUT)
        item.first.locator("button.accept").click()
        citizen.expect_answer("已为您接入")

        # While paused the citizen's words reach the agent, not the bot.
        citizen.say("我的居住证什么时候能好？")
        expect(desk.page.locator(".msg.citizen", has_text="什么时候能好")).to_be_visible(
            timeout=ANSWER_TIMEOUT)
        desk.page.fill("#reply-text", "您好，您的居住证已制证完成，3个工作日内寄出。")
        desk.page.click("#reply-send")
        citizen.expect_answer("3个工作日内寄出")
        # The widget labels the agent's messages with the agent's name.
        expect(citizen.log.locator(".gw-sender", has_text="agent1").last).to_be_visible()
        citizen.shot("handoff-1-citizen-with-agent")
        desk.page.screenshot(path=str(ARTIFACTS / "handoff-1-desk.png"))

        desk.page.click("#end")
        citizen.expect_answer("满意吗")
        ratings = citizen.log.get_by_role("group", name="快捷回复").last
        expect(ratings.get_by_role("button")).to_have_count(5)
        ratings.get_by_role("button", name="5分").click()
        citizen.expect_answer("感谢您的评价")

        # The bot answers again, in the same conversation.
        citizen.say("居住证要多久")
        citizen.expect_answer("工作日")
        citizen.shot("handoff-2-citizen-back-to-bot")
    finally:
        desk.close()
        citizen.close()
