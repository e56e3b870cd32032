"""The citizens' pages over real HTTP (aiohttp test server): the guide page of a matter
(/guide/{code}, web/guide.py), its 404, the search page (/search, web/search.py) and
the portal's links to them. The browser's view (layout, accessibility, print) is in
tests/e2e/test_guide_browser.py."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog import Catalog
from bot.catalog.factory import minimal_entry
from bot.catalog.loader import read_catalog
from bot.catalog.schema import Matter
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from web import templating
from web.app import create_app
from web.guide import guide_view, link_target, tel_href
from web.search import MAX_QUERY
from tests.conftest import CATALOG_DIR, REFERENCE_DIR
from tests.web.test_app import HOSTILE, TYPED_PAGES, _page_shape

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
MARKUP_NAME = '<script>alert("x")</script>居住证<b>加急</b>'


def _odd_entry() -> dict:
    """A valid entry whose words are markup and whose links are not links."""
    entry = minimal_entry("TEST-ODD-1", MARKUP_NAME, aliases=['"><img src=x onerror=alert(1)>'])
    entry["department"] = "<i>某局</i>"
    entry["materials"][0]["note"] = "<a href='javascript:alert(2)'>点我</a>"
    entry["channels"]["online"]["url"] = "javascript:alert(3)"
    entry["channels"]["windows"][0]["phone"] = "javascript:alert(4)"
    return entry


@pytest.fixture
async def client(tmp_path):
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'web.db'}"))
    entries, problems = read_catalog(CATALOG_DIR)
    assert not problems
    plain = minimal_entry("TEST-PLAIN-1", "测试用最简事项")  # only what the format requires
    store.replace_all([e.data for e in entries] + [_odd_entry(), plain], source="test")
    app = create_app(Catalog(store, REFERENCE_DIR), desk=False)
    async with TestClient(TestServer(app)) as client:
        yield client


class Page(HTMLParser):
    """A page as a reader sees it: its text (no attributes, no script), its links, its
    forms' fields, and the text inside each element with a given tag."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.text_parts: List[str] = []
        self.links: List[Dict[str, str]] = []
        self.inputs: List[Dict[str, str]] = []
        self.forms: List[Dict[str, str]] = []
        self.inline: List[str] = []
        self.refs: List[str] = []
        self._skip = 0
        self._link: Optional[Dict[str, str]] = None
        self.feed(html)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text_parts))

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if any(k == "style" or k.startswith("on") for k in attrs):
            self.inline.append(f"<{tag}> attribute")
        if tag in ("script", "style"):
            self._skip += 1
            if tag == "style" or not attrs.get("src"):
                self.inline.append(f"inline <{tag}>")
            else:
                self.refs.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.refs.append(attrs["href"])
        if tag == "a":
            self._link = {"href": attrs.get("href", ""), "text": ""}
            self.links.append(self._link)
        if tag == "input":
            self.inputs.append(attrs)
        if tag == "form":
            self.forms.append(attrs)

    def handle_endtag(self, tag):
        if tag not in ("a", "span", "strong", "b", "i", "time"):
            self.text_parts.append(" ")  # a block ends: its words stand apart
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text_parts.append(data)
        if self._link is not None:
            self._link["text"] += data.strip()

    def hrefs(self, text: str) -> List[str]:
        return [link["href"] for link in self.links if link["text"] == text]


def item(html: str, name: str) -> str:
    """The checklist entry (<li class="material…">) of the material `name`."""
    for chunk in html.split('<li class="material')[1:]:
        if f'<span class="material-name">{name}</span>' in chunk:
            return chunk.split("</li>")[0]
    raise AssertionError(f"no material {name!r}")


async def page(client, path: str, status: int = 200, **params) -> Page:
    response = await client.get(path, params=params)
    assert response.status == status, (path, response.status)
    assert response.content_type == "text/html"
    return Page(await response.text())


# -- the guide page -------------------------------------------------------------------

