"""Waiting for a person in the web widget, in Debian's chromium (Playwright), against the
whole running assistant: the queue bar with the place in line and 取消, the delivered
mark on what the citizen writes while waiting, the header saying who answers, an agent's
messages set apart, and what the widget says when Rasa cannot be reached. The agent acts
through the desk's HTTP API. Screenshots at desktop and phone sizes go to
test-artifacts/widget/ (issue 15).
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.request

import pytest

from tests.accessibility import serious_violations
from tests.e2e.test_widget_browser import ANSWER_TIMEOUT, ARTIFACTS, Portal

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


class DeskAPI:
    """An agent signed in to the desk's HTTP API (cookie session and CSRF header)."""

    def __init__(self, stack, name: str, password: str) -> None:
        self.base = stack["WEB_PORT"]
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""
        self.csrf = self.call("POST", "/desk/api/login", {"name": name, "password": password})["csrf"]

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf})
        with self.opener.open(request, timeout=15) as response:
            return json.loads(response.read().decode("utf-8"))

    def online(self, on: bool = True) -> None:
        self.call("POST", "/desk/api/presence", {"online": on})

    def waiting(self):
        return self.call("GET", "/desk/api/queue")["queue"]


def wait_for(condition, page, timeout_ms: int = ANSWER_TIMEOUT):
    """Polls `condition` (no browser state needed) while the page stays alive."""
    for _ in range(timeout_ms // 250):
        found = condition()
        if found:
            return found
        page.wait_for_timeout(250)
    raise AssertionError("not within the time")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_waiting_for_a_person_in_the_widget(browser, stack, size):
    agent = DeskAPI(stack, "agent1", "agent1-pass")
    agent.online()
    # bypass_csp: axe adds inline styles while it checks (the CSP is tested elsewhere)
    citizen = Portal(browser, stack, bypass_csp=True, **(PHONE if size == "phone" else DESKTOP)).goto()
    try:
        citizen.open()
        before = {item["id"] for item in agent.waiting()}
        citizen.say("转人工")
        citizen.expect_answer("转接人工客服")
        bar = citizen.dialog.locator(".gw-queue")
        expect(bar).to_be_visible(timeout=ANSWER_TIMEOUT)
        expect(bar).to_contain_text("排队等待人工")
        expect(citizen.status).to_have_text("排队等待人工")
        expect(bar.get_by_role("button", name="取消排队")).to_be_visible()

        # What the citizen writes while waiting is marked as delivered to the agents.
        citizen.say("我想问居住证续签要不要本人到场")
        expect(citizen.log.locator(".gw-user").last.locator(".gw-delivery")).to_contain_text(
            "已转给工作人员", timeout=ANSWER_TIMEOUT)
        citizen.shot(f"waiting-1-queue-{size}")
        assert serious_violations(citizen.page, ARTIFACTS / f"axe-waiting-{size}.json") == []
        if size == "phone":  # the panel covers the page: a modal dialog, Tab stays inside
            expect(citizen.dialog).to_have_attribute("aria-modal", "true")
            for _ in range(12):
                citizen.page.keyboard.press("Tab")
            inside = citizen.page.evaluate(
                "() => document.activeElement && document.activeElement.tagName")
            assert inside == "DIV"  # the widget's host element holds the focus, not the page

        mine = wait_for(lambda: [i for i in agent.waiting() if i["id"] not in before], citizen.page)
        agent.call("POST", f"/desk/api/handoffs/{mine[0]['id']}/accept", {})
        citizen.expect_answer("已为您接入")
        expect(bar).to_be_hidden(timeout=ANSWER_TIMEOUT)
        expect(citizen.status).to_have_text("人工客服接待中")
        agent.call("POST", f"/desk/api/handoffs/{mine[0]['id']}/reply",
                   {"text": "您好，续签可以在随申办上办，不用本人到场。"})
        citizen.expect_answer("不用本人到场")
        expect(citizen.log.locator(".gw-from-agent").last).to_contain_text("不用本人到场")
        expect(citizen.log.locator(".gw-time").last).to_have_text(re.compile(r"\d{2}:\d{2}"))
        citizen.shot(f"waiting-2-with-agent-{size}")
        agent.call("POST", f"/desk/api/handoffs/{mine[0]['id']}/end", {})
        citizen.expect_answer("满意吗")
        expect(citizen.status).to_have_text("在线", timeout=ANSWER_TIMEOUT)
    finally:
        agent.online(False)
        citizen.close()


def test_cancel_the_wait_with_the_button(browser, stack):
    agent = DeskAPI(stack, "agent2", "agent2-pass")
    agent.online()
    citizen = Portal(browser, stack, **DESKTOP).goto()
    try:
        citizen.open()
        citizen.say("我要找人工客服")
        citizen.expect_answer("转接人工客服")
        bar = citizen.dialog.locator(".gw-queue")
        expect(bar).to_be_visible(timeout=ANSWER_TIMEOUT)
        bar.get_by_role("button", name="取消排队").click()
        citizen.expect_answer("已取消排队")
        expect(bar).to_be_hidden(timeout=ANSWER_TIMEOUT)
        citizen.say("居住证要多久")  # the bot answers again
        citizen.expect_answer("工作日")
    finally:
        agent.online(False)
        citizen.close()


def test_unreachable_says_what_else_to_do(browser, stack, tmp_path):
    """Before, '重新连接中…' forever, with no 12345."""
    citizen = Portal(browser, stack, **PHONE)

    def unreachable_rasa(route):
        # the portal page as served, but its widget tag points at a port nobody listens on
        page = route.fetch().text()
        route.fulfill(body=re.sub(r'data-rasa-url="[^"]*"', 'data-rasa-url="http://127.0.0.1:9"',
                                  page), headers={"Content-Type": "text/html; charset=utf-8"})

    citizen.page.route(citizen.url, unreachable_rasa)
    citizen.goto()
    try:
        citizen.launcher.click()
        citizen.say("居住证要什么材料")
        notice = citizen.dialog.locator(".gw-offline")
        expect(notice).to_be_visible(timeout=40_000)
        expect(notice.get_by_role("link", name="12345")).to_have_attribute("href", "tel:12345")
        expect(citizen.log.locator(".gw-user").last).to_contain_text("等待连接后发送")
        citizen.shot("waiting-3-unreachable-phone")
    finally:
        citizen.close(network_errors_expected=True)


def test_the_welcome_suggests_questions(browser, stack):
    """Before, the welcome was a dead end: nothing to tap."""
    citizen = Portal(browser, stack, **PHONE).goto()
    try:
        citizen.open()
        suggestions = citizen.log.get_by_role("group", name="可以这样问")
        expect(suggestions.get_by_role("button")).to_have_count(4)
        suggestions.get_by_role("button", name="居住证要带什么材料").click()
        citizen.expect_answer("上海市居住证申领")
        expect(suggestions).to_have_count(0)
        citizen.shot("welcome-suggestion-answered-phone")
    finally:
        citizen.close()
