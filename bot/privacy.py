"""Masking of personal numbers for logs and for answers that need not show them.

ID numbers (居民身份证号码) and mobile numbers never appear in full in a log line:
`mask_id('310101199001011234')` → `'310101********1234'`, `mask_phone('13812341234')` →
`'138****1234'`, and `mask_text` masks every 18-character ID number and 11-digit mobile
number found in free text (a URL, an exception message, a citizen's message).
`MaskingFilter` applies `mask_text` to log records, tracebacks included.

What is kept of a citizen's text at rest goes further (`mask_personal`): six characters
standing alone — an ID number's last six or an SMS code — are blanked too. A text kept
for an agent's audited reveal is sealed (`sealer()`: Fernet with SEAL_KEY), so a
database dump shows no phone or ID number.
"""
from __future__ import annotations

import logging
import re
from typing import Dict, Optional

from bot import settings

# 17 digits and a check character (digit or X); not part of a longer run of digits.
_ID_RE = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9Xx])")
# A mainland mobile number, optionally written 138-1234-1234, 138 1234 1234, +86 138….
_PHONE_RE = re.compile(r"(?<!\d)((?:86[- ]?)?1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask_id(value: Optional[str]) -> str:
    """'310101199001011234' → '310101********1234' (first six and last four kept)."""
    if not value:
        return ""
    value = str(value).strip()
    if len(value) > 10:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    return "*" * len(value)


def mask_phone(value: Optional[str]) -> str:
    """'13812341234' → '138****1234' (first three and last four kept)."""
    if not value:
        return ""
    value = re.sub(r"[\s-]", "", str(value))
    if len(value) > 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


def mask_name(value: Optional[str]) -> str:
    """'张伟' → '张*', '欧阳娜娜' → '欧***'."""
    if not value:
        return ""
    value = str(value).strip()
    return value[:1] + "*" * (len(value) - 1)


def mask_text(text: Optional[str]) -> str:
    """Masks every 18-character ID number and 11-digit mobile number in free text."""
    if not text:
        return "" if text is None else text
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), str(text))
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


# Six characters standing alone: an ID number's last six or an SMS code — the secrets of
# the status check (bot/status) — or by chance a postcode. Nobody needs them back.
_SIX_ALONE = re.compile(r"(?<![0-9A-Za-z*])\d{5}[\dXx](?![0-9A-Za-z*])")
SIX_BLANK = "******"


def blank_six(text: str) -> str:
    """'验证码 482913' → '验证码 ******'; longer numbers (IDs, phones) are left alone."""
    return _SIX_ALONE.sub(SIX_BLANK, text)


def mask_personal(text: Optional[str]) -> str:
    """A citizen's text as it may be stored or shown to anyone: ID and mobile numbers
    masked (`mask_text`) and six-character secrets blanked (`blank_six`)."""
    return blank_six(mask_text(text)) if text else mask_text(text)


#: Development value of SEAL_KEY (a Fernet key); refused in production (settings.secret).
DEV_SEAL_KEY = "Z292Ym90LWRldmVsb3BtZW50LXNlYWwta2V5LTAwMDE="
#: Every Fernet token starts so (version byte 0x80 and a timestamp): tells sealed values
#: from ones an earlier version stored in clear.
SEALED_PREFIX = "gAAAAA"


class Sealer:
    """Encrypts the originals kept for an agent's audited reveal (Fernet: AES-CBC and an
    HMAC). SEAL_KEY may list several keys, comma-separated: the first seals, all unseal,
    so a key can be replaced without losing what the old one sealed."""

    def __init__(self, keys: str) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        try:
            self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError):
            raise settings.InsecureConfiguration(
                "SEAL_KEY must be Fernet keys (32 url-safe base64 bytes, comma-separated); make "
                "one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'") from None

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def unseal(self, token: Optional[str]) -> Optional[str]:
        """The sealed text; None when it is not a token of these keys."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt((token or "").encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            return None


_sealers: Dict[str, Sealer] = {}


def sealer() -> Sealer:
    """The process's sealer for SEAL_KEY (required in production, bot.settings.secret)."""
    keys = settings.secret("SEAL_KEY", DEV_SEAL_KEY)
    if keys not in _sealers:
        _sealers[keys] = Sealer(keys)
    return _sealers[keys]


#: The attributes every log record has; any other was passed as `extra` (Sanic's access
#: log puts the request line, URL and query included, in `request`).
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class MaskingFilter(logging.Filter):
    """Masks ID and mobile numbers in a record's message, arguments, traceback and the
    text fields passed as `extra`.

    Attach it to a handler: it then applies to everything the handler writes, including
    records propagated from other loggers (bot/logs.py puts it on every handler). On a
    logger it applies only to records logged on that very logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, mask_text(value))
        return True


def add_masking_filter(target: logging.Filterer) -> None:
    """One `MaskingFilter` on a handler (or logger), however often it is asked."""
    if not any(isinstance(f, MaskingFilter) for f in target.filters):
        target.addFilter(MaskingFilter())


def install_log_masking(*loggers: logging.Logger) -> None:
    """Adds one `MaskingFilter` to the root logger's handlers and to the given loggers
    (a process masks every handler with `bot.logs.configure_logging`)."""
    for target in list(logging.getLogger().handlers) + list(loggers):
        add_masking_filter(target)