async def test_the_guide_of_the_residence_permit(client):
    guide = await page(client, "/guide/SH-P-001")
    text = guide.text
    assert "上海市居住证申领" in text and "上海市公安局" in text and "服务对象：个人" in text
    assert "已在本市办理居住登记满6个月" in text  # conditions
    # materials: form, count, and who brings them
    held, bring = item(guide.html, "居民身份证"), item(guide.html, "数码证件照回执")
    assert "免提交" in held and "需提交" not in held and "原件 · 1 份" in held
    assert "需提交" in bring and "照相馆" in bring
    assert "4 项，其中 2 项免提交" in text
    # time, fee, windows, online, steps, law
    assert "法定办结时限 15 个工作日" in text and "承诺办结时限 10 个工作日" in text
    assert "不含制证后的邮寄时间" in text
    assert "不收费" in text and "依据：《居住证暂行条例》" in text
    assert "各街道（乡镇）社区事务受理服务中心" in text and "周六 9:00-12:00" in text
    assert "浦东新区" in text
    assert guide.hrefs("去办理（前往网上办理平台）") == ["https://zwdt.sh.gov.cn/"] * 2
    assert "https://zwdt.sh.gov.cn" not in text  # a button, not an address dump
    assert "随申办APP" in text and "可以在网上申请" in text
    assert "公安机关审核" in text and "《上海市居住证管理办法》" in text
    assert guide.hrefs("拨打12345") == ["tel:12345"] and guide.hrefs("事项查询")
    assert "None" not in text and "SH-P-001" not in text


async def test_scenarios_are_collapsible_with_their_own_materials(client):
    guide = await page(client, "/guide/SH-P-001")
    details = re.findall(r"<details>(.*?)</details>", guide.html, re.S)
    assert len(details) == 5
    rented = next(d for d in details if "<summary>租赁居住</summary>" in d)
    assert "房屋租赁合同" in rented and "原件及复印件" in rented
    record = item(rented, "房屋租赁合同登记备案证明")
    assert "免提交" in record and "非必需" in record and "电子材料" in record


async def test_a_paid_matter_with_office_phones(client):
    guide = await page(client, "/guide/SH-P-010")
    assert "每本120元" in guide.text and "依据：国家发展改革委" in guide.text
    assert guide.hrefs("021-28951900") == ["tel:02128951900"]
    assert "监护人居民身份证" in guide.html  # a scenario's material


async def test_a_long_fee_is_summed_up_and_said_in_full_below(client):
    guide = await page(client, "/guide/SH-E-017")  # 印章刻制备案
    summary = guide.html.split('<section id="conditions"')[0]
    assert "见收费说明" in summary and "刻章费用由刻制企业" not in summary
    assert guide.hrefs("见收费说明") == ["#fee"] and "刻章费用由刻制企业按市场价收取" in guide.text
    assert "服务对象：法人（企业）" in guide.text


async def test_immediate_and_fully_online_matters(client):
    guide = await page(client, "/guide/SH-P-014")  # 驾驶证补证: 即办, 全程网办
    assert "承诺办结时限 即办" in guide.text and "全程网办" in guide.text


async def test_optional_parts_the_catalog_leaves_out_are_left_out(client):
    guide = await page(client, "/guide/TEST-PLAIN-1")
    text = guide.text
    assert "测试用最简事项" in text and "申请书" in text
    assert "不同情形" not in text and "<details" not in guide.html
    assert "去办理" not in text and "依据：" not in text and "<dt>电话</dt>" not in guide.html
    assert "None" not in text and "[]" not in text


async def test_every_matter_of_the_catalog_has_a_guide(client):
    entries, _ = read_catalog(CATALOG_DIR)
    for entry in entries:
        guide = await page(client, f"/guide/{entry.data['code']}")
        assert entry.data["name"] in guide.text
        assert "None" not in guide.text and "tel:12345" in guide.html


async def test_catalog_words_are_text_and_bad_links_are_no_links(client):
    response = await client.get("/guide/TEST-ODD-1")
    html = await response.text()
    assert response.status == 200
    assert "<script>alert" not in html and "<b>加急" not in html and "<i>某局" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;居住证&lt;b&gt;加急&lt;/b&gt;" in html
    assert "javascript:" not in "".join(link["href"] for link in Page(html).links)
    assert "去办理" not in html
    # and in the search results
    found = await (await client.get("/search", params={"q": "加急"})).text()
    assert "<script>alert" not in found and "<img src=x" not in found
    assert "/guide/TEST-ODD-1" in found


