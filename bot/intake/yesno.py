"""Reading a yes/no answer from what a citizen types in Chinese.

Citizens rarely type 是 or 否. They answer with the question's own verb (卖的 / 不卖,
设置了 / 没设), with 有 / 没有, with time words (暂时不, 还没办, 已经办了), with
fillers (嗯, 对的), in Traditional characters, or with 1/0 and Y/N. Anything that is
neither a yes nor a no — a question of their own (需要带身份证原件吗？), a greeting,
"不知道" — gives None, so the bot can answer it or ask again with buttons.

The parser is deliberately conservative: when the clauses of an answer disagree
(卖烟，不卖酒) it returns None rather than guess.

The words it knows are cues (data/cues.yml, named in bot/dialogue/cues.py), edited
without touching the parser; here is only the grammar that arranges them.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from bot.dialogue.cues import (ADVERBS, CONNECTIVES, LEADING_FILLERS, NEGATION_CHARACTERS,
                               NEGATIONS, QUESTION_WORDS, REPEATED_NEGATION, TOPIC_PARTICLES,
                               TRAILING_PARTICLES, UNSURE, VERBS, WEAK_NO, WEAK_YES, YES_NO_EMOJI)
from bot.text import normalize_text

#: Punctuation splits an answer into clauses.
_SPLIT = re.compile(r"[,，。.!！;；、:：\s…]+")
_EMOJI = {emoji: f" {word} " for emoji, word in YES_NO_EMOJI.items()}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_ADV = _alternation(ADVERBS)
_NEG = _alternation(NEGATIONS)
_NEG_CHARS = NEGATION_CHARACTERS
_NEG_CLASS = re.escape(NEGATION_CHARACTERS)
_TOPIC_PARTICLES = _alternation(TOPIC_PARTICLES)
_REPEATED_NEGATION = _alternation(REPEATED_NEGATION)


def _clean(text: str) -> str:
    for emoji, word in _EMOJI.items():
        text = text.replace(emoji, word)
    return normalize_text(text).lower()


def _reduplicated(text: str) -> str:
    """对对对 → 对, 不卖不卖 → 不卖, 没有没有 → 没有."""
    match = re.fullmatch(r"(.+?)\1+", text)
    return match.group(1) if match else text


def _is_question(text: str) -> bool:
    if "?" in text:
        return True
    if any(w in text for w in QUESTION_WORDS):
        return True
    # A-not-A: 是不是, 有没有, 卖不卖, 经营不经营. Grammar, not a word list: the
    # back-references say "the same one or two characters on both sides of 不 or 没",
    # which a list of words could only spell out verb by verb.
    return bool(re.search(r"([^不没])[不没]\1|(..)[不没]\2", text))


def _trim(clause: str) -> str:
    clause = clause.strip(TRAILING_PARTICLES + " ")
    while True:
        for filler in LEADING_FILLERS:
            if clause.startswith(filler) and len(clause) > len(filler):
                clause = clause[len(filler):].lstrip(TRAILING_PARTICLES + " ")
                break
        else:
            break
    return _reduplicated(clause.rstrip(TRAILING_PARTICLES + " "))


def _clause(clause: str, verbs: str, topics: str = "") -> Tuple[Optional[bool], bool]:
    """(answer, strong) for one clause; strong answers carry content, weak only confirm."""
    clause = _trim(clause)
    if not clause:
        return None, False
    if topics:
        # Topic first: 烟不卖 / 酒的话没有 / 招牌有的 — the question's word, then the answer.
        topic = re.fullmatch(rf"(?:{topics})(?:{_TOPIC_PARTICLES})?(.+)", clause)
        if topic:
            value, _ = _clause(topic.group(1), verbs)
            if value is not None:
                return value, True
    if clause in WEAK_YES:
        return True, False
    if clause in WEAK_NO:
        return False, False
    # Negative: [adverbs] negation [adverbs] [verb + anything short]
    neg = re.fullmatch(rf"(?:{_ADV})*(?:{_NEG})(?:{_ADV})*(?:(?:{verbs})(.{{0,12}}))?", clause)
    if neg:
        rest = neg.group(1) or ""
        if any(c in rest for c in _NEG_CHARS):
            # 不卖烟也不卖酒 stays a no; 不是没有 and other mixtures are unclear.
            if not re.fullmatch(
                rf"[^{_NEG_CLASS}]*(?:(?:{_REPEATED_NEGATION})(?:{_NEG})[^{_NEG_CLASS}]*)+", rest
            ):
                return None, False
        return False, True
    yes = re.fullmatch(rf"(?:{_ADV})*(?:{verbs})(.{{0,12}})", clause)
    if yes:
        if any(c in yes.group(1) for c in _NEG_CHARS):
            return None, False  # 有的不卖, 卖的不多 …
        return True, True
    return None, False


def parse_yes_no(text: str, context_words: Iterable[str] = (),
                 topic_words: Iterable[str] = ()) -> Optional[bool]:
    """True for a yes, False for a no, None for anything else.

    context_words are the question's own words that may carry the answer (e.g. 现做 for
    "是否现场制售食品？"), added to the common verbs 有/卖/经营/设置/办 …. topic_words may
    only stand before the answer (营业执照还没办: the subject, then a no), never carry it.
    """
    if not text or not text.strip():
        return None
    cleaned = _clean(text)
    if not cleaned:
        return None
    whole = _reduplicated(re.sub(r"[\s,，。.!！~]+", "", cleaned))
    if _is_question(whole) and whole not in WEAK_YES | WEAK_NO:
        return None
    if any(w in whole for w in UNSURE):
        return None
    context = [w.strip() for w in context_words if w and w.strip()]
    verbs = _alternation([*VERBS, *context])
    topic_list = [*context, *(w.strip() for w in topic_words if w and w.strip())]
    topics = _alternation(topic_list) if topic_list else ""
    results: List[Tuple[bool, bool]] = []
    for clause in _SPLIT.split(cleaned):
        if not clause or clause.startswith(CONNECTIVES):
            continue
        value, strong = _clause(clause, verbs, topics)
        if value is not None:
            results.append((value, strong))
    strong = [v for v, s in results if s]
    if strong:
        return strong[0] if all(v == strong[0] for v in strong) else None
    return results[0][0] if results else None
