"""The permit intake interview as a conversation: what to ask, and what a reply does.

The Rasa form (actions/intake.py) keeps three things in slots — the industry code, the
answers dict and the id of the question it asked last — and calls two functions here:
`prompt` (what to ask now) and `handle_reply` (what the citizen's message does). Both are
plain functions of that state, so every path of the interview is tested without Rasa.

A reply is only ever applied to the question that was asked (`IntakeState.asked`), except
when the citizen names another question on purpose: a correction ("刚才说错了，我们卖酒"),
or an answer that names a different question's subject ("我们卖酒" while asked about
tobacco), found through the question's `keywords` in the industry file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.catalog.answers import TOPIC_BY_INTENT
from bot.catalog.search import MatterIndex
from bot.chitchat import known_chitchat
from bot.intake import engine
from bot.intake.schema import Industry, Question, find_industry
from bot.intake.yesno import parse_yes_no
from bot.catalog.dialogue import answer_question
from bot.dialogue import texts
from bot.dialogue.cues import (BACK, BUTTON_ANSWERS, CHANGE, CHANGE_FILLERS, CONFIRM,
                               HUMAN_INTENT, PERMIT_REFORM, RESTART, STOP_INTAKE, WHAT_IS,
                               holds)
from bot.dialogue.turn import Button, Said, Turn, button
from bot.text import normalize_text

#: `asked` values that are not question ids.
ASK_INDUSTRY = "__industry__"
ASK_CONFIRM = "__confirm__"

ASKING, CONFIRMED, STOPPED = "asking", "confirmed", "stopped"
#: The citizen asked for a person: the interview ends and the handoff begins.
HANDOFF = "handoff"

# What citizens say to steer the interview (restart, stop, back, change: checked in this
# order, before answers) is in data/cues.yml (bot/dialogue/cues.py); what the bot says in
# data/texts/intake.yml. The two patterns below stay here: they are grammar, not wording
# (an ordinal, "第3项", and the punctuation and particles around a corrected answer).
_ORDINAL = re.compile(r"第?\s*(\d{1,2})\s*(?:项|个|题|条|号)")
_CORRECTION_EDGES = " ，,。了的"

TEXTS = texts.load("intake", {
    **{key: () for key in (
        "human", "confirm_head", "confirm_how", "confirm_button", "change_button",
        "restart_button", "restarted", "stopped", "first_question", "went_back",
        "which_to_change", "go_on", "bot_challenge", "industry_unknown", "not_understood",
        "not_understood_answer", "what_is",
    )},
    "ask_industry": ("industries",), "question": ("number", "question"),
    "introduction": ("industry", "count"), "introduction_range": ("industry", "low", "high"),
    "not_understood_choice": ("options",), "reanswer": ("question",),
    "not_applicable": ("question",),
    "unmooted": ("question", "answer", "earlier", "earlier_answer"), "changed": ("question", "answer"),
    "noted": ("question", "answer"), "read_back": ("number", "question", "answer"),
})
HUMAN_TEXT = TEXTS["human"]


@dataclass(frozen=True)
class IntakeState:
    """What the form keeps in slots."""

    industry: Optional[str] = None  # industry code
    answers: Dict[str, Any] = field(default_factory=dict)
    asked: Optional[str] = None  # question id, ASK_INDUSTRY or ASK_CONFIRM


@dataclass
class Outcome:
    """What a message did: the new state, whether the interview goes on, and the turn
    (what to say first, other slots such as matter_code)."""

    state: IntakeState
    status: str = ASKING
    turn: Turn = field(default_factory=Turn)

    def say(self, text: str, buttons: Optional[List[Button]] = None) -> "Outcome":
        self.turn.say(text, buttons)
        return self


# ---------------------------------------------------------------------------
# Asking


def industry_buttons(industries: Mapping[str, Industry]) -> List[Button]:
    """Buttons send their title back as text (`button`), so the same parser reads typed
    and clicked answers."""
    return [button(i.name) for i in industries.values()]


def read_back(industry: Industry, answers: Mapping[str, Any]) -> List[str]:
    """The answers numbered as the citizen refers to them ("第3项改成否")."""
    return [
        TEXTS("read_back", number=n, question=q.text, answer=engine.answer_label(q, v))
        for n, (q, v) in enumerate(engine.answered(industry, answers), 1)
    ]


def prompt(industries: Mapping[str, Industry], state: IntakeState) -> Tuple[Turn, str]:
    """(turn, asked): the one thing to ask now, with buttons."""
    industry = industries.get(state.industry or "")
    if industry is None:
        names = "、".join(i.name for i in industries.values())
        text = TEXTS("ask_industry", industries=names)
        return Turn().say(text, industry_buttons(industries)), ASK_INDUSTRY
    question = engine.next_question(industry, state.answers)
    if question is None:
        lines = [TEXTS("confirm_head"), *read_back(industry, state.answers), TEXTS("confirm_how")]
        buttons = [button(TEXTS[key]) for key in ("confirm_button", "change_button", "restart_button")]
        return Turn().say("\n".join(lines), buttons), ASK_CONFIRM
    number = len(engine.answered(industry, state.answers)) + 1
    text = TEXTS("question", number=number, question=question.text)
    if question.hint:
        text += f"\n{question.hint}"
    buttons = [button(title) for title, _ in engine.choices(question)]
    return Turn().say(text, buttons), question.id


def introduction(industry: Industry, answers: Mapping[str, Any]) -> str:
    """How many questions are coming, honestly: the unconditional ones at least, and
    every one whose condition an answer may still make true at most (the gym's
    interview announced "7个左右" and asked 8)."""
    low, high = engine.question_count_range(industry, answers)
    if low == high:
        return TEXTS("introduction", industry=industry.name, count=low)
    return TEXTS("introduction_range", industry=industry.name, low=low, high=high)


# ---------------------------------------------------------------------------
# Starting


def _industry_named(
    industries: Mapping[str, Industry], text: str, entities: Sequence[Mapping[str, Any]]
) -> Optional[Industry]:
    values = [str(e.get("value") or "") for e in entities if e.get("entity") == "industry"]
    for value in [*values, text]:
        found = find_industry(industries.values(), value)
        if found is not None:
            return found
    return None


def asks_what_it_is(text: str) -> bool:
    """"一业一证是啥" / "综合许可证是什么意思": the reform explained first."""
    text = normalize_text(text or "")
    return holds(text, PERMIT_REFORM) and holds(text, WHAT_IS)


def start(industries: Mapping[str, Industry], reply: Said) -> Outcome:
    """A new interview from "我想开个便利店": the industry if named, no answers; a
    question what 一业一证 is gets its answer first (then which business, with buttons)."""
    industry = _industry_named(industries, reply.text, reply.entities)
    outcome = Outcome(IntakeState(industry.code if industry else None, {}, None))
    if asks_what_it_is(reply.text):
        outcome.say(TEXTS("what_is"))
    if industry is not None:
        outcome.say(introduction(industry, {}))
    return outcome


# ---------------------------------------------------------------------------
# Reading a reply


def _named_questions(industry: Industry, text: str) -> List[Question]:
    """Questions whose keywords occur in text, the longest keyword first."""
    hits: List[Tuple[int, int, Question]] = []
    for question in industry.questions:
        lengths = [len(k) for k in question.keywords if k in text]
        if lengths:
            hits.append((-max(lengths), question.order, question))
    return [q for _, _, q in sorted(hits, key=lambda h: (h[0], h[1]))]


def _strip_correction(text: str) -> str:
    for word in (*CHANGE, *CHANGE_FILLERS):
        text = text.replace(word, " ")
    text = _ORDINAL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(_CORRECTION_EDGES)


def _value_for(question: Question, text: str) -> Any:
    return engine.parse_answer(question, text) if text else None


def _apply(industry: Industry, state: IntakeState, question: Question, value: Any) -> Optional[IntakeState]:
    try:
        answers = engine.change_answer(industry, state.answers, question.id, value)
    except engine.InvalidAnswer:
        return None
    return replace(state, answers=answers)


def _unmoot(industry: Industry, state: IntakeState, question: Question, value: Any) -> Optional[Outcome]:
    """A yes to a question an earlier answer made moot, which means that answer was
    wrong: both change, and the citizen is told both (engine.unmooting_answer)."""
    found = engine.unmooting_answer(industry, state.answers, question, value)
    if found is None:
        return None
    earlier, answers = found
    return Outcome(replace(state, answers=answers)).say(TEXTS(
        "unmooted", question=question.text, answer=engine.answer_label(question, value),
        earlier=earlier.text, earlier_answer=engine.answer_label(earlier, answers[earlier.id])))


def _restart(industries: Mapping[str, Industry], state: IntakeState, reply: Said) -> Outcome:
    named = _industry_named(industries, reply.text, reply.entities)
    code = named.code if named else state.industry
    outcome = Outcome(IntakeState(code, {}, None))
    industry = industries.get(code or "")
    if industry is None:
        return outcome.say(TEXTS("restarted"))
    return outcome.say(TEXTS("restarted") + introduction(industry, {}))


def _stop(state: IntakeState) -> Outcome:
    return Outcome(IntakeState(state.industry, {}, None), STOPPED).say(TEXTS("stopped"))


def _back(industry: Industry, state: IntakeState) -> Outcome:
    done = engine.answered(industry, state.answers)
    if not done:
        return Outcome(state).say(TEXTS("first_question"))
    last, _ = done[-1]
    answers = engine.forget_answer(industry, state.answers, last.id)
    return Outcome(replace(state, answers=answers)).say(TEXTS("went_back"))


def _correction(industry: Industry, state: IntakeState, text: str) -> Outcome:
    """“刚才说错了，我们卖酒” / “第3项改成否” / “我要修改”."""
    done = engine.answered(industry, state.answers)
    target: Optional[Question] = None
    ordinal = _ORDINAL.search(text)
    if ordinal and 1 <= int(ordinal.group(1)) <= len(done):
        target = done[int(ordinal.group(1)) - 1][0]
    else:
        named = [q for q in _named_questions(industry, text) if engine.applies(q, state.answers)]
        target = named[0] if named else None
    if target is None:
        return Outcome(state).say(TEXTS("which_to_change"))
    value = _value_for(target, _strip_correction(text))
    if value is None:
        # Which question is clear, the new answer is not: ask that question again.
        answers = engine.forget_answer(industry, state.answers, target.id)
        return Outcome(replace(state, answers=answers)).say(
            TEXTS("reanswer", question=target.text))
    changed = _apply(industry, state, target, value)
    if changed is None:
        return (_unmoot(industry, state, target, value)
                or Outcome(state).say(TEXTS("not_applicable", question=target.text)))
    return Outcome(changed).say(
        TEXTS("changed", question=target.text, answer=engine.answer_label(target, value)))


def _aside(
    industry: Optional[Industry], state: IntakeState, reply: Said, index: Optional[MatterIndex],
    context_code: Optional[str],
) -> Outcome:
    """A message that is not an answer: answer what can be answered, then go on."""
    outcome = Outcome(state)
    if reply.intent in TOPIC_BY_INTENT and index is not None:
        context = context_code or (industry.permit if industry else None)
        turn = answer_question(
            index, reply.intent, list(reply.entities), reply.text, context, None
        )
        outcome.turn.messages.extend(turn.messages)
        if turn.slots.get("matter_code"):
            outcome.turn.slots["matter_code"] = turn.slots["matter_code"]
        return outcome.say(TEXTS("go_on"))
    small_talk = known_chitchat(reply.text) if reply.intent == "chitchat" else None
    if small_talk:
        return outcome.say(small_talk + "\n" + TEXTS("go_on"))
    if reply.intent == "bot_challenge":
        return outcome.say(TEXTS("bot_challenge"))
    if state.asked == ASK_INDUSTRY:
        return outcome.say(TEXTS("industry_unknown"))
    if state.asked == ASK_CONFIRM:
        return outcome.say(TEXTS("not_understood"))
    asked = (industry.question(state.asked)
             if industry is not None and state.asked and industry.has_question(state.asked)
             else None)
    if asked is not None and asked.kind == "choice":  # a yes or no answers nothing here
        options = "、".join(f"{n}. {title}" for n, (title, _) in
                           enumerate(engine.choices(asked), 1))
        return outcome.say(TEXTS("not_understood_choice", options=options))
    return outcome.say(TEXTS("not_understood_answer"))


def handle_reply(
    industries: Mapping[str, Industry],
    state: IntakeState,
    reply: Said,
    index: Optional[MatterIndex] = None,
    context_code: Optional[str] = None,
) -> Outcome:
    """What the citizen's message does to the interview.

    Order: restart, stop, a person, back, an explicit correction, an answer naming another
    question, the answer to the question asked, and otherwise an aside (a question of
    their own, small talk, a person) after which the same question is asked again.
    """
    text = normalize_text(BUTTON_ANSWERS.get(reply.text.strip(), reply.text))
    industry = industries.get(state.industry or "")
    if holds(text, RESTART):
        return _restart(industries, state, reply)
    if holds(text, STOP_INTAKE):
        return _stop(state)
    if reply.intent == HUMAN_INTENT:  # before answers: "我要找人工" is no "yes"
        return Outcome(state, HANDOFF).say(HUMAN_TEXT)
    # Another industry named mid-way ("我想开药店"): start over with it.
    named_industry = _industry_named(industries, reply.text, reply.entities)
    if named_industry is not None and named_industry.code != state.industry and (
        industry is None or reply.intent == "start_permit_intake"
    ):
        outcome = Outcome(IntakeState(named_industry.code, {}, None))
        return outcome.say(introduction(named_industry, {}))
    if industry is None:
        return _aside(None, replace(state, asked=ASK_INDUSTRY), reply, index, context_code)
    if holds(text, BACK):
        return _back(industry, state)
    if holds(text, CHANGE):
        return _correction(industry, state, text)

    asked = industry.question(state.asked) if state.asked and industry.has_question(state.asked) else None
    if asked is not None and state.asked in engine.prune(industry, state.answers):
        asked = None  # answered meanwhile (e.g. by a correction): nothing pending
    if asked is not None and not engine.applies(asked, state.answers):
        asked = None

    # An answer that names another question's subject ("我们卖酒" while asked about
    # tobacco) answers that question, provided it applies and the text answers it.
    named = [q for q in _named_questions(industry, text)
             if engine.applies(q, state.answers) or q.yes_means_ask_if]
    if named and (asked is None or not any(k in text for k in asked.keywords)) and named[0] != asked:
        other = named[0]
        value = _value_for(other, text)
        if value is not None:
            changed = _apply(industry, state, other, value)
            if changed is not None:
                return Outcome(changed).say(
                    TEXTS("noted", question=other.text, answer=engine.answer_label(other, value)))
            unmooted = _unmoot(industry, state, other, value)
            if unmooted is not None:
                return unmooted

    if asked is not None:
        value = _value_for(asked, text)
        if value is not None:
            changed = _apply(industry, state, asked, value)
            if changed is not None:
                return Outcome(changed)
    elif state.asked == ASK_CONFIRM and engine.is_complete(industry, state.answers):
        verdict = parse_yes_no(text, CONFIRM)
        if verdict is True or holds(text, CONFIRM):
            return Outcome(state, CONFIRMED)
        if verdict is False:
            return _correction(industry, state, text)
    return _aside(industry, state, reply, index, context_code)