async def test_an_unknown_code_gets_a_page_with_a_search_box(client):
    for path in ("/guide/NOPE-404", "/guide/%3Cscript%3E", "/guide/" + "X" * 500, "/guide/",
                 "/guide/SH-P-001/extra"):
        missing = await page(client, path, status=404)
        assert "没有找到这个事项" in missing.text and "<script>" not in missing.html
        assert {"action": "/search", "method": "get", "class": "search inline",
                "role": "search"} in missing.forms
        assert any(i.get("name") == "q" for i in missing.inputs)
        assert set(missing.hrefs("12345")) == {"tel:12345"}


async def test_codes_are_found_whatever_their_case(client):
    assert "上海市居住证申领" in (await page(client, "/guide/sh-p-001")).text


def test_links_only_to_http_and_dial_only_digits():
    assert link_target("https://zwdt.sh.gov.cn/") == "https://zwdt.sh.gov.cn/"
    for bad in ("javascript:alert(1)", "//evil.example", "data:text/html,x", "", "https://a b"):
        assert link_target(bad) == ""
    assert tel_href("021-12345") == "tel:02112345"
    assert tel_href("+86 21 1234 5678") == "tel:+862112345678"
    assert tel_href("javascript:alert(4)") == ""
    assert tel_href("见窗口公告") == "" and tel_href("021-1234 / 021-5678") == ""


# -- the search page -------------------------------------------------------------------

async def test_search_results_link_to_guides_without_scores_or_codes(client):
    found = await page(client, "/search", q="居住证")  # no JavaScript: rendered here
    results = [link for link in found.links if link["href"].startswith("/guide/")]
    assert results[0] == {"href": "/guide/SH-P-001", "text": "上海市居住证申领"}
    assert "居住证积分申请" in [r["text"] for r in results]
    assert "上海市公安局" in found.text and "也叫：" in found.text  # subtitles
    assert not re.search(r"SH-[PE]-\d|0\.\d{2}", found.text)
    assert re.search(r"找到 \d+ 个与“居住证”相关的事项", found.text)
    assert {"action": "/search", "method": "get", "id": "search-form", "class": "search",
            "role": "search"} in found.forms
    assert found.inputs[0]["value"] == "居住证"


async def test_the_hint_has_no_typos(client):
    found = await page(client, "/search")
    assert "辦護照" not in found.html and "居往证" not in found.html
    assert "如：居住证、社保卡补办、营业执照" in found.html


async def test_nothing_found_says_what_to_try(client):
    empty = await page(client, "/search", q="火星天气预报")
    assert "没有找到与“火星天气预报”相关的事项" in empty.text
    assert "换个说法试试" in empty.text and "在线客服" in empty.text
    assert empty.hrefs("12345")[0] == "tel:12345" and empty.hrefs("浏览全部事项") == ["/search"]
    assert not [link for link in empty.links if link["href"].startswith("/guide/")]


async def test_an_overlong_query_is_refused_with_a_page(client):
    refused = await page(client, "/search", status=400, q="居住证" * 100)
    assert f"搜索内容过长：最多 {MAX_QUERY} 个字" in refused.text
    assert refused.inputs[0]["value"] == ("居住证" * 100)[:MAX_QUERY]
    assert not [link for link in refused.links if link["href"].startswith("/guide/")]
    # the bound is the API's: a query of exactly MAX_QUERY characters is searched
    assert (await client.get("/search", params={"q": "护" * MAX_QUERY})).status == 200


async def test_without_a_query_the_whole_catalog_by_service_object(client):
    browse = await page(client, "/search")
    assert 'id="personal"' in browse.html and 'id="enterprise"' in browse.html
    guides = {link["href"] for link in browse.links if link["href"].startswith("/guide/")}
    entries, _ = read_catalog(CATALOG_DIR)
    assert {f"/guide/{e.data['code']}" for e in entries} <= guides


async def test_the_api_is_unchanged_beside_the_page(client):
    body = await (await client.get("/api/matters/search", params={"q": "居住证"})).json()
    assert set(body["results"][0]) == {"code", "name", "aliases", "score"}
    missing = await client.get("/api/matters/NOPE-404")
    assert missing.status == 404 and "error" in await missing.json()


