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

#: Longer input is cut before NLU (its beginning and its end are kept): what is asked
#: and about what is there, and a 2,000-character complaint must not make DIET slow for
#: everyone (nor its training: a batch is as long as its longest example).
MAX_NLU_CHARS = 120
#: Of a text cut for the NLU, this part of the room goes to its end (1/3).
TAIL_SHARE = 3
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


def _normalized_chars(text: str, offset: int = 0) -> List[Tuple[str, int]]:
    """Each kept character of `text`, normalised, with its index in the original
    (`offset` + its index here). Linear: one pass per step."""
    chars: List[Tuple[str, int]] = []
    for i, ch in enumerate(text):
        ch = _half_width(ch)
        if _is_emoji(ch):
            ch = " "
        elif ch in "\t\r\n\v\f\u00a0\u2028\u2029":
            ch = " "
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        chars.append((ch, offset + i))

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
    return out


def _head_and_tail(text: str, max_chars: int) -> List[Tuple[str, int]]:
    """At most max_chars normalised characters: the text's beginning and, of a longer
    text, its end (TAIL_SHARE of the room). Citizens who tell their story first ask
    their question last ("……请问要带什么材料？"). Only a few times max_chars of raw text
    is read at either end (removed characters may shorten it)."""
    tail_room = max_chars // TAIL_SHARE
    head_room = max_chars - tail_room
    window = 4 * max_chars
    if len(text) <= 2 * window:
        out = _normalized_chars(text)
    else:
        out = _normalized_chars(text[:window]) + _normalized_chars(text[-window:],
                                                                   len(text) - window)
    if len(out) <= max_chars:
        return out
    return out[:head_room] + out[-tail_room:] if tail_room else out[:max_chars]


def normalize(text: str, max_chars: int | None = None) -> Normalized:
    """Full-width → half-width, Traditional → Simplified, emoji and control characters
    dropped, whitespace collapsed (and removed between Chinese characters, where it is
    only an input-method artefact). With max_chars, a longer text keeps its beginning
    and its end (`_head_and_tail`); without, input beyond MAX_INPUT_CHARS is not read."""
    text = text or ""
    if max_chars is None:
        out = _normalized_chars(text[:MAX_INPUT_CHARS])
    else:
        out = _head_and_tail(text, max_chars)
    return Normalized("".join(c for c, _ in out), tuple(o for _, o in out))


def normalize_text(text: str, max_chars: int | None = None) -> str:
    return normalize(text, max_chars).text


_APPLICATION_NUMBER = re.compile(r"([A-Za-z]{2})[\s\-_]*((?:\d[\s\-_]*){13}\d)")


def application_number_spans(normalized: str) -> List[Tuple[int, int]]:
    """Where application numbers stand in an already normalised text (start, end)."""
    return [match.span() for match in _APPLICATION_NUMBER.finditer(normalized)]


def find_application_number(text: str) -> str | None:
    """The first application number (two letters, 14 digits) in text, canonical form.

    Citizens read numbers off paper and type them with spaces, dashes, lower case or
    full-width characters; the canonical form is upper case without separators.
    """
    match = _APPLICATION_NUMBER.search(normalize_text(text))
    if not match:
        return None
    return match.group(1).upper() + re.sub(r"\D", "", match.group(2))
