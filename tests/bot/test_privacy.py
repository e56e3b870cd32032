"""Masking of ID and mobile numbers (bot/privacy.py) and the number formats."""
from __future__ import annotations

import logging

import pytest

from standins.gov_backend.ids import (
    holder_kind,
    make_credit_code,
    make_id_number,
    normalize_application_number,
    normalize_credit_code,
    normalize_id_number,
    normalize_last6,
)
from bot.privacy import MaskingFilter, mask_id, mask_name, mask_phone, mask_text


def test_mask_id_and_phone():
    assert mask_id("310101199001011234") == "310101********1234"
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("138-1234-1234") == "138****1234"
    assert mask_id("") == "" and mask_phone(None) == ""
    assert mask_id("12345") == "*****" and mask_phone("1234") == "****"
    assert mask_name("张伟") == "张*" and mask_name("欧阳娜娜") == "欧***"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("身份证310101199001011234，电话13812341234",
         "身份证310101********1234，电话138****1234"),
        ("/api/v1/people/11010519491231002x/applications",
         "/api/v1/people/110105********002x/applications"),
        ("holder=310101199001011234&x=1", "holder=310101********1234&x=1"),
        ("call 138 1234 1234 or +8613812341234", "call 138****1234 or +86138****1234"),
        ("tel:13812341234.", "tel:138****1234."),
        # not IDs or phones: application numbers, longer digit runs, landlines, short numbers
        ("办件SH20261105000123", "办件SH20261105000123"),
        ("1234567890123456789012", "1234567890123456789012"),
        ("021-12345678 and 12812341234 and 1381234123", "021-12345678 and 12812341234 and 1381234123"),
        ("", ""),
    ],
)
def test_mask_text(text, expected):
    assert mask_text(text) == expected


def test_mask_text_leaves_no_full_number():
    text = "a310101199001011234b 13812341234x 身份证号:42010619980930028X。"
    masked = mask_text(text)
    for secret in ("310101199001011234", "13812341234", "42010619980930028X"):
        assert secret not in masked


def test_masking_filter_masks_message_args_and_traceback():
    logger = logging.getLogger("test.privacy")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("person %s phone %s", "310101199001011234", "13812341234")
        try:
            raise ValueError("bad id 310101199001011234")
        except ValueError:
            logger.exception("failed for %s", "13812341234")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = "\n".join(records)
    assert "310101********1234" in text and "138****1234" in text
    assert "310101199001011234" not in text and "13812341234" not in text
    assert "ValueError" in text  # the traceback is kept, masked


def test_id_numbers():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"
    assert normalize_id_number("110105194912310021") is None  # wrong check character
    assert normalize_id_number("110105194913310029") is None  # month 13
    assert normalize_id_number("1101051949123100") is None
    assert normalize_id_number(12345) is None
    made = make_id_number("310104", "19920708", "046")
    assert normalize_id_number(made) == made


def test_credit_codes_and_other_numbers():
    assert normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"  # GB 32100 example
    assert normalize_credit_code("91350100m000100y43") == "91350100M000100Y43"
    assert normalize_credit_code("91350100M000100Y44") is None
    assert normalize_credit_code("91350100M000100YI3") is None  # I is not in the charset
    made = make_credit_code("91", "310115", "MA1FL7Q2")
    assert normalize_credit_code(made) == made
    assert holder_kind(made) == "enterprise"
    assert holder_kind("11010519491231002X") == "person"
    assert holder_kind("hello") is None
    assert normalize_application_number(" sh20261105000123") == "SH20261105000123"
    assert normalize_application_number("SH20261305000123") is None  # month 13
    assert normalize_application_number("SH2026110500012") is None
    assert normalize_last6("12345x") == "12345X"
    assert normalize_last6("1234X5") is None and normalize_last6(123456) is None
