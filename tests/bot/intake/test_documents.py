"""告知单, 申请表 and 材料清单, and their chat, HTML and Markdown renderings."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.intake import engine
from bot.intake.documents import DEFERRED, HELD, TO_SUBMIT, build_documents
from bot.intake.render import render_html, render_markdown, render_summary

from tests.fixtures.intake import complete
from .invariants import all_completions

ENTERPRISE = {
    "name": "上海好邻居便利店有限公司",
    "credit_code": "91310115MA1K4XXXXX",
    "legal_representative": "张三",
    "address": "上海市浦东新区张杨路100号",
}


@pytest.fixture(scope="module")
def full_store(store):
    """A store that is not yet registered and does everything."""
    return complete(store, {"has_licence": False, "entity_type": "enterprise",
                            "prepackaged_only": False}, default=True)


def test_notice(store, matters, full_store):
    notice = build_documents(store, full_store, matters).notice
    codes = engine.approvals(store, full_store)
    assert [i.code for i in notice.items] == codes
    for item in notice.items:
        assert item.department == matters[item.code].department
        assert item.promised_days == matters[item.code].promised_days
    assert notice.permit_days == 5
    # 1 + 5 + 5 + 10 + 0 + 10 + 0 + 1 + 5 working days, one approval after another
    assert notice.separate_days == 37 and notice.days_saved == 32
    assert any("未成年人" in c for c in notice.commitments)  # sells tobacco and alcohol
    assert [g.code for g in notice.commitment_groups] == codes
    devices = next(g for g in notice.commitment_groups if g.code == "SH-E-007")
    assert not any("免于" in c for c in devices.conditions)  # an exemption is no promise


def test_conditional_commitments(store, matters):
    answers = complete(store, {"has_licence": True, "outdoor_sign": True})
    assert not any("未成年人" in c for c in build_documents(store, answers, matters).notice.commitments)


def test_form_prefilled_from_the_enterprise(store, matters):
    answers = complete(store, {"has_licence": True, "tobacco": True})
    form = build_documents(store, answers, matters, enterprise=ENTERPRISE).form
    fields = {f.key: f for f in form.fields}
    assert fields["enterprise_name"].value == ENTERPRISE["name"] and fields["enterprise_name"].prefilled
    assert fields["credit_code"].prefilled and fields["legal_representative"].prefilled
    assert fields["address"].prefilled
    assert not fields["business_area"].prefilled and fields["business_area"].value == ""
    assert form.prefilled_count == 4
    assert form.matters == (("SH-E-011", "烟草专卖零售许可证核发"),)
    assert [a.question_id for a in form.answers] == list(answers)


def test_form_without_enterprise_for_a_new_business(store, matters, full_store):
    form = build_documents(store, full_store, matters).form
    assert form.prefilled_count == 0
    credit = next(f for f in form.fields if f.key == "credit_code")
    assert credit.note == "设立登记后自动生成"
    assert ("entity_type", "经营主体是企业还是个体工商户？", "企业") in [
        (a.question_id, a.question, a.answer) for a in form.answers]


def test_checklist_statuses_and_merging(store, matters, full_store):
    checklist = build_documents(store, full_store, matters).checklist
    items = {i.name: i for i in checklist.items}
    licence = items["营业执照"]
    assert licence.status == HELD and len(licence.needed_by) > 3
    assert items["法定代表人（负责人）身份证件"].status == HELD
    assert items["从业人员健康证明"].status == DEFERRED  # listed as deferrable
    assert items["食品经营许可申请书"].status == TO_SUBMIT
    assert items["授权委托书及经办人身份证件"].required is False  # 视情提交
    place = items["经营场所使用证明（产权证明或租赁合同）"]
    assert place.needed_by[0] == "SH-E-001" and len(place.needed_by) >= 6
    assert checklist.saved > 10
    assert checklist.totals == {
        TO_SUBMIT: len(checklist.by_status(TO_SUBMIT)),
        HELD: len(checklist.by_status(HELD)),
        DEFERRED: len(checklist.by_status(DEFERRED)),
    }


#: Whole outcomes worked out by hand from data/industries/*.yml and data/catalog: the
#: approvals in the notice's order, the scenarios, the days one approval after another
#: (the single permit takes 5), and for the first two the checklist counted by hand:
#: submissions one approval at a time, merged items, 免提交 / 容缺 / 需提交.
WORKED_EXAMPLES = [
    pytest.param(
        # an unregistered 个体户: packaged snacks only, cigarettes, a shop sign
        "convenience_store",
        {"has_licence": False, "entity_type": "individual", "prepackaged_only": True,
         "tobacco": True, "outdoor_sign": True},
        ["SH-E-002", "SH-E-019", "SH-E-011", "SH-E-013"], {},
        1 + 0 + 10 + 1,
        # 4 + 4 + 6 + 5 materials; 12 distinct; 营业执照 and the ID held by government
        {"separate": 19, "merged": 12, HELD: 2, DEFERRED: 0, TO_SUBMIT: 10},
        set(), id="store-individual-snacks-tobacco-sign"),
    pytest.param(
        # a licensed chain pharmacy: class-B OTC only, devices with a warehouse, drinks
        "pharmacy",
        {"has_licence": True, "prescription_drugs": False, "chain_store": True,
         "medical_devices": True, "device_warehouse": True, "device_online": False,
         "special_food": False, "prepackaged_food": True},
        ["SH-E-008", "SH-E-007", "SH-E-019"],
        {"SH-E-008": ["仅经营乙类非处方药", "药品零售连锁门店"], "SH-E-007": ["设有独立库房"]},
        10 + 0 + 0,
        # (10 + 2 + 1) + (9 + 1) + 4 materials; 007 adds 5 names, 019 adds 2
        {"separate": 27, "merged": 20, HELD: 2, DEFERRED: 1, TO_SUBMIT: 17},
        {"医疗器械经营质量管理制度、工作程序等文件目录"}, id="pharmacy-chain-otc-devices"),
    pytest.param(
        # a licensed restaurant: cold dishes, draught beer, a rooftop sign, 500 m² refitted
        "restaurant",
        {"has_licence": True, "cold_food": True, "alcohol": True, "bulk_alcohol": True,
         "tobacco": False, "outdoor_sign": True, "large_sign": True, "large_area": True,
         "renovated": True},
        ["SH-E-005", "SH-E-006", "SH-E-013", "SH-E-014"],
        {"SH-E-005": ["现场制售", "散装食品（含冷藏冷冻）"], "SH-E-006": ["零售散装酒"],
         "SH-E-013": ["大型招牌或高处招牌"], "SH-E-014": ["场所经过装修或改造"]},
        5 + 5 + 1 + 5, None,
        {"从业人员健康证明", "招牌结构安全计算书或检测报告", "消防安全制度和灭火及应急疏散预案"},
        id="restaurant-cold-beer-rooftop-sign-large"),
    pytest.param(
        # a new company's gym: showers, a pool, central air, 300–1000 m², drinks for sale
        "gym",
        {"has_licence": False, "entity_type": "enterprise", "showers": True,
         "swimming_pool": True, "central_air": True, "area": "medium", "renovated": False,
         "prepackaged_food": True, "onsite_drinks": False, "outdoor_sign": False},
        ["SH-E-001", "SH-E-010", "SH-E-019", "SH-E-014"],
        {"SH-E-010": ["游泳场（馆）", "设有集中空调通风系统"]},
        1 + 5 + 0 + 5, None,
        {"从业人员健康证明", "公共场所卫生检测或评价报告", "集中空调通风系统卫生检测或评价报告"},
        id="gym-company-pool-air-medium"),
]


@pytest.mark.parametrize(
    "code, given, approvals, scenarios, separate_days, counts, deferred", WORKED_EXAMPLES)
def test_worked_examples(industries, matters, code, given, approvals, scenarios,
                         separate_days, counts, deferred):
    industry = industries[code]
    answers = complete(industry, given)
    docs = build_documents(industry, answers, matters)
    assert list(docs.approvals) == approvals
    assert {i.code: list(i.scenarios) for i in docs.notice.items if i.scenarios} == scenarios
    assert docs.notice.separate_days == separate_days
    assert docs.notice.permit_days == 5
    assert docs.notice.days_saved == separate_days - 5
    checklist = docs.checklist
    assert {i.name for i in checklist.by_status(DEFERRED)} == deferred
    if counts is not None:
        assert checklist.separate_total == counts["separate"]
        assert checklist.merged_total == counts["merged"]
        assert checklist.saved == counts["separate"] - counts["merged"]
        assert checklist.totals == {s: counts[s] for s in (TO_SUBMIT, HELD, DEFERRED)}


def test_catalog_may_be_given_as_entries_or_matters(store, matters, catalog_documents, full_store):
    from_matters = build_documents(store, full_store, matters)
    from_entries = build_documents(store, full_store, catalog_documents)
    from_list = build_documents(store, full_store, list(matters.values()))
    assert from_matters.checklist == from_entries.checklist == from_list.checklist
    assert from_matters.notice == from_entries.notice


def test_missing_catalog_matter_is_reported(store, matters, full_store):
    partial = {k: v for k, v in matters.items() if k != "SH-E-011"}
    with pytest.raises(KeyError, match="SH-E-011"):
        build_documents(store, full_store, partial)


# -- rendering ----------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.parts.append(data)


def test_html_contains_every_approval_and_material(store, matters, full_store):
    docs = build_documents(store, full_store, matters, enterprise=ENTERPRISE)
    page = render_html(docs, generated_at="2024-05-01 10:00", reference="YZ2024050100001")
    parser = _Text()
    parser.feed(page)
    text = "".join(parser.parts)
    for item in docs.notice.items:
        assert item.name in text and item.department in text
    for item in docs.checklist.items:
        assert item.name in text
    for answer in docs.form.answers:
        assert answer.question in text
    assert ENTERPRISE["name"] in text and "已预填" in text
    assert "告知单" in text and "申请表" in text and "材料清单" in text
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page and "@media print" in page
    # self-contained: nothing fetched from elsewhere, no scripts
    tags = {t for t, _ in parser.tags}
    assert not tags & {"script", "link", "img", "iframe"}
    assert not re.search(r"(src|href)\s*=", page)


def test_html_escapes_what_it_shows(store, matters):
    answers = complete(store, {"has_licence": True, "tobacco": True})
    page = render_html(build_documents(store, answers, matters,
                                       enterprise={"name": "<b>坏</b>&公司"}))
    assert "<b>坏</b>" not in page and "&lt;b&gt;坏&lt;/b&gt;&amp;公司" in page


SCRIPT = "<script>alert(1)</script>"


def test_html_shows_a_citizens_script_as_text(store, matters):
    """What the page shows from outside the code (the enterprise's data, the reference,
    the time, the download link) is text: a <script> in it is shown, never run, and no
    quote in it closes an attribute."""
    answers = complete(store, {"has_licence": True, "tobacco": True})
    enterprise = {key: f"{SCRIPT}{key}" for key in (
        "name", "credit_code", "legal_representative", "address", "business_area")}
    page = render_html(build_documents(store, answers, matters, enterprise=enterprise),
                       generated_at=SCRIPT, reference=SCRIPT,
                       download_href='x.txt" onclick="alert(1)')
    parser = _Text()
    parser.feed(page)
    assert "script" not in {tag for tag, _ in parser.tags}
    assert not [name for _, attrs in parser.tags for name in attrs if name.startswith("on")]
    text = "".join(parser.parts)
    for key in enterprise:
        assert f"{SCRIPT}{key}" in text
    assert f"编号：{SCRIPT}" in text
    [link] = [attrs for tag, attrs in parser.tags if tag == "a"]
    assert link["href"] == 'x.txt" onclick="alert(1)'


def test_summary_is_short_and_says_what_matters(store, matters, full_store):
    docs = build_documents(store, full_store, matters)
    summary = render_summary(docs, link="https://example.invalid/d/abc")
    lines = summary.splitlines()
    assert 3 <= len(lines) <= 12
    assert str(len(docs.approvals)) in lines[0]
    assert f"少交{docs.checklist.saved}份" in summary
    assert "https://example.invalid/d/abc" in lines[-1]
    assert "5个工作日" in summary


def test_summary_for_every_combination_is_short(store, matters):
    for n, answers in enumerate(all_completions(store)):
        if n % 97 == 0:  # a spread sample; the properties test covers all for documents
            assert len(render_summary(build_documents(store, answers, matters)).splitlines()) <= 12


def test_nothing_to_apply_for(store, matters):
    answers = complete(store, {"has_licence": True, "prepackaged_only": False})
    docs = build_documents(store, answers, matters)
    assert docs.approvals == () and docs.checklist.items == ()
    assert docs.notice.permit_days == 0
    assert "暂不需要办理" in render_summary(docs)
    assert "暂不需要办理" in render_html(docs)
    assert "暂不需要办理" in render_markdown(docs)


def test_markdown_file(store, matters, full_store):
    docs = build_documents(store, full_store, matters, enterprise=ENTERPRISE)
    text = render_markdown(docs, generated_at="2024-05-01 10:00")
    assert text.startswith("# 便利店")
    for item in docs.notice.items:
        assert item.name in text
    for item in docs.checklist.items:
        assert item.name in text
    assert "## 一、告知单" in text and "## 二、" in text and "## 三、材料清单" in text
    assert "<" not in text  # plain text, no HTML


@pytest.mark.parametrize("code", ["pharmacy", "gym", "restaurant"])
def test_other_industries_render(industries, matters, code):
    industry = industries[code]
    answers = complete(industry, {"has_licence": False, "entity_type": "individual"}, default=True)
    docs = build_documents(industry, answers, matters)
    page = render_html(docs)
    for item in docs.checklist.items:
        assert item.name in page
    assert len(render_summary(docs).splitlines()) <= 12
