"""The properties every (industry, answers) must have, shared by the hypothesis tests
and the exhaustive enumeration.

None of them asks the engine how it decides: which questions are follow-ups and which
approvals each business needs are written out below from data/industries/*.yml, the way
a clerk reads those files (a rule changed there must be changed here too, which is the
point), and the documents are checked against the catalog and against each other
(counts made two ways), not against the functions that built them.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Mapping, Set, Tuple

from bot.intake import engine
from bot.intake.documents import DEFERRED, HELD, STATUSES, TO_SUBMIT, build_documents
from bot.catalog.schema import Material
from bot.intake.schema import Industry, Question

Answers = Mapping[str, Any]
Rule = Callable[[Answers], bool]

REGISTRATIONS = ("SH-E-001", "SH-E-002")
FOOD_FILING, FOOD_LICENCE = "SH-E-019", "SH-E-005"


def yes(*questions: str) -> Rule:
    """True when any of the questions is answered yes."""
    return lambda a: any(a.get(q) is True for q in questions)


def registers(entity_type: str) -> Rule:
    return lambda a: a.get("has_licence") is False and a.get("entity_type") == entity_type


def unlicensed(a: Answers) -> bool:
    return a.get("has_licence") is False


#: Questions asked only in some cases: {industry: {question: when it is asked}}.
FOLLOW_UPS: Dict[str, Dict[str, Rule]] = {
    "convenience_store": {"entity_type": unlicensed,
                          "bulk_food": lambda a: a.get("prepackaged_only") is False,
                          "onsite_food": lambda a: a.get("prepackaged_only") is False},
    "restaurant": {"entity_type": unlicensed, "bulk_alcohol": yes("alcohol"),
                   "large_sign": yes("outdoor_sign"), "renovated": yes("large_area")},
    "gym": {"entity_type": unlicensed, "central_air": yes("showers", "swimming_pool"),
            "renovated": lambda a: a.get("area") in ("medium", "large")},
    "pharmacy": {"entity_type": unlicensed, "device_warehouse": yes("medical_devices"),
                 "device_online": yes("medical_devices")},
}

#: Yes/no questions whose yes narrows what the business does ("only …").
RESTRICTIONS = {"prepackaged_only"}

#: Which approvals a business needs: {industry: {matter code: when}}. Food: the filing
#: for prepackaged food only, the licence as soon as anything else is sold or made.
APPROVALS: Dict[str, Dict[str, Rule]] = {
    "convenience_store": {
        "SH-E-001": registers("enterprise"),
        "SH-E-002": registers("individual"),
        # 3 and 4 are not asked after "only prepackaged" (that answer says no to them)
        "SH-E-019": lambda a: a.get("prepackaged_only") is True and a.get("special_food") is False
        and not any(a.get(q) for q in ("bulk_food", "onsite_food")),
        "SH-E-005": yes("bulk_food", "onsite_food", "special_food"),
        "SH-E-006": yes("alcohol"),
        "SH-E-008": yes("otc_drugs"),
        "SH-E-007": yes("medical_devices"),
        "SH-E-011": yes("tobacco"),
        "SH-E-018": yes("publications"),
        "SH-E-013": yes("outdoor_sign"),
        "SH-E-014": yes("large_area"),
    },
    "restaurant": {
        "SH-E-001": registers("enterprise"),
        "SH-E-002": registers("individual"),
        "SH-E-005": lambda a: True,  # a restaurant makes food on site
        "SH-E-006": yes("alcohol"),
        "SH-E-011": yes("tobacco"),
        "SH-E-013": yes("outdoor_sign"),
        "SH-E-014": yes("large_area"),
    },
    "gym": {
        "SH-E-001": registers("enterprise"),
        "SH-E-002": registers("individual"),
        "SH-E-010": yes("showers", "swimming_pool"),
        "SH-E-019": lambda a: a.get("prepackaged_food") is True and a.get("onsite_drinks") is False,
        "SH-E-005": yes("onsite_drinks"),
        "SH-E-013": yes("outdoor_sign"),
        "SH-E-014": lambda a: a.get("area") in ("medium", "large"),
    },
    "pharmacy": {
        "SH-E-001": registers("enterprise"),
        "SH-E-002": registers("individual"),
        "SH-E-008": lambda a: True,  # a pharmacy sells medicines
        "SH-E-007": yes("medical_devices"),
        "SH-E-019": lambda a: a.get("prepackaged_food") is True and a.get("special_food") is False,
        "SH-E-005": yes("special_food"),
        "SH-E-013": yes("outdoor_sign"),
        "SH-E-014": yes("large_area"),
    },
}


#: Which scenarios of an approval apply: {industry: {(matter code, scenario): when}}
#: (a scenario brings its own materials into the checklist).
SCENARIOS: Dict[str, Dict[Tuple[str, str], Rule]] = {
    "convenience_store": {
        ("SH-E-005", "散装食品（含冷藏冷冻）"): yes("bulk_food"),
        ("SH-E-005", "现场制售"): yes("onsite_food"),
        ("SH-E-005", "特殊食品（婴幼儿配方乳粉等）"): yes("special_food"),
        ("SH-E-008", "仅经营乙类非处方药"): yes("otc_drugs"),
    },
    "restaurant": {
        ("SH-E-005", "现场制售"): lambda a: True,
        ("SH-E-005", "散装食品（含冷藏冷冻）"): yes("cold_food"),
        ("SH-E-006", "零售散装酒"): yes("bulk_alcohol"),
        ("SH-E-013", "大型招牌或高处招牌"): yes("large_sign"),
        ("SH-E-014", "场所经过装修或改造"): yes("renovated"),
    },
    "gym": {
        ("SH-E-010", "游泳场（馆）"): yes("swimming_pool"),
        ("SH-E-010", "设有集中空调通风系统"): yes("central_air"),
        ("SH-E-014", "场所经过装修或改造"): yes("renovated"),
        ("SH-E-005", "现场制售"): yes("onsite_drinks"),
    },
    "pharmacy": {
        ("SH-E-008", "经营处方药、甲类非处方药"): yes("prescription_drugs"),
        ("SH-E-008", "仅经营乙类非处方药"): lambda a: a.get("prescription_drugs") is False,
        ("SH-E-008", "药品零售连锁门店"): yes("chain_store"),
        ("SH-E-007", "设有独立库房"): yes("device_warehouse"),
        ("SH-E-007", "通过网络销售"): yes("device_online"),
        ("SH-E-005", "特殊食品（婴幼儿配方乳粉等）"): yes("special_food"),
    },
}


def values(question: Question) -> List[Any]:
    return [True, False] if question.kind == "yes_no" else [o.value for o in question.options]


def all_completions(industry: Industry) -> Iterator[Dict[str, Any]]:
    """Every complete set of answers the interview can produce (depth first)."""
    def walk(answers: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
        question = engine.next_question(industry, answers)
        if question is None:
            yield answers
            return
        for value in values(question):
            yield from walk({**answers, question.id: value})
    yield from walk({})


def expected_approvals(industry: Industry, answers: Answers) -> List[str]:
    needed = {code for code, when in APPROVALS[industry.code].items() if when(answers)}
    return [code for code in industry.approvals if code in needed]


def expected_scenarios(industry: Industry, answers: Answers) -> Set[Tuple[str, str]]:
    covered = set(expected_approvals(industry, answers))
    return {(code, name) for (code, name), when in SCENARIOS[industry.code].items()
            if code in covered and when(answers)}


def check_skips(industry: Industry, answers: Answers) -> None:
    """A follow-up is answered only when it is asked; once the engine calls the answers
    complete, every question that is asked has its answer."""
    follow_ups = FOLLOW_UPS[industry.code]
    for question_id in answers:
        if question_id in follow_ups:
            assert follow_ups[question_id](answers), (question_id, dict(answers))
    if engine.is_complete(industry, answers):
        for question in industry.questions:
            asked = follow_ups.get(question.id, lambda a: True)(answers)
            assert (question.id in answers) == asked, (question.id, dict(answers))


def check_valid(industry: Industry, answers: Answers) -> None:
    """Yes/no answers are booleans, choices one of the question's options."""
    for question_id, value in answers.items():
        question = industry.question(question_id)
        if question.kind == "yes_no":
            assert isinstance(value, bool), (question_id, value)
        else:
            assert value in [o.value for o in question.options], (question_id, value)


