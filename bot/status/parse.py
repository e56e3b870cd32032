"""What a citizen's reply holds, read only when the bot asked for it.

The same six digits can be an ID's last six, an SMS code or part of an application
number, so the dialogue calls these functions only at the step that asked for that value,
and application numbers are taken out of the text first.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Optional

from bot.dialogue.cues import RESEND, STOP_STATUS, holds
from bot.text import find_application_number, normalize_text

_NUMBER_SHAPE = re.compile(r"[A-Za-z]{2}[\s\-_]*((?:\d[\s\-_]*){13}\d)")
_FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_LAST6 = re.compile(r"(?<![0-9A-Za-z])(\d{5}[\dXx])(?![0-9A-Za-z])")
_LAST6_SPACED = re.compile(r"(?<![0-9A-Za-z])(\d{3})[\s\-](\d{2}[\dXx])(?![0-9A-Za-z])")
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_CODE_SPACED = re.compile(r"(?<!\d)(\d{3})[\s\-](\d{3})(?!\d)")
# 'SH' followed by a run of digits that is not a valid number: worth a format hint.
_NUMBER_ATTEMPT = re.compile(r"(?<![A-Za-z])[Ss][Hh][\s\-_]*\d[\d\s\-_]{3,}")



def _clean(text: str) -> str:
    """Normalised text without any application number (its digits are not answers)."""
    text = normalize_text(text or "")
    return _NUMBER_SHAPE.sub(" ", text)


def id_last6(text: str) -> Optional[str]:
    """The ID number's last six characters ('14051x' → '14051X'); a whole ID number gives
    its last six. None when the text holds no such value or more than one candidate."""
    cleaned = _clean(text)
    full = _FULL_ID.findall(cleaned)
    if full:
        return full[-1][-6:].upper()
    found = _LAST6.findall(cleaned) or [a + b for a, b in _LAST6_SPACED.findall(cleaned)]
    if len(set(found)) != 1:
        return None
    return found[0].upper()


def sms_code(text: str) -> Optional[str]:
    """A six-digit code ('482913', '482 913', '验证码：４８２９１３'); None when absent or
    ambiguous."""
    cleaned = _clean(text)
    found = _CODE.findall(cleaned) or [a + b for a, b in _CODE_SPACED.findall(cleaned)]
    if len(set(found)) != 1:
        return None
    return found[0]


def application_number(text: str) -> Optional[str]:
    return find_application_number(text or "")


def never_issued(number: str) -> bool:
    """A number of the right length no office can have issued: another prefix than SH,
    or eight digits after SH that are not a date ('SH20261399000123'). The citizen is told so at once (nothing about any real
    application is revealed), instead of being asked for their ID first and then hearing
    that the format is wrong, which it is not."""
    digits = number[2:10]
    if number[:2].upper() != "SH":
        return True
    if not digits.isdigit():
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return True
    return False


def looks_like_bad_number(text: str) -> bool:
    """'SH2026110500012' (a digit short) and the like: a number typed wrong."""
    text = normalize_text(text or "")
    return find_application_number(text) is None and bool(_NUMBER_ATTEMPT.search(text))


def asks_resend(text: str) -> bool:
    text = normalize_text(text or "")
    return holds(text, RESEND)


def asks_stop(text: str) -> bool:
    text = normalize_text(text or "")
    return holds(text, STOP_STATUS)
