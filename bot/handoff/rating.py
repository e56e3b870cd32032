"""Reading a 1–5 satisfaction score from what the citizen typed or tapped."""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional

from bot.dialogue.cues import RATING_WORDS
from bot.text import normalize_text

_DIGIT = re.compile(r"(?<!\d)([1-5])(?!\d)")
# The Chinese numerals of a score and its units (四分, 五星) are grammar, a closed set like
# the Arabic digits above, so they stay in the pattern; the rating's words are cues
# (RATING_WORDS, data/cues.yml).
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CHINESE = re.compile(r"([一二两三四五])\s*(?:分|星)")


def score_from(text: str, entities: Iterable[Mapping] = ()) -> Optional[int]:
    """The score the citizen gave, None if the message holds none.

    >>> score_from('/rate_service{"satisfaction":"5"}', [{"entity": "satisfaction", "value": "5"}])
    5
    >>> score_from("还行，四分"), score_from("不满意"), score_from("明天")
    (4, 2, None)
    """
    for entity in entities:
        if entity.get("entity") == "satisfaction":
            match = _DIGIT.search(str(entity.get("value", "")))
            if match:
                return int(match.group(1))
    text = normalize_text(text) if text else ""
    match = _DIGIT.search(text) or _CHINESE.search(text)
    if match:
        value = match.group(1)
        return int(value) if value.isdigit() else _CHINESE_DIGITS[value]
    for word, score in RATING_WORDS:
        if word in text:
            return score
    if text.strip() in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[text.strip()]
    return None
