"""Property tests over every industry file: hypothesis drives the interview (answers,
changes of earlier answers, stale and junk answers), and an exhaustive walk checks the
same properties on every complete combination of answers. The properties (invariants.py)
compare with rules written out by hand from the industry files, never with the engine's
own formulas; worked examples below give whole outcomes a clerk can check."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.intake import engine
from bot.intake.schema import load_catalog_matters, load_industries

from .invariants import (
    APPROVALS, FOLLOW_UPS, SCENARIOS, all_completions, check_documents,
    check_one_more_yes_never_drops_an_approval, check_skips, check_valid, values,
)

ROOT = Path(__file__).resolve().parents[3]
MATTERS = load_catalog_matters(ROOT / "data" / "catalog")
INDUSTRIES = load_industries(ROOT / "data" / "industries", MATTERS)
CODES = sorted(INDUSTRIES)
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_catalog_is_consistent_about_shared_material_names():
    """The checklist merges by name, so a name must mean one thing: held or not."""
    held = {}
    for matter in MATTERS.values():
        for m in [*matter.materials, *(m for s in matter.scenarios for m in s.materials)]:
            assert held.setdefault(m.name, m.held_by_government) == m.held_by_government, m.name


@pytest.mark.parametrize("code", CODES)
@SETTINGS
@given(data=st.data())
def test_interview_with_changes(code, data):
    industry = INDUSTRIES[code]
    answers = {}
    asked = []
    changes = data.draw(st.integers(min_value=0, max_value=3), label="changes")
    while True:
        question = engine.next_question(industry, answers)
        if question is None:
            if changes == 0:
                break
            changes -= 1
            question = data.draw(st.sampled_from([q for q, _ in engine.answered(industry, answers)]),
                                 label="change")
        else:
            assert question.id not in answers
            follow_up = FOLLOW_UPS[code].get(question.id)
            assert follow_up is None or follow_up(answers), (question.id, answers)
            asked.append(question.id)
        before = dict(answers)
        value = data.draw(st.sampled_from(values(question)), label=question.id)
        answers = engine.apply_answer(industry, answers, question.id, value)
        assert answers[question.id] == value
        assert engine.prune(industry, answers) == answers
        check_skips(industry, answers)
        assert set(answers) - set(before) <= {question.id}  # nothing appears uninvited
        check_documents(industry, answers, MATTERS)  # partial answers too
    assert engine.is_complete(industry, answers)
    check_documents(industry, answers, MATTERS)
    check_one_more_yes_never_drops_an_approval(industry, answers)


@pytest.mark.parametrize("code", CODES)
@SETTINGS
@given(data=st.data())
def test_arbitrary_answer_dicts_are_pruned_to_what_applies(code, data):
    """Answers from anywhere (a stale slot, an old session) never break the skips."""
    industry = INDUSTRIES[code]
    raw = {}
    for question in industry.questions:
        if data.draw(st.booleans(), label=f"has {question.id}"):
            raw[question.id] = data.draw(
                st.one_of(st.sampled_from(values(question)), st.none(), st.text(max_size=3)),
                label=question.id,
            )
    pruned = engine.prune(industry, raw)
    check_skips(industry, pruned)
    check_valid(industry, pruned)
    assert engine.approvals(industry, raw) == engine.approvals(industry, pruned)
    check_documents(industry, raw, MATTERS)


@pytest.mark.parametrize("code", CODES)
def test_every_complete_combination(code):
    industry = INDUSTRIES[code]
    count = 0
    for answers in all_completions(industry):
        check_documents(industry, answers, MATTERS)
        check_one_more_yes_never_drops_an_approval(industry, answers)
        count += 1
    assert count >= 2 ** 5


@pytest.mark.parametrize("code", CODES)
def test_the_hand_written_rules_cover_the_whole_file(code):
    """Every approval the industry file may grant has its rule in invariants.APPROVALS,
    every scenario a rule names its rule in SCENARIOS, and every question asked only
    sometimes its condition in FOLLOW_UPS."""
    industry = INDUSTRIES[code]
    assert set(APPROVALS[code]) == set(industry.approvals)
    assert set(FOLLOW_UPS[code]) == {q.id for q in industry.questions if q.ask_if is not None}
    assert set(SCENARIOS[code]) == {pair for rule in industry.rules for pair in rule.scenarios}
    assert all(c in MATTERS for c in (industry.permit, *industry.approvals))
