"""The 12345 work order cycle in Debian's chromium (Playwright) on the running stack
(issue 16): an order registered through the desk's internal API is classified and
dispatched by an agent on /desk/orders, answered by the department's user (who sees only
its own orders), called back and closed; an overdue order is marked in words and found by
the overdue filter. Screenshots at 1280×800 and 375×740 go to test-artifacts/orders/,
with axe-core's report beside them (no serious or critical violation on /desk/orders)."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bot.handoff.auth import hash_password
from bot.handoff.order_records import cycles, for_engine
from bot.handoff.records import Records
from tests.accessibility import serious_violations
from tests.stack import CREDENTIALS

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "orders"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


def register(stack, message: str) -> str:
    """A work order as the action server registers one (the stack's service token)."""
    body = {"conversation_id": f"orders-{uuid.uuid4().hex[:8]}", "channel": "rest",
            "kind": "complaint", "message": message, "callback_phone": "13900002222"}
    request = urllib.request.Request(
        stack["WEB_PORT"] + "/desk/internal/work_orders", data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {CREDENTIALS['HANDOFF_SERVICE_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["number"]


def department_user(stack) -> None:
    """dept1 of 市交通委: the development seed makes it in a fresh database; a database
    whose accounts were made before it existed gets it here."""
    records = Records.open(stack["database_url"])
    if records.agent("dept1") is None:
        records.add_agent("dept1", "department", hash_password("dept1-pass"))
    for_engine(records.engine).set_department("dept1", "市交通委")


class OrdersPage:
    def __init__(self, browser, stack, name: str, viewport=DESKTOP) -> None:
        # bypass_csp: axe is injected as a script (the CSP is tested in tests/web/desk)
        self.context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
        self.page = self.context.new_page()
        self.errors: list = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(stack["WEB_PORT"] + "/desk/orders")
        self.page.fill("#orders-login-name", name)
        self.page.fill("#orders-login-password", f"{name}-pass")
        self.page.click("#orders-login-form button[type=submit]")
        expect(self.page.locator("#orders-whoami")).to_contain_text(name)

    def open(self, number: str) -> None:
        self.page.locator(f"#orders-list button[data-number='{number}']").click()
        expect(self.page.locator("#order-title")).to_contain_text(number)

    def step(self, action: str, fill=None) -> None:
        form = self.page.locator(f"#order-actions form[data-action='{action}']")
        if fill:
            fill(form)
        form.locator("button[type=submit]").click()
        expect(self.page.locator("#order-result")).to_contain_text("已")

    def shot(self, name: str, full: bool = True) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)

    def accessible(self, name: str) -> None:
        found = serious_violations(self.page, report=ARTIFACTS / f"axe-{name}.json")
        assert not found, "\n".join(found)

    def close(self) -> None:
        assert not self.errors, self.errors
        self.page.click("#orders-logout")
        expect(self.page.locator("#orders-login-form")).to_be_visible()
        self.context.close()


def test_an_order_through_the_whole_cycle_in_the_browser(browser, stack):
    department_user(stack)
    number = register(stack, "71路公交司机拒载，还态度恶劣")
    late = register(stack, "地铁站电梯坏了一周")
    agent = OrdersPage(browser, stack, "agent1")
    try:
        page = agent.page
        item = page.locator(f"#orders-list button[data-number='{number}']")
        expect(item).to_contain_text("受理")
        expect(item).to_contain_text("建议：交通运输")
        agent.open(number)
        expect(page.locator("#order-facts")).to_contain_text("139****2222")
        expect(page.locator("#order-history")).to_contain_text("建议分类：交通运输")
        agent.shot("1-registered-1280")
        agent.accessible("registered-1280")
        agent.step("classify")  # the bot's suggestion, confirmed
        expect(page.locator("#order-title")).to_contain_text("分类")
        agent.step("dispatch")
        expect(page.locator("#order-facts")).to_contain_text("市交通委")
        expect(page.locator("#order-facts")).to_contain_text("24:00前")  # the city's day's end
        expect(page.locator("#order-actions form[data-action='feedback']")).to_have_count(0)

        # The second order is dispatched and its deadline has passed.
        agent.open(late)
        agent.step("classify", lambda form: form.locator("select").select_option("transport"))
        agent.step("dispatch")
        with Records.open(stack["database_url"]).engine.begin() as conn:
            conn.execute(cycles.update().where(cycles.c.number == late)
                         .values(due_at=time.time() - 3600))
        page.check("#filter-overdue")
        page.click("#orders-filters button[type=submit]")
        expect(page.locator("#orders-list li")).to_have_count(1)
        expect(page.locator(f"#orders-list button[data-number='{late}']")).to_contain_text("已超期")
        agent.open(late)
        expect(page.locator("#order-overdue")).to_contain_text("已超期")
        agent.shot("2-overdue-1280")
        agent.accessible("overdue-1280")
        page.uncheck("#filter-overdue")
        page.click("#orders-filters button[type=submit]")
    finally:
        agent.close()

    dept = OrdersPage(browser, stack, "dept1", viewport=PHONE)
    try:
        page = dept.page
        expect(page.locator("#orders-desk-link")).to_be_hidden()
        expect(page.locator("#filter-department-label")).to_be_hidden()
        expect(page.locator(f"#orders-list button[data-number='{number}']")).to_be_visible()
        dept.open(number)
        expect(page.locator("#order-facts")).not_to_contain_text("139****2222")
        dept.shot("3-department-375")
        dept.accessible("department-375")
        dept.step("feedback", lambda form: form.locator("textarea").fill("已约谈驾驶员，扣除当月考核分"))
        expect(page.locator("#order-title")).to_contain_text("反馈")
        expect(page.locator("#order-no-actions")).to_be_visible()
    finally:
        dept.close()

    agent = OrdersPage(browser, stack, "agent1", viewport=PHONE)
    try:
        page = agent.page
        agent.open(number)

        def callback(form):
            form.locator("input[value=yes]").check()
            form.locator("select[name=rating]").select_option("5")
        agent.step("callback", callback)
        expect(page.locator("#order-title")).to_contain_text("回访")
        agent.step("close")
        expect(page.locator("#order-title")).to_contain_text("办结")
        history = page.locator("#order-history li")
        expect(history).to_have_count(6)
        expect(page.locator("#order-history")).to_contain_text("dept1")
        agent.shot("4-closed-375")
        agent.accessible("closed-375")
        page.set_viewport_size(DESKTOP)
        agent.shot("5-closed-1280")
    finally:
        agent.close()