def check_one_more_yes_never_drops_an_approval(industry: Industry, answers: Answers) -> None:
    """Saying yes to one more activity keeps every approval already needed; the only
    exceptions are the food filing, which the food licence replaces, and registration,
    which a business that already holds its licence does not need. "只卖预包装食品" is no
    activity but a restriction (its yes rules out bulk and on-site food), so it is left out."""
    before = set(engine.approvals(industry, answers))
    for question in industry.questions:
        if question.kind != "yes_no" or answers.get(question.id) is not False:
            continue
        if question.id in RESTRICTIONS:
            continue
        after_yes = engine.change_answer(industry, answers, question.id, True)
        after = set(engine.approvals(industry, after_yes))
        dropped = before - after
        if question.id == "has_licence":
            assert dropped <= set(REGISTRATIONS), (question.id, dropped)
        else:
            assert dropped <= {FOOD_FILING}, (question.id, dropped)
            if dropped:
                assert FOOD_LICENCE in after, question.id


def check_documents(industry: Industry, raw: Answers, matters) -> None:
    """Documents for raw answers (stale, junk or partial ones included) say what the
    industry file and the catalog say, and agree with each other."""
    docs = build_documents(industry, raw, matters)
    answers = docs.answers

    # the answers that count: taken from raw as given, valid, only where asked, and
    # every valid raw answer to a question that is asked is kept
    assert all(raw[q] == v for q, v in answers.items()), (dict(raw), answers)
    check_valid(industry, answers)
    check_skips(industry, answers)
    follow_ups = FOLLOW_UPS[industry.code]
    for question in industry.questions:
        value = raw.get(question.id)
        valid = isinstance(value, bool) if question.kind == "yes_no" else (
            value in [o.value for o in question.options])
        if valid and follow_ups.get(question.id, lambda a: True)(answers):
            assert question.id in answers, (question.id, dict(raw))

    # approvals: the ones the rules above call for, each once, in the file's order
    codes = list(docs.approvals)
    assert codes == expected_approvals(industry, answers), (answers, codes)
    assert len(codes) == len(set(codes))
    assert all(code in matters for code in codes)
    assert not {FOOD_FILING, FOOD_LICENCE} <= set(codes)  # filing OR licence, never both
    if unlicensed(answers) and "entity_type" in answers:
        assert codes[0] == ("SH-E-001" if answers["entity_type"] == "enterprise" else "SH-E-002")

    scenarios = {(i.code, name) for i in docs.notice.items for name in i.scenarios}
    assert scenarios == expected_scenarios(industry, answers), (answers, scenarios)

    # checklist: every covered approval's base materials and those of its scenarios
    # that apply, nothing from nowhere
    checklist = docs.checklist
    items = {i.name: i for i in checklist.items}
    assert len(items) == len(checklist.items)
    extra_names: Dict[str, Set[str]] = {}  # materials the industry's rules add, by approval
    for rule in industry.rules:
        for extra in rule.materials:
            extra_names.setdefault(extra.matter, set()).add(extra.material.name)
    for code in codes:
        for material in matters[code].materials:
            assert code in items[material.name].needed_by, (code, material.name)
        for scenario in matters[code].scenarios:
            if (code, scenario.name) in scenarios:
                for material in scenario.materials:
                    assert code in items[material.name].needed_by, (code, material.name)
    def chosen(code: str) -> List[Material]:
        """The approval's materials for this business: base, and the chosen scenarios'."""
        return [*matters[code].materials, *(m for s in matters[code].scenarios
                                            if (code, s.name) in scenarios for m in s.materials)]

    for item in checklist.items:
        assert item.needed_by and set(item.needed_by) <= set(codes), item.name
        assert list(item.needed_by) == [c for c in codes if c in item.needed_by], item.name
        found = [m for c in item.needed_by for m in chosen(c) if m.name == item.name]
        for code in item.needed_by:  # each approval named needs it
            assert item.name in [m.name for m in chosen(code)] or item.name in extra_names.get(
                code, ()), (item.name, code)
        assert all(any((c, name) in scenarios for c in item.needed_by) for name in item.scenarios)
        assert item.status in STATUSES
        if found and all(m.held_by_government for m in found):
            assert item.status == HELD, item.name  # the government has it: never asked for
        if item.status == HELD:
            assert found and all(m.held_by_government for m in found), item.name
        if item.status == DEFERRED:
            assert item.name in industry.deferrable, item.name
        if item.status == TO_SUBMIT:
            assert item.name not in industry.deferrable, item.name

    # counts, made two ways: per approval (separate) and per merged item
    assert checklist.separate_total == sum(len(i.needed_by) for i in checklist.items)
    assert checklist.saved == sum(len(i.needed_by) - 1 for i in checklist.items)
    assert sum(checklist.totals.values()) == len(checklist.items)
    assert checklist.merged_to_submit == len([i for i in checklist.items if i.status != HELD])
    assert checklist.saved_to_submit >= 0

    # notice and form cover the same approvals, with the catalog's departments and days
    notice = docs.notice
    assert [i.code for i in notice.items] == codes
    for item in notice.items:
        assert (item.department, item.promised_days) == (
            matters[item.code].department, matters[item.code].promised_days)
    assert (notice.permit_days > 0) == bool(codes)
    assert notice.separate_days >= max([i.promised_days for i in notice.items], default=0)
    assert [c for c, _ in docs.form.matters] == codes
    assert [a.question_id for a in docs.form.answers] == list(answers)
