"""The intake interview as pure functions over (industry, answers).

`answers` is a plain dict {question id: value} — True/False for yes/no questions, the
option value for choice questions — so the Rasa form can keep it in one slot. No
function changes its input; each returns new answers.

An answer is kept only while its question applies: changing an earlier answer drops
later answers whose skip conditions no longer hold, and the questions that newly apply
come back from `next_question`.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.catalog.schema import Material
from bot.dialogue import texts
from bot.dialogue.cues import AREA_ABOVE, AREA_BELOW, AREA_UNITS
from bot.intake.schema import Industry, Question
from bot.intake.yesno import parse_yes_no
from bot.text import normalize_text

Answers = Dict[str, Any]
#: How a yes/no answer reads back and is offered on buttons (data/texts/intake.yml).
TEXTS = texts.load("intake", {"answer_yes": (), "answer_no": ()})


class InvalidAnswer(ValueError):
    """An answer that cannot be recorded; `question` is the one to ask again (if any)."""

    def __init__(self, message: str, question: Optional[Question] = None) -> None:
        super().__init__(message)
        self.question = question


def applies(question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether the question is asked, given the answers so far."""
    return question.ask_if is None or question.ask_if.holds(answers)


def prune(industry: Industry, answers: Mapping[str, Any]) -> Answers:
    """The answers whose questions exist and still apply, in question order.

    Skip conditions only look at earlier questions, so one pass in order is enough.
    """
    kept: Answers = {}
    for question in industry.questions:
        if question.id in answers and applies(question, kept):
            value = answers[question.id]
            if question.valid_value(value):
                kept[question.id] = value
    return kept


def next_question(industry: Industry, answers: Mapping[str, Any]) -> Optional[Question]:
    """The first question that applies and has no answer yet; None when complete."""
    answers = prune(industry, answers)
    for question in industry.questions:
        if question.id not in answers and applies(question, answers):
            return question
    return None


def is_complete(industry: Industry, answers: Mapping[str, Any]) -> bool:
    return next_question(industry, answers) is None


def remaining_questions(industry: Industry, answers: Mapping[str, Any]) -> List[Question]:
    """Unanswered questions that apply now (later ones may appear or vanish)."""
    answers = prune(industry, answers)
    return [q for q in industry.questions if q.id not in answers and applies(q, answers)]


def question_count_range(industry: Industry, answers: Mapping[str, Any]) -> Tuple[int, int]:
    """(fewest, most) questions still to come: those that apply now, and those plus every
    later question whose condition is not yet decided (it may still come to hold)."""
    answers = prune(industry, answers)
    low = len(remaining_questions(industry, answers))
    high = sum(1 for q in industry.questions
               if q.id not in answers and (applies(q, answers) or not _decided(q, answers)))
    return low, high


