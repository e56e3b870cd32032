"""A real browser opens the printable page a real conversation produced."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_intake_conversation import LINK, Applicant

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def test_printable_page_opens_in_a_browser(stack):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make browser installs it")
    citizen = Applicant(stack)
    citizen.start("我想开个便利店")
    citizen.last = citizen.ask("还没有")
    citizen.finish(yes_no="有")
    done = citizen.ask("确认无误")
    link = LINK.search(done["text"]).group(1)

    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            response = page.goto(link)
            assert response is not None and response.status == 200
            headings = page.locator("h2").all_inner_texts()
            assert len(headings) == 3
            assert "告知单" in headings[0] and "申请表" in headings[1] and "材料清单" in headings[2]
            body = page.inner_text("body")
            for name in ("企业设立登记", "食品经营许可证", "酒类商品零售许可证", "烟草专卖零售许可证"):
                assert name in body
            statuses = page.locator("td.status").all_inner_texts()
            assert "需提交" in statuses and "免提交" in statuses
            download = page.locator("a[download]")
            assert download.count() == 1
            assert download.get_attribute("href").endswith(".txt")
            page.screenshot(path=str(ARTIFACTS / "intake-documents.png"), full_page=True)
            page.emulate_media(media="print")
            assert not download.is_visible()  # the download link is not printed
            missing = browser.new_page().goto(link + "x")
            assert missing is not None and missing.status == 404
        finally:
            browser.close()
    assert (ARTIFACTS / "intake-documents.png").stat().st_size > 10_000