# -- the portal, and what the pages may load ------------------------------------------

async def test_portal_tiles_open_guides_or_searches_that_find_something(client):
    portal = await page(client, "/")
    tiles = re.search(r'<ul class="tiles">(.*?)</ul>', portal.html, re.S).group(1)
    hrefs = re.findall(r'href="([^"]+)"', tiles)
    assert len(hrefs) == 8 and sum(h.startswith("/guide/") for h in hrefs) >= 4
    for href in hrefs:
        target = await page(client, href)
        if href.startswith("/guide/"):
            assert "申请材料" in target.text
        else:
            assert [link for link in target.links if link["href"].startswith("/guide/")], href
    nav = re.search(r'<ul class="nav">(.*?)</ul>', portal.html, re.S).group(1)
    assert "/search#personal" in nav and "/search#enterprise" in nav


@pytest.mark.parametrize("path", ["/guide/SH-P-001", "/guide/NOPE-1", "/search", "/search?q=护照"])
async def test_the_pages_load_only_their_own_files_under_a_csp(client, path):
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    markup = Page(await response.text())
    assert markup.inline == [] and markup.refs
    for ref in markup.refs:
        assert (await client.get(ref)).status == 200, ref
    assert "/static/guide.css" in markup.refs
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in markup.html


# -- the typed pages show every catalog value as text ----------------------------------

#: Values of the format's enums and patterns: a catalog check refuses markup there.
CHECKED = {"code", "form", "service_object"}


def _every_word(value, word):
    """`value` with every string in it replaced by `word` (the checked fields kept)."""
    if isinstance(value, dict):
        return {k: v if k in CHECKED else _every_word(v, word) for k, v in value.items()}
    if isinstance(value, list):
        return [_every_word(v, word) for v in value]
    return word if isinstance(value, str) else value


def _matter(word: str) -> Matter:
    entry = minimal_entry("TEST-WORDS-1", "名称", aliases=["别名"])
    entry.update(keywords=["词"], scenarios=[{"name": "情形", "description": "说明",
                                               "materials": list(entry["materials"])}])
    entry["time_limit"]["note"] = "说明"
    entry["fee"] = {"free": False, "amount": "金额", "basis": "依据"}
    entry["materials"][0].update(note="说明", required=False)
    entry["channels"]["online"]["url"] = "https://zwdt.sh.gov.cn/"
    entry["channels"]["windows"][0].update(phone="021-12345", district="区")
    return Matter.from_dict(_every_word(entry, word))


PAGES_OF = {
    "guide.html": lambda m, w: {"guide": guide_view(m)},
    "search.html": lambda m, w: {"query": w, "asked": True, "too_long": False,
                                 "max_query": MAX_QUERY, "results": [m], "groups": {}},
}


@pytest.mark.parametrize("name", sorted(TYPED_PAGES))
def test_every_catalog_value_on_a_typed_page_is_text(name):
    """What test_app.py checks of the pages given strings, for the pages given a Matter:
    markup in every catalog value (and every string the page gets) stays text."""
    environment = templating.environment()
    template = environment.get_template(name)

    def render(word: str) -> str:
        return template.render(rasa_url=word, widget_title=word,
                               **PAGES_OF[name](_matter(word), word))

    harmless, hostile = render("x" * len(HOSTILE)), render(HOSTILE)  # as long: same summary
    assert _page_shape(hostile) == _page_shape(harmless)
    assert HOSTILE not in hostile and "&lt;script&gt;" in hostile
    if name == "search.html":  # the whole catalog to browse
        browse = template.render(rasa_url="x", widget_title="x", query="", asked=False,
                                 too_long=False, max_query=MAX_QUERY, results=[],
                                 groups={"personal": [_matter(HOSTILE)]})
        assert HOSTILE not in browse and "&lt;script&gt;" in browse


def test_the_stylesheet_prints_without_navigation_and_buttons():
    css = (STATIC / "guide.css").read_text(encoding="utf-8")
    print_rules = css.split("@media print", 1)[1]
    for selector in (".nav", ".actions", ".button", ".toc", "#govbot-widget"):
        assert selector in print_rules.split("display: none")[0]
