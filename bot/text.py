"""Normalisation of what citizens type, shared by NLU and catalog search.

Citizens write Traditional characters, full-width letters and digits from Chinese input
methods, emoji, and stray spaces from voice input. Everything that reads text (the NLU
pipeline, the catalog search) must see the same simplified, half-width form, so the
rules live here once. Every output character remembers the input position it came from,
so entity offsets in training data can be moved along with the text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Tuple

#: Longer input is cut before NLU: intent and entities are in the first few hundred
#: characters, and a 2,000-character complaint must not make DIET slow for everyone.
MAX_NLU_CHARS = 400
#: No caller reads further into a text than this (search, application numbers, NLU):
#: a 10 MB message costs what a 4,000-character one does.
MAX_INPUT_CHARS = 4000

_EMOJI_RANGES: Tuple[Tuple[int, int], ...] = (
    (0x1F000, 0x1FAFF),  # pictographs, emoticons, transport, symbols & pictographs ext.
    (0x2600, 0x27BF),  # misc symbols, dingbats
    (0x2B00, 0x2BFF),  # arrows and stars used as emoji
    (0xFE00, 0xFE0F),  # variation selectors
    (0x200D, 0x200D),  # zero-width joiner
    (0x20E3, 0x20E3),  # keycap
    (0xE0020, 0xE007F),  # tag characters (flags)
)


@lru_cache(maxsize=1)
def _converter():
    import opencc  # opencc-python-reimplemented

    return opencc.OpenCC("t2s")


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x3000 <= cp <= 0x303F  # CJK punctuation
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x2A6DF
    )


def _half_width(ch: str) -> str:
    cp = ord(ch)
    if 0xFF01 <= cp <= 0xFF5E:
        return chr(cp - 0xFEE0)
    if cp == 0x3000:
        return " "
    return ch


def to_simplified(text: str) -> str:
    """Traditional → Simplified, always the same length as the input.

    OpenCC converts phrases, which may in rare cases change the length; then we fall
    back to converting character by character so offsets stay valid.
    """
    if not text:
        return text
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(
        c if len(c) == 1 else ch for ch, c in ((ch, _converter().convert(ch)) for ch in text)
    )


@dataclass(frozen=True)
class Normalized:
    """Normalised text and, for each of its characters, the index in the original."""

    text: str
    origin: Tuple[int, ...]

    def span(self, start: int, end: int) -> Tuple[int, int] | None:
        """Maps an original [start, end) span to the normalised text, None if removed."""
        inside = [i for i, o in enumerate(self.origin) if start <= o < end]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


def _bounded(text: str, max_chars: int | None) -> str:
    """The raw prefix worth reading: removed characters (emoji, spaces, controls) may
    shorten the text, so a few times `max_chars` is kept, never more than
    MAX_INPUT_CHARS. Cutting first keeps every later step linear in a small bound."""
    limit = MAX_INPUT_CHARS if max_chars is None else min(MAX_INPUT_CHARS, 4 * max_chars)
    return text[:limit]


def normalize(text: str, max_chars: int | None = None) -> Normalized:
    """Full-width → half-width, Traditional → Simplified, emoji and control characters
    dropped, whitespace collapsed (and removed between Chinese characters, where it is
    only an input-method artefact), then cut to max_chars. Input beyond MAX_INPUT_CHARS
    (or 4 × max_chars) is not read at all."""
    text = _bounded(text or "", max_chars)
    chars: List[Tuple[str, int]] = []
    for i, ch in enumerate(text):
        ch = _half_width(ch)
        if _is_emoji(ch):
            ch = " "
        elif ch in "\t\r\n\v\f\u00a0\u2028\u2029":
            ch = " "
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        chars.append((ch, i))

    simplified = to_simplified("".join(c for c, _ in chars))

    # One pass: a run of spaces is kept as one space (at its first position) only
    # between two non-Chinese characters; leading and trailing runs are dropped.
    out: List[Tuple[str, int]] = []
    space_at: int | None = None
    for ch, (_, origin) in zip(simplified, chars):
        if ch == " ":
            if out and space_at is None:
                space_at = origin
            continue
        if space_at is not None and not (_is_cjk(out[-1][0]) or _is_cjk(ch)):
            out.append((" ", space_at))
        space_at = None
        out.append((ch, origin))
        if max_chars is not None and len(out) >= max_chars:
            break
    if max_chars is not None:
        out = out[:max_chars]
    return Normalized("".join(c for c, _ in out), tuple(o for _, o in out))


def normalize_text(text: str, max_chars: int | None = None) -> str:
    return normalize(text, max_chars).text


_APPLICATION_NUMBER = re.compile(r"([A-Za-z]{2})[\s\-_]*((?:\d[\s\-_]*){13}\d)")


def find_application_number(text: str) -> str | None:
    """The first application number (two letters, 14 digits) in text, canonical form.

    Citizens read numbers off paper and type them with spaces, dashes, lower case or
    full-width characters; the canonical form is upper case without separators.
    """
    match = _APPLICATION_NUMBER.search(normalize_text(text))
    if not match:
        return None
    return match.group(1).upper() + re.sub(r"\D", "", match.group(2))
