"""The properties every (industry, answers) must have, shared by the hypothesis tests
and the exhaustive enumeration."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping

from bot.intake import engine
from bot.intake.documents import DEFERRED, HELD, STATUSES, approval_materials, build_documents
from bot.intake.schema import Industry, Question


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


def check_skips(industry: Industry, answers: Mapping[str, Any]) -> None:
    """Every answer's question applies; every applicable question is answered when complete."""
    for question in industry.questions:
        if question.id in answers:
            assert engine.applies(question, answers), (question.id, answers)
    if engine.is_complete(industry, answers):
        for question in industry.questions:
            assert (question.id in answers) == engine.applies(question, answers), question.id


def check_documents(industry: Industry, raw: Mapping[str, Any], matters) -> None:
    """Documents for raw answers follow the answers that apply (stale ones are ignored)."""
    answers = engine.prune(industry, raw)
    check_skips(industry, answers)
    docs = build_documents(industry, raw, matters)
    assert docs.answers == answers
    codes = list(docs.approvals)

    # approvals: no duplicates, declared, in the file's order, registration consistent
    assert len(codes) == len(set(codes))
    assert codes == [c for c in industry.approvals if c in codes]
    assert not {"SH-E-019", "SH-E-005"} <= set(codes)  # filing OR licence, never both
    if industry.has_question("has_licence") and "has_licence" in answers:
        registrations = [c for c in codes if c in ("SH-E-001", "SH-E-002")]
        if answers["has_licence"]:
            assert registrations == [] and "entity_type" not in answers
        elif "entity_type" in answers:
            expected = "SH-E-001" if answers["entity_type"] == "enterprise" else "SH-E-002"
            assert registrations == [expected] and codes[0] == expected

    # checklist: unique names, every approval's materials present, statuses right
    checklist = docs.checklist
    items = {i.name: i for i in checklist.items}
    assert len(items) == len(checklist.items)
    scenarios = engine.scenarios(industry, answers)
    extras = engine.extra_materials(industry, answers)
    separate = 0
    for code in codes:
        needed = approval_materials(matters[code], scenarios.get(code, []), extras.get(code, []))
        separate += len(needed)
        for material, _scenario in needed:
            item = items[material.name]
            assert code in item.needed_by
            if material.required:
                assert item.required
            if material.held_by_government:
                assert item.status == HELD, material.name
        for name in scenarios.get(code, []):
            assert name in [s.name for s in matters[code].scenarios]
    for item in checklist.items:
        assert item.status in STATUSES
        if item.status == DEFERRED:
            assert item.name in industry.deferrable
        assert set(item.needed_by) <= set(codes)

    # counts add up
    totals = checklist.totals
    assert sum(totals.values()) == checklist.merged_total == len(checklist.items)
    assert checklist.separate_total == separate
    assert checklist.saved == separate - checklist.merged_total >= 0
    assert checklist.saved_to_submit >= 0
    assert checklist.merged_total <= checklist.separate_total

    # notice and form follow the approvals
    notice = docs.notice
    assert [i.code for i in notice.items] == codes
    assert notice.separate_days == sum(matters[c].promised_days for c in codes)
    assert notice.permit_days == (matters[industry.permit].promised_days if codes else 0)
    assert [c for c, _ in docs.form.matters] == codes
    assert len(docs.form.answers) == len(answers)
