"""The citizens' pages in a real browser (Debian's chromium through Playwright): the
portal's tiles, the search page and the guide pages of the web app, with no Rasa (the
chat widget's tag is on the pages, but it connects only when opened).

The web app runs in a thread on a free loopback port over a SQLite copy of the real
catalog. Screenshots at desktop (1280×800) and phone (375×740) sizes, a PDF of the
printed guide and axe-core's reports go to test-artifacts/guide/ (gitignored) for a
person to look at.
"""
from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pytest
from aiohttp import web

from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from web.app import create_app
from tests.accessibility import serious_violations
from tests.conftest import CATALOG_DIR, REFERENCE_DIR

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "guide"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
#: The pages every check visits: name → path.
PAGES = {
    "portal": "/",
    "guide": "/guide/SH-P-001",
    "guide-paid": "/guide/SH-P-010",
    "guide-enterprise": "/guide/SH-E-017",  # a long fee text, 即办, offices with phones
    "search": "/search?q=社保卡",
    "browse": "/search",
    "empty": "/search?q=火星天气预报",
    "missing": "/guide/NOPE-404",
}


class WebApp:
    """The web app (no desk) in a thread with its own event loop."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _start(self) -> str:
        self.runner = web.AppRunner(create_app(self.catalog, desk=False))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=60)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path_factory.mktemp('guide') / 'web.db'}"))
    import_catalog(CATALOG_DIR, store)
    app = WebApp(Catalog(store, REFERENCE_DIR))
    url = app.start()
    yield url
    app.stop()


class Tab:
    """A citizen's tab, with the page's script errors and CSP violations collected."""

    def __init__(self, browser, base_url: str, **options) -> None:
        self.context = browser.new_context(locale="zh-CN", **options)
        self.page = self.context.new_page()
        self.base = base_url
        self.errors: list = []
        self.not_found_pages = 0  # a 404 page the test asked for (Chromium logs each one)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        expected = 404 if path.startswith("/guide/NOPE") else 200
        assert response.status == expected, (path, response.status)
        self.not_found_pages += expected == 404
        return self.page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        not_found = "the server responded with a status of 404"
        errors = [e for e in self.errors if not_found not in e]
        assert not errors and len(self.errors) - len(errors) == self.not_found_pages, self.errors


def test_a_portal_tile_opens_the_guide(browser, base_url):
    tab = Tab(browser, base_url, **DESKTOP)
    page = tab.goto("/")
    page.get_by_role("link", name="居住证申领").click()
    expect(page).to_have_url(re.compile(r"/guide/SH-P-001$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("上海市居住证申领")
    expect(page.get_by_role("link", name="拨打12345")).to_have_attribute("href", "tel:12345")
    # a scenario opens and shows its own materials
    rented = page.locator("details", has=page.get_by_text("租赁居住", exact=True))
    expect(rented.get_by_text("房屋租赁合同", exact=True)).to_be_hidden()
    rented.locator("summary").click()
    expect(rented.get_by_text("房屋租赁合同", exact=True)).to_be_visible()
    tab.close()


def test_search_as_you_type_then_a_result_opens_its_guide(browser, base_url):
    tab = Tab(browser, base_url, **DESKTOP)
    page = tab.goto("/")
    page.get_by_role("searchbox", name="搜索办事事项").fill("护照")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/search\?q="))
    box = page.get_by_role("searchbox", name="搜索办事事项")
    box.fill("社保卡补办")  # the results follow the typing
    result = page.get_by_role("link", name="社会保障卡补换")
    expect(result).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("社保卡补办")
    expect(page).to_have_url(re.compile(r"q=%E7%A4%BE"))
    assert not re.search(r"SH-[PE]-\d|\b0\.\d{2}", page.locator("main").inner_text())
    result.click()
    expect(page).to_have_url(re.compile(r"/guide/SH-P-004$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("社会保障卡补换")
    page.get_by_role("link", name="返回事项查询").click()
    expect(page).to_have_url(re.compile(r"/search$"))
    expect(page.get_by_role("heading", name="个人服务")).to_be_visible()
    tab.close()


def test_the_search_works_without_javascript(browser, base_url):
    tab = Tab(browser, base_url, java_script_enabled=False, **PHONE)
    page = tab.goto("/search")
    box = page.get_by_role("searchbox", name="搜索办事事项")
    box.fill("营业执照")
    box.press("Enter")
    expect(page.get_by_role("link", name="企业设立登记（开办企业）")).to_be_visible()
    page.get_by_role("link", name="企业设立登记（开办企业）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("企业设立登记（开办企业）")
    tab.close()


def test_nothing_found_and_unknown_codes_say_what_to_do(browser, base_url):
    tab = Tab(browser, base_url, **DESKTOP)
    page = tab.goto(PAGES["empty"])
    expect(page.get_by_role("status")).to_have_text("没有找到与“火星天气预报”相关的事项")
    expect(page.get_by_role("heading", name="换个说法试试")).to_be_visible()
    expect(page.locator("#results").get_by_role("link", name="12345")).to_have_attribute(
        "href", "tel:12345")
    page = tab.goto(PAGES["missing"])
    expect(page.get_by_role("heading", level=1)).to_have_text("没有找到这个事项")
    box = page.get_by_role("searchbox", name="搜索办事事项")
    box.fill("居住证")
    box.press("Enter")
    expect(page.get_by_role("link", name="上海市居住证申领")).to_be_visible()
    tab.close()


@pytest.mark.parametrize("size", SIZES)
def test_screenshots_and_no_sideways_scrolling(browser, base_url, size):
    tab = Tab(browser, base_url, **SIZES[size])
    for name, path in PAGES.items():
        page = tab.goto(path)
        if name == "guide":
            page.locator("details").first.locator("summary").click()
        tab.shot(f"{name}-{size}")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size} size"
    tab.close()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violations(browser, base_url, name, size):
    # The pages forbid inline script (CSP); axe is injected as one, so this tab bypasses
    # the CSP. The other tests keep it and fail on any violation it reports.
    tab = Tab(browser, base_url, bypass_csp=True, **SIZES[size])
    page = tab.goto(PAGES[name])
    # the widget's launcher is part of the page; every 情形 is opened to be judged too
    expect(page.get_by_role("button", name=re.compile("在线客服"))).to_be_visible()
    for summary in page.locator("details > summary").all():
        summary.click()
    found = serious_violations(page, report=ARTIFACTS / f"axe-{name}-{size}.json")
    assert found == [], "\n".join(found)
    tab.close()


def test_printing_leaves_out_navigation_and_buttons(browser, base_url):
    tab = Tab(browser, base_url, **DESKTOP)
    page = tab.goto(PAGES["guide"])
    online = page.get_by_role("link", name=re.compile("去办理")).first
    expect(online).to_be_visible()
    page.emulate_media(media="print")
    for hidden in (online, page.get_by_role("link", name="拨打12345"),
                   page.get_by_role("navigation", name="主导航"),
                   page.get_by_role("navigation", name="本页内容"),
                   page.get_by_role("button", name=re.compile("在线客服"))):
        expect(hidden).to_be_hidden()
    # every 情形 is printed open, with the facts that matter
    expect(page.get_by_text("房屋租赁合同", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("承诺办结时限")).to_be_visible()
    tab.shot("guide-print")
    page.pdf(path=str(ARTIFACTS / "guide-print.pdf"), format="A4")
    tab.close()
