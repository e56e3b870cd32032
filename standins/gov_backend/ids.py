"""Formats of the numbers the backend accepts: ID numbers, credit codes, application numbers.

- 居民身份证号码 (GB 11643): 6-digit region, 8-digit birth date, 3-digit sequence, check
  character (ISO 7064 MOD 11-2, 'X' for 10).
- 统一社会信用代码 (GB 32100): 18 characters from 0-9 and A-Y without I, O, S, V, Z; the last
  one a MOD 31 check character. (The 9-character organisation code inside it has its own
  GB 11714 check character, which `make_credit_code` computes too.)
- 办件编号: 'SH' + submission date (YYYYMMDD) + 6 digits, e.g. SH20261105000123.
- person_id: 'P' + 24 random hex digits, the backend's opaque id of a citizen who passed
  an identity check (it reveals nothing; an ID number never has its form).
"""
from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Optional

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(f"^[{CREDIT_CHARSET}]{{18}}$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_APPLICATION_RE = re.compile(r"^SH([0-9]{4})([0-9]{2})([0-9]{2})[0-9]{6}$")
_LAST6_RE = re.compile(r"^[0-9]{5}[0-9X]$")
PERSON_ID_RE = re.compile(r"P[0-9a-f]{24}")


def _canonical(value: object, pattern: re.Pattern) -> Optional[str]:
    """`value` stripped and upper-cased when it is a string of `pattern`'s form, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip().upper()
    return value if pattern.fullmatch(value) else None


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def normalize_id_number(value: object) -> Optional[str]:
    """The ID number in canonical form (upper-case X), or None when it is not valid."""
    value = _canonical(value, _ID_RE)
    if value is None or not _valid_date(value[6:10], value[10:12], value[12:14]):
        return None
    return value if id_check_char(value[:17]) == value[17] else None


def make_id_number(region: str, birth: str, sequence: str) -> str:
    """make_id_number('310101', '19900101', '123') → a valid 18-character ID number."""
    first17 = f"{region}{birth}{sequence}"
    assert len(first17) == 17 and first17.isdigit()
    return first17 + id_check_char(first17)


def _org_check_char(first8: str) -> str:
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, _ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def normalize_credit_code(value: object) -> Optional[str]:
    """The unified social credit code upper-cased, or None when it is not valid."""
    value = _canonical(value, _CREDIT_RE)
    return value if value is not None and credit_check_char(value[:17]) == value[17] else None


def make_credit_code(authority_type: str, region: str, org_base: str) -> str:
    """make_credit_code('91', '310115', 'MA1K4Q7P') → a valid 18-character credit code."""
    org = org_base + _org_check_char(org_base)
    first17 = f"{authority_type}{region}{org}"
    assert len(first17) == 17
    return first17 + credit_check_char(first17)


def normalize_application_number(value: object) -> Optional[str]:
    """'sh20261105000123 ' → 'SH20261105000123'; None unless 'SH' + valid date + 6 digits."""
    value = _canonical(value, _APPLICATION_RE)
    if value is None or not _valid_date(*_APPLICATION_RE.fullmatch(value).groups()):
        return None
    return value


def normalize_last6(value: object) -> Optional[str]:
    """The last six characters of an ID number ('12345x' → '12345X'), or None."""
    return _canonical(value, _LAST6_RE)


def holder_kind(value: object) -> Optional[str]:
    """'person' for a valid ID number, 'enterprise' for a valid credit code, else None."""
    if normalize_id_number(value):
        return "person"
    if normalize_credit_code(value):
        return "enterprise"
    return None


def is_person_id(value: object) -> bool:
    """Whether `value` (stripped) has the form of a person_id: 'P' + 24 hex digits."""
    return isinstance(value, str) and PERSON_ID_RE.fullmatch(value.strip()) is not None


def new_person_id() -> str:
    """A fresh person_id: random, so it tells nothing about the person."""
    return "P" + secrets.token_hex(12)