def _decided(question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether the question's condition can no longer change: every question it reads is
    answered."""
    return question.ask_if is None or all(
        name in answers for name in question.ask_if.questions())


def parse_answer(question: Question, text: str) -> Any:
    """The value a free-text answer gives the question, or None when it gives none."""
    if question.kind == "yes_no":
        if question.number_over is not None:
            by_number = _number_answer(text, question.number_over)
            if by_number is not None:
                return by_number
        return parse_yes_no(text, question.context_words, question.keywords)
    return _choice(question, text)


def _choice(question: Question, text: str) -> Optional[str]:
    cleaned = normalize_text(text or "").lower().strip(" .。!！")
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(question.options):
        return question.options[int(cleaned) - 1].value
    hits = set()
    for option in question.options:
        terms = [option.label, option.value, *option.aliases]
        if any(t and normalize_text(t).lower() in cleaned for t in terms):
            hits.add(option.value)
    return hits.pop() if len(hits) == 1 else None


#: A number and, maybe, its unit (data/cues.yml lists a longer unit before a shorter one
#: it starts with, so the first that fits is the whole unit).
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(re.escape(u) for u in AREA_UNITS) + ")?")


def _number_answer(text: str, threshold: float) -> Optional[bool]:
    """一个面积回答：“200平” → False, “500平米” → True (for threshold 300)."""
    cleaned = normalize_text(text or "").lower()
    match = _NUMBER.search(cleaned)
    if not match:
        return None
    value = float(match.group(1))
    if not match.group(2) and value < 10:
        return None  # 1 / 0 are yes / no, not areas
    if any(w in cleaned for w in AREA_BELOW):
        return False if value <= threshold else None
    if any(w in cleaned for w in AREA_ABOVE):
        return True if value >= threshold else None
    return value > threshold


def apply_answer(
    industry: Industry, answers: Mapping[str, Any], question_id: str, value: Any
) -> Answers:
    """New answers with question_id answered (or re-answered) by value.

    value may be the typed value (True/False, an option value) or the citizen's text,
    which is parsed. Raises InvalidAnswer for an unknown question, one that does not
    apply given the other answers, or a value that answers nothing. Answers to later
    questions that no longer apply are dropped.
    """
    if not industry.has_question(question_id):
        raise InvalidAnswer(f"{industry.code} has no question {question_id!r}")
    question = industry.question(question_id)
    current = prune(industry, answers)
    if not applies(question, current):
        raise InvalidAnswer(f"question {question_id!r} does not apply to these answers", question)
    if not question.valid_value(value):
        parsed = parse_answer(question, value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidAnswer(f"{value!r} does not answer {question.text}", question)
        value = parsed
    return prune(industry, {**current, question_id: value})


#: Changing an earlier answer is the same operation as answering it.
change_answer = apply_answer


def unmooting_answer(
    industry: Industry, answers: Mapping[str, Any], question: Question, value: Any
) -> Optional[Tuple[Question, Answers]]:
    """A yes to a question an earlier answer made moot, when the file says such a yes
    means that answer was wrong ("我们也卖散装的" after "只卖预包装"): (the earlier
    question, the answers with both changed); None otherwise."""
    condition = question.ask_if
    if not (question.yes_means_ask_if and value is True and condition is not None
            and condition.op == "is" and len(condition.values) == 1):
        return None
    current = prune(industry, answers)
    if applies(question, current) or not industry.has_question(condition.question):
        return None
    earlier = industry.question(condition.question)
    try:
        changed = change_answer(industry, current, earlier.id, next(iter(condition.values)))
        return earlier, change_answer(industry, changed, question.id, True)
    except InvalidAnswer:
        return None


def forget_answer(industry: Industry, answers: Mapping[str, Any], question_id: str) -> Answers:
    """New answers without question_id (and without answers that depended on it)."""
    return prune(industry, {k: v for k, v in answers.items() if k != question_id})


def answer_label(question: Question, value: Any) -> str:
    """How an answer reads back: 是 / 否 / the option's label."""
    if question.kind == "yes_no":
        return TEXTS["answer_yes"] if value else TEXTS["answer_no"]
    option = question.option(value)
    return option.label if option else str(value)


def choices(question: Question) -> List[Tuple[str, Any]]:
    """(label, value) pairs for buttons: 是/否, or the options of a choice question."""
    if question.kind == "yes_no":
        return [(TEXTS["answer_yes"], True), (TEXTS["answer_no"], False)]
    return [(o.label, o.value) for o in question.options]


def answered(industry: Industry, answers: Mapping[str, Any]) -> List[Tuple[Question, Any]]:
    """The recorded answers in question order (for reading them back)."""
    answers = prune(industry, answers)
    return [(q, answers[q.id]) for q in industry.questions if q.id in answers]


# ---------------------------------------------------------------------------
# From answers to approvals.


def fired_rules(industry: Industry, answers: Mapping[str, Any]):
    answers = prune(industry, answers)
    return [r for r in industry.rules if r.when.holds(answers)]


def approvals(industry: Industry, answers: Mapping[str, Any]) -> List[str]:
    """The matter codes the single permit covers for these answers, in the industry
    file's order of `approvals` (business registration first), without duplicates."""
    added = {code for rule in fired_rules(industry, answers) for code in rule.approvals}
    return [code for code in industry.approvals if code in added]


def scenarios(industry: Industry, answers: Mapping[str, Any]) -> Dict[str, List[str]]:
    """{matter code: scenario names} for covered approvals, in rule order."""
    covered = set(approvals(industry, answers))
    out: Dict[str, List[str]] = {}
    for rule in fired_rules(industry, answers):
        for code, name in rule.scenarios:
            if code in covered and name not in out.setdefault(code, []):
                out[code].append(name)
    return {k: v for k, v in out.items() if v}


def extra_materials(industry: Industry, answers: Mapping[str, Any]) -> Dict[str, List[Material]]:
    """{matter code: materials the industry's rules add} for covered approvals."""
    covered = set(approvals(industry, answers))
    out: Dict[str, List[Material]] = {}
    for rule in fired_rules(industry, answers):
        for extra in rule.materials:
            if extra.matter in covered:
                out.setdefault(extra.matter, []).append(extra.material)
    return out
