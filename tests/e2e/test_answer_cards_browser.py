"""Matter cards in the web widget (issue 15), in Debian's chromium through Playwright:
against the whole running assistant (ask, read the card from its title, follow a chip,
the guide and hotline links, desktop and phone, axe), and against a scripted socket.io
server for what a card may not do (markup, javascript: links).

Screenshots and axe reports go to test-artifacts/cards/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog.cards import materials_card
from tests.accessibility import serious_violations
from tests.e2e.test_widget_browser import ANSWER_TIMEOUT, Portal, ScriptedRasa

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "cards"
WIDGET = "#govbot-widget"
QUESTION = "居住证要带什么材料"
CODE = "SH-P-001"


def shot(portal: Portal, name: str) -> None:
    portal.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def card_of(portal: Portal):
    return portal.log.locator(".gw-card").last


def title_is_in_view(portal: Portal, title) -> None:
    """The top of the answer (a card's title) is inside the transcript's visible area,
    not scrolled away above it."""
    expect(title).to_be_in_viewport()
    box = title.bounding_box()
    view = portal.page.locator(".gw-scroll").bounding_box()
    assert view["y"] - 1 <= box["y"] <= view["y"] + view["height"] - 16, (box, view)


def no_serious_violations(portal: Portal, name: str) -> None:
    found = serious_violations(portal.page, report=ARTIFACTS / f"axe-{name}.json", context=WIDGET)
    assert found == [], found


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_materials_card_in_the_widget(browser, stack, size):
    desktop = size == "desktop"
    viewport = {"width": 1280, "height": 800} if desktop else {"width": 375, "height": 740}
    extra = {} if desktop else {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    # bypass_csp: axe is injected as an inline script (the CSP itself is checked by
    # tests/e2e/test_widget_browser.py)
    portal = Portal(browser, stack, viewport=viewport, bypass_csp=True, **extra).goto()
    portal.open()
    portal.say("你好")  # something above the answer, so scrolling matters
    portal.expect_answer("能不能网上办")
    portal.say(QUESTION)
    card = card_of(portal)
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT)
    title = card.get_by_role("heading", name=re.compile("办理「上海市居住证申领」需要准备4项材料"))
    expect(title).to_be_visible()
    expect(portal.page.locator(".gw-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT)
    title_is_in_view(portal, title)  # the answer is read from its top, not its end

    checklist = card.get_by_role("list", name="材料清单")
    first = checklist.get_by_role("listitem").first
    expect(first).to_contain_text("免提交")
    expect(first).to_contain_text("居民身份证")
    expect(first.locator(".gw-tag")).to_have_text("免提交")  # a word, not only a colour
    expect(checklist.locator(".gw-tag", has_text="需提交")).to_have_count(2)

    # situations collapsed, opening on click
    rent = card.locator("details", has=portal.page.locator("summary", has_text="租赁居住"))
    expect(rent).not_to_have_attribute("open", "")
    expect(card.get_by_text("房屋租赁合同", exact=True)).to_be_hidden()
    rent.locator("summary").click()
    expect(card.get_by_text("房屋租赁合同", exact=True)).to_be_visible()

    facts = card.locator("dl.gw-facts")
    expect(facts).to_contain_text("办理时限")
    expect(facts).to_contain_text("承诺10个工作日")

    guide = card.get_by_role("link", name="查看指南")
    expect(guide).to_have_attribute("href", stack["WEB_PORT"] + f"/guide/{CODE}")
    expect(guide).to_have_attribute("target", "_blank")
    expect(card.get_by_role("link", name="去办理")).to_have_attribute(
        "href", re.compile(r"^https://"))
    expect(card.get_by_role("link", name="拨打12345")).to_have_attribute("href", "tel:12345")
    shot(portal, f"1-card-{size}")
    no_serious_violations(portal, size)

    # a chip sends its question, shows its title, and gets the answer
    chip = card.get_by_role("group", name="接着问").get_by_role("button", name="要多久")
    chip.click()
    expect(portal.log.locator(".gw-user .gw-bubble").last).to_have_text(re.compile("要多久$"))
    portal.expect_answer("法定办结时限")
    expect(portal.log.locator(".gw-bot").last).to_contain_text("上海市居住证申领")
    shot(portal, f"2-chip-answer-{size}")

    # 12345 in any text is a tel: link, addresses get a short label
    portal.say("帮我订一张明天去北京的机票")
    hotline = portal.log.locator(".gw-bot").last.get_by_role("link", name="12345")
    expect(hotline).to_have_attribute("href", "tel:12345", timeout=ANSWER_TIMEOUT)

    # a bare matter name: the overview card, its questions as chips (not quick replies too)
    portal.say("护照")
    overview = portal.log.locator(".gw-bot").last.locator(".gw-card")
    expect(overview.get_by_role("heading")).to_have_text("「普通护照申请」", timeout=ANSWER_TIMEOUT)
    expect(overview.get_by_role("group", name="接着问").get_by_role("button")).to_have_count(7)
    expect(portal.log.get_by_role("group", name="快捷回复")).to_have_count(0)
    expect(overview.get_by_role("link", name="查看指南")).to_have_attribute(
        "href", stack["WEB_PORT"] + "/guide/SH-P-010")
    shot(portal, f"4-overview-{size}")
    portal.close()


# ---------------------------------------------------------------------------------------
# Against a scripted socket.io server: what a card may carry and what it may not do.


@pytest.fixture
def scripted():
    server = ScriptedRasa()
    server.start()
    yield server
    server.stop()


def test_cards_are_rendered_safely_and_kept_across_reloads(browser, scripted, index):
    card = materials_card(index.get(CODE))
    hostile = {
        **card, "title": "<img src=x onerror=alert(1)>办理须知",
        "actions": [{"type": "link", "title": "坏链接", "url": "javascript:alert(2)"},
                    {"type": "link", "title": "外站", "url": "//evil.example/x"},
                    {"type": "link", "title": "查看指南", "url": f"/guide/{CODE}"},
                    {"type": "call", "title": "拨号", "number": "12345;alert(3)"}],
    }
    long_text = "很长的回答。" * 200
    scripted.replies["卡片"] = [
        {"text": card["text"], "custom": card},
        {"text": "旧的写法：入口：https://zwdt.sh.gov.cn/guide?id=1 ，热线12345，办件SH20261212345"},
    ]
    scripted.replies["恶意"] = [{"text": "纯文本备用", "custom": hostile}]
    scripted.replies["未知"] = [
        {"text": "不认识的卡片，显示文字", "custom": {**card, "version": 9}},
        # a signal for clients that know it, not a message: not shown
        {"custom": {"type": "handoff_queue", "state": "waiting", "place": 1}},
    ]
    scripted.replies["长"] = [{"text": long_text}, {"text": card["text"], "custom": card}]
    portal = Portal(browser, {"WEB_PORT": scripted.portal_url},
                    viewport={"width": 1280, "height": 800}, bypass_csp=True)
    alerts = []
    portal.page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    portal.goto()
    portal.open()

    portal.say("卡片")
    expect(card_of(portal)).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(portal.log).not_to_contain_text("1. 【免提交】")  # the card, not its text as well
    legacy = portal.log.locator(".gw-bot").last
    expect(legacy.get_by_role("link", name="zwdt.sh.gov.cn")).to_have_attribute(
        "href", "https://zwdt.sh.gov.cn/guide?id=1")
    expect(legacy.get_by_role("link")).to_have_count(2)  # the address and 12345, not SH…12345
    expect(legacy.get_by_role("link", name="12345")).to_have_attribute("href", "tel:12345")
    title_is_in_view(portal, card_of(portal).get_by_role("heading"))
    shot(portal, "3-scripted-card")
    no_serious_violations(portal, "scripted")

    portal.say("恶意")
    bad = card_of(portal)
    expect(bad.get_by_role("heading")).to_have_text("<img src=x onerror=alert(1)>办理须知")
    hrefs = [a.get_attribute("href") for a in bad.get_by_role("link").all()]
    assert hrefs == [scripted.portal_url + f"/guide/{CODE}"], hrefs

    portal.say("未知")
    expect(portal.log.locator(".gw-bot").last).to_have_text(re.compile("不认识的卡片，显示文字"))
    expect(portal.page.locator(".gw-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT)
    expect(portal.log).not_to_contain_text("此消息暂不支持显示")

    # after a long answer the new card still shows from its title
    portal.say("长")
    expect(portal.log.locator(".gw-card")).to_have_count(3, timeout=ANSWER_TIMEOUT)
    first_answer = portal.log.locator(".gw-bot").nth(-2)
    title_is_in_view(portal, first_answer)
    shot(portal, "3-scripted")

    before = portal.log.inner_text()
    portal.page.reload()
    expect(portal.dialog).to_be_visible()
    expect(portal.log.locator(".gw-card")).to_have_count(3)
    assert portal.log.inner_text() == before
    assert not alerts
    portal.close()
