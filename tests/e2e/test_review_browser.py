"""The supervisors' review page in Chromium, on the running assistant: citizens' messages
the bot did not understand are captured, grouped on the page, labelled by a supervisor
with one click, and leave the queue; the label lands in the reviewed training data.

Screenshots at desktop and phone sizes go to test-artifacts/review/ for a person to see.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from playwright.async_api import async_playwright, expect

from bot.review.store import ReviewStore
from tests.e2e.test_conversations import Citizen

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "review"
#: Three ways of asking the same thing nobody serves (weather on Mars): one group.
ASKED = ("火星上明天天气怎么样", "火星的天气预报帮我看一下", "火星今天气温多少度啊")


def _captured(database_url: str, texts, timeout: float = 60.0):
    """Waits (bounded) for the web app's background capture to record every text."""
    store = ReviewStore.open(database_url)
    deadline = time.monotonic() + timeout
    while True:
        found = {m["text"] for m in store.misses(status="new")}
        if set(texts) <= found:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not captured within {timeout:.0f} s: {set(texts) - found}")
        time.sleep(1)


async def _sign_in(page, base: str, name: str, password: str) -> None:
    await page.goto(base + "/desk")
    await page.fill("#login-name", name)
    await page.fill("#login-password", password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#desk-view")).to_be_visible()


async def test_supervisor_groups_and_labels_misses_in_the_browser(stack):
    for text in ASKED:
        Citizen(stack).say(text)
    _captured(stack["database_url"], ASKED)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            agent = await browser.new_page()
            await _sign_in(agent, stack["WEB_PORT"], "agent1", "agent1-pass")
            await agent.goto(stack["WEB_PORT"] + "/desk/review")
            await expect(agent.locator("#error")).to_contain_text("班长")  # agents may not

            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await _sign_in(page, stack["WEB_PORT"], "supervisor1", "supervisor1-pass")
            await page.goto(stack["WEB_PORT"] + "/desk/review")
            group = page.locator("#groups > li").filter(has_text=ASKED[0])
            await expect(group).to_have_count(1)
            # Other tests' misses in the same running stack may join the group (weather
            # elsewhere, other requests nobody serves), and the group's card shows only
            # its first examples: the three asked here are among its messages, and one
            # label takes them all.
            size = int(await group.locator(".size").inner_text())
            assert size >= len(ASKED)
            await page.screenshot(path=str(ARTIFACTS / "review-desktop.png"), full_page=True)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=str(ARTIFACTS / "review-phone.png"), full_page=True)

            await group.get_by_role("button", name="逐条查看").click()
            await expect(group.locator(".messages li")).to_have_count(size)
            for text in ASKED:
                await expect(group.locator(".messages")).to_contain_text(text)
            await group.get_by_role("button", name="超出范围").click()
            await expect(group.locator(".result")).to_contain_text(f"已处理 {size} 条")
            await page.reload()
            await expect(page.locator("#groups")).not_to_contain_text(ASKED[0])
        finally:
            await browser.close()
    written = yaml.safe_load((stack["var"] / "reviewed" / "out_of_scope.yml").read_text("utf-8"))
    texts = {e["text"].strip() for e in written["nlu"][0]["examples"]}
    assert set(ASKED) <= texts
