"""Lockout by strangers is impossible while the owner keeps access, and brute force is not
opened: scripted attacks with many fresh senders against a backend with its real limits
(5 failed identity checks, 10 SMS per 10 minutes), then the owner completes the check."""
from __future__ import annotations

import asyncio

import pytest

from standins.gov_backend.sms import last_code, messages_to
from bot.status.guard import Limits
from bot.status.render import TEXTS
from tests.fixtures.gov_backend import _backend
from tests.fixtures.status import Chat, buttons, code_for, said

LIU = ("SH20261105000123", "140515", "13810000004")  # 刘洋: 待领证
WRONG = [f"{n:06d}" for n in range(100001, 100200)]  # none is 刘洋's


@pytest.fixture
async def strict(tmp_path):
    """The backend with the limits a deployment has (the shared fixture lifts them)."""
    runner, info = await _backend(f"sqlite:///{tmp_path / 'strict.db'}", tmp_path,
                                  identity_max_failures=5, sms_limit=10)
    yield info
    await runner.cleanup()


async def _attack(dialogue, senders: int, tries: int, number: str = LIU[0]) -> list:
    """`senders` fresh channel accounts each give `tries` wrong last-6 for the number."""
    wrong = iter(WRONG)
    answers = []
    for _ in range(senders):
        chat = Chat(dialogue)
        await chat.say(f"查一下{number}", "check_application_status")
        for _ in range(tries):
            answers.append(said(await chat.say(next(wrong))))
    return answers


def _transcript(turn, chat: Chat):
    return said(turn), buttons(turn), chat.slots.get("status_flow"), chat.slots.get("status_active")


async def test_strangers_cannot_lock_the_owner_out(make_dialogue, strict):
    dialogue = make_dialogue(backend_url=strict.url)
    answers = await _attack(dialogue, senders=12, tries=5)
    assert TEXTS["locked"] in answers  # each stranger is locked himself…
    assert last_code(strict.engine, LIU[2]) is None  # …and a wrong last-6 never sends a code

    owner = Chat(dialogue)
    asked = await owner.say(f"查一下{LIU[0]}", "check_application_status")
    assert said(asked) == TEXTS["ask_last6"] and owner.step == "ask_last6"
    sent = await owner.say(LIU[1])
    assert said(sent) == TEXTS["code_sent_quiet"] and owner.step == "ask_code"
    shown = await owner.say(code_for(strict, LIU[2]))
    assert "当前环节：待领证" in said(shown) and owner.slots["verified_person_id"]
    assert TEXTS["ask_consent"] in said(shown)  # and may bind, as any verified citizen


async def test_under_attack_a_right_and_a_wrong_last6_get_the_same_answers(make_dialogue, strict):
    dialogue = make_dialogue(Limits(resend_gap=0.3), backend_url=strict.url)
    await _attack(dialogue, senders=5, tries=1)  # the number is now under attack
    right, wrong = Chat(dialogue), Chat(dialogue)
    seen = {}
    for chat, last6 in ((right, LIU[1]), (wrong, "999999")):
        asked = await chat.say(f"查一下{LIU[0]}", "check_application_status")
        answered = await chat.say(last6)
        seen[last6] = [_transcript(asked, chat), _transcript(answered, chat)]
    assert seen[LIU[1]] == seen["999999"]
    assert "验证码已发送" in seen["999999"][1][0] and "138****" not in seen["999999"][1][0]
    assert len(messages_to(strict.engine, LIU[2])) == 1  # only the right one sent a code

    code = code_for(strict, LIU[2])
    guess = "000000" if code != "000000" else "111111"
    for _ in range(3):  # guesses: the same words whether a code was sent or not
        a, b = await right.say(guess), await wrong.say(guess)
        assert _transcript(a, right) == _transcript(b, wrong)
    assert said(a) == TEXTS["code_spent"]
    await asyncio.sleep(0.35)
    a, b = await right.say("没收到验证码", "resend_code"), await wrong.say("没收到验证码", "resend_code")
    assert _transcript(a, right) == _transcript(b, wrong) and said(a) == TEXTS["code_resent_quiet"]
    assert len(messages_to(strict.engine, LIU[2])) == 2  # the decoy never sends
    # a decoy cannot be verified, whatever is typed
    typed = await wrong.say(code_for(strict, LIU[2]))
    assert "当前环节" not in said(typed) and not wrong.slots.get("verified_person_id")
    verified = await right.say(code_for(strict, LIU[2]))
    assert "当前环节：待领证" in said(verified)


async def test_under_attack_the_per_user_lock_says_nothing_about_the_id(make_dialogue, strict):
    """One sender still has five tries, and under attack a right try counts like a wrong
    one, so being locked (or not) after five tells nothing about which was right."""
    dialogue = make_dialogue(backend_url=strict.url)
    await _attack(dialogue, senders=5, tries=1)
    wrong_only, one_right = Chat(dialogue), Chat(dialogue)
    seen = {}
    for chat, tries in ((wrong_only, WRONG[100:105]), (one_right, WRONG[110:114] + [LIU[1]])):
        seen[chat.sender_id] = []
        for last6 in tries:  # each try anew: in the code step six digits are a code
            await chat.say(f"查一下{LIU[0]}", "check_application_status")
            seen[chat.sender_id].append(said(await chat.say(last6)))
        again = await chat.say(f"查一下{LIU[0]}", "check_application_status")
        seen[chat.sender_id].append(said(again))
    first, second = seen.values()
    assert first == second
    assert first[0] == TEXTS["code_sent_quiet"] and first[-1] == TEXTS["locked"]
    assert TEXTS["mismatch"] not in first


async def test_strangers_cannot_spend_the_owners_sms_quota(make_dialogue, strict):
    """Codes go out only after a right last-6; even strangers who know it (each sending
    all the codes a user may) spend their own share of the phone's quota, not the owner's."""
    dialogue = make_dialogue(Limits(resend_gap=0), backend_url=strict.url)
    for _ in range(4):
        stranger = Chat(dialogue)
        await stranger.say(f"查一下{LIU[0]}", "check_application_status")
        assert "验证码已发送" in said(await stranger.say(LIU[1]))
        for _ in range(3):
            assert "已重新发送" in said(await stranger.say("没收到验证码", "resend_code"))
    assert len(messages_to(strict.engine, LIU[2], limit=100)) == 16  # over the phone's 10

    owner = Chat(dialogue)
    await owner.say(f"查一下{LIU[0]}", "check_application_status")
    sent = await owner.say(LIU[1])
    assert "验证码已发送到办件登记的手机138****0004" in said(sent)
    assert "当前环节：待领证" in said(await owner.say(code_for(strict, LIU[2])))
