"""Reading replies (ID last six, codes, numbers) and wording the answers."""
from __future__ import annotations

import pytest

from bot.status import parse, render
from bot.status.guard import Guard, Limits, Target
from bot.kv import MemoryStore


@pytest.mark.parametrize("text, last6", [
    ("身份证后六位是14051X", "14051X"),
    ("14051x", "14051X"),
    ("后6位140515", "140515"),
    ("身份證後六位 ２３１２８１", "231281"),
    ("我身份证510107199502140515", "140515"),
    ("140 515", "140515"),
    ("查一下SH20261105000123", None),        # an application number's digits are not it
    ("SH20261105000123 140515", "140515"),
    ("14051", None),
    ("140515 和 231281", None),               # two candidates: ask again
    ("我不记得了", None),
])
def test_id_last6(text, last6):
    assert parse.id_last6(text) == last6


@pytest.mark.parametrize("text, code", [
    ("482913", "482913"),
    ("验证码：４８２９１３", "482913"),
    ("482 913", "482913"),
    ("码是135790哦", "135790"),
    ("4829134", None),
    ("SH20261105000123", None),
    ("没收到", None),
])
def test_sms_code(text, code):
    assert parse.sms_code(text) == code


def test_malformed_numbers_resend_and_stop_words():
    assert parse.looks_like_bad_number("查一下SH2026110500012")
    assert not parse.looks_like_bad_number("查一下SH20261105000123")
    assert not parse.looks_like_bad_number("482913")
    assert parse.asks_resend("验证码一直沒收到") and not parse.asks_resend("收到了 482913")
    assert parse.asks_stop("算了不查了") and not parse.asks_stop("好的")


def test_rejected_application_shows_the_reason_and_list_has_buttons():
    app = {"number": "SH20261121000555", "matter_name": "灵活就业登记", "status": "completed",
           "status_label": "办结", "department": "浦东新区就业促进中心", "due_date": "2026-11-21",
           "result": "rejected", "result_label": "不予办理", "result_reason": "不符合条件。",
           "completed_at": "2026-11-21T11:20:00+08:00", "missing_materials": [],
           "history": [], "enterprise": None}
    text, buttons = render.application(app, lambda code: None)
    assert "办理结果：不予办理。原因：不符合条件。" in text and "办结时间：2026-11-21" in text
    assert buttons == []
    listed, buttons = render.application_list([app])
    assert "共有1件" in listed and buttons[0]["payload"] == (
        '/check_application_status{"application_number": "SH20261121000555"}')


async def test_codes_are_stored_only_as_digests():
    store = MemoryStore()
    guard = Guard(store, Limits())
    code = await guard.issue("rest:a", Target("P" + "0" * 24, "138****0004", "SH20261105000123"))
    assert len(code) == 6 and code.isdigit()
    assert all(code not in value for value, _ in store._data.values())
    assert await guard.check("rest:b", code) == "expired"  # another user's code is not theirs
    assert await guard.check("rest:a", code) == "ok"
    assert await guard.check("rest:a", code) == "expired"  # one-time
