"""Status conversations turn by turn: the dialogue with a real backend server, client,
key-value store and SQL store (see conftest). The intents are what the NLU reads."""
from __future__ import annotations

import asyncio
from datetime import date

from bot.audit import AuditLog
from standins.gov_backend.sms import last_code
from bot.db import engine_for
from bot.dialogue.turn import FollowUp, Message, Said
from bot.status import render
from bot.status.dialogue import State
from bot.status.bindings import BindingStore
from bot.status.guard import Limits
from bot.status.render import TEXTS
from tests.fixtures.gov_backend import _backend
from tests.fixtures.status import Chat, buttons, code_for, said

LIU = ("SH20261105000123", "140515", "13810000004")  # 刘洋: 待领证
LIU_OTHER = "SH20261121000555"                       # 刘洋: 办结，不予办理
WANG_SUPPLEMENT = ("SH20261112004321", "231281", "13810000003")  # 王芳: 补正材料
ZHAO_PERMIT = ("SH20261125000999", "010175", "13810000006")     # 赵磊: 一业一证补正


async def verify(chat: Chat, backend, number: str, last6: str, phone: str):
    first = await chat.say(f"查一下我的办件{number}", "check_application_status")
    assert said(first) == TEXTS["ask_last6"] and chat.step == "ask_last6"
    sent = await chat.say(f"身份证后六位是{last6}")
    assert "验证码已发送" in said(sent) and phone[:3] + "****" + phone[-4:] in said(sent)
    assert phone not in said(sent)
    return await chat.say(code_for(backend, phone))


async def test_happy_path_number_id_code_status_and_binding(make_dialogue, backend, database_url):
    chat = Chat(make_dialogue())
    shown = await verify(chat, backend, *LIU)
    text = said(shown)
    assert "SH20261105000123" in text and "上海市居住证申领" in text
    assert "当前环节：待领证" in text and "浦东新区陆家嘴社区事务受理服务中心" in text
    assert "办结时限：2026-11-19" in text and "领取" in text  # what the citizen must do
    assert chat.slots["verified_person_id"].startswith("P")
    # the other application of the same person is offered as a button
    assert any(LIU_OTHER in b["payload"] for b in buttons(shown))
    assert TEXTS["ask_consent"] in text and chat.step == "ask_consent"

    bound = await chat.say("同意绑定", "affirm")
    assert "已绑定" in said(bound) and "138****0004" in said(bound)
    assert chat.slots["status_active"] is False
    binding = BindingStore(engine_for(database_url)).get("rest", chat.sender_id)
    assert binding.person_id == chat.slots["verified_person_id"]

    # In the same session, the person's other application needs no new check.
    other = await chat.say(f"那{LIU_OTHER}呢", "check_application_status")
    assert "不予办理" in said(other) and "仍有单位缴纳的社会保险记录" in said(other)

    # A new session of the bound account: "my applications" needs only the SMS code.
    later = chat.new_session()
    asked = await later.say("我的申请到哪一步了", "check_application_status")
    assert "您绑定的手机138****0004" in said(asked) and later.step == "ask_code"
    listed = await later.say(code_for(backend, LIU[2]))
    assert "共有2件" in said(listed)
    assert {b["payload"] for b in buttons(listed)} == {
        '/check_application_status{"application_number": "SH20261121000555"}',
        '/check_application_status{"application_number": "SH20261105000123"}',
    }
    assert TEXTS["ask_consent"] not in said(listed)  # already bound

    unbound = await later.say("解除绑定", "unbind_account")
    assert said(unbound) == TEXTS["unbound"]
    assert BindingStore(engine_for(database_url)).get("rest", chat.sender_id) is None


async def test_missing_materials_name_their_matters_with_links(make_dialogue, backend):
    chat = Chat(make_dialogue())
    shown = await verify(chat, backend, *ZHAO_PERMIT)
    text = said(shown)
    assert "当前环节：补正材料" in text and "上海申城便利商贸有限公司" in text
    for material in ("食品安全管理制度文本", "消防安全制度和灭火及应急疏散预案", "经营场所平面布局图"):
        assert material in text
    assert "属于「食品经营许可证核发」" in text and "https://" in text
    titles = [b["title"] for b in buttons(shown)]
    assert "「食品经营许可证核发」要什么材料" in titles
    payload = next(b["payload"] for b in buttons(shown) if "食品经营许可证核发" in b["title"])
    assert payload.startswith("/ask_materials{")


async def test_declining_binding_and_consent_only_right_after_the_question(make_dialogue, backend,
                                                                           database_url):
    chat = Chat(make_dialogue())
    await verify(chat, backend, *WANG_SUPPLEMENT)
    assert chat.step == "ask_consent"
    chat.other_turn()  # the citizen asked something else first
    later_yes = await chat.say("好的", "affirm")
    assert later_yes.messages == [Message(response="utter_ok")] and chat.step is None
    assert BindingStore(engine_for(database_url)).get("rest", chat.sender_id) is None

    chat2 = Chat(make_dialogue())
    await verify(chat2, backend, *WANG_SUPPLEMENT)
    declined = await chat2.say("不用了", "deny")
    assert said(declined) == TEXTS["not_bound"] and chat2.step is None
    assert chat2.slots["verified_person_id"]  # still verified for this session


async def test_wrong_code_then_too_many_tries_then_resend(make_dialogue, backend):
    chat = Chat(make_dialogue())
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await chat.say(LIU[1])
    good = code_for(backend, LIU[2])
    wrong = "000000" if good != "000000" else "111111"
    first = await chat.say(wrong)
    assert said(first) == TEXTS["wrong_code"].format(left=2) and chat.step == "ask_code"
    assert said(await chat.say(f"验证码 {wrong}")) == TEXTS["wrong_code"].format(left=1)
    spent = await chat.say(wrong)
    assert said(spent) == TEXTS["code_spent"] and chat.step == "code_spent"
    # the old code is void even though it was right
    assert said(await chat.say(good)) == TEXTS["code_spent"]
    assert not chat.slots.get("verified_person_id")

    await asyncio.sleep(0.35)  # the test's resend gap
    resent = await chat.say("没收到验证码", "resend_code")
    assert "已重新发送验证码到138****0004" in said(resent)
    new = code_for(backend, LIU[2])
    shown = await chat.say(new)
    assert "当前环节：待领证" in said(shown) and chat.slots["verified_person_id"]


async def test_expired_code(make_dialogue, backend):
    chat = Chat(make_dialogue(Limits(code_ttl=0.5, resend_gap=0.1)))
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await chat.say(LIU[1])
    code = code_for(backend, LIU[2])
    await asyncio.sleep(0.7)
    expired = await chat.say(code)
    assert said(expired) == TEXTS["code_expired"] and chat.step == "ask_code"
    assert {"title": "重新发送验证码", "payload": "/resend_code"} in buttons(expired)
    assert not chat.slots.get("verified_person_id")
    await chat.say("重新发送", "resend_code")
    assert "当前环节" in said(await chat.say(code_for(backend, LIU[2])))


async def test_resend_is_rate_limited(make_dialogue, backend):
    chat = Chat(make_dialogue(Limits(resend_gap=30, sends_per_window=2)))
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await chat.say(LIU[1])
    too_soon = await chat.say("没收到验证码", "resend_code")
    assert said(too_soon) == TEXTS["send_wait"] and chat.step == "ask_code"

    chat2 = Chat(make_dialogue(Limits(resend_gap=0, sends_per_window=2)))
    await chat2.say(f"查一下{LIU[0]}", "check_application_status")
    await chat2.say(LIU[1])
    assert "已重新发送" in said(await chat2.say("再发一次", "resend_code"))
    limit = await chat2.say("还是没收到", "resend_code")
    assert said(limit) == TEXTS["send_limit"]
    assert {"title": "转人工", "payload": "/request_human"} in buttons(limit)


async def test_too_many_wrong_identities_lock_the_user_never_the_number(make_dialogue, backend):
    dialogue = make_dialogue()
    chat = Chat(dialogue)
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    answers = [said(await chat.say(f"后六位{n:06d}")) for n in range(100001, 100006)]
    assert answers[:4] == [TEXTS["mismatch"]] * 4 and answers[4] == TEXTS["locked"]
    # even the right ID is refused now, for this user…
    assert said(await chat.say(LIU[1])) == TEXTS["locked"]
    # …who is locked for other numbers too
    assert said(await chat.say(f"查一下{WANG_SUPPLEMENT[0]}", "check_application_status")) == TEXTS["locked"]
    assert last_code(backend.engine, LIU[2]) is None  # no code ever sent
    # but not the number: someone else is asked, and the answers no longer tell (the
    # number is under attack; tests/bot/status/test_lockout.py)
    other = Chat(dialogue)
    assert said(await other.say(f"查一下{LIU[0]}", "check_application_status")) == TEXTS["ask_last6"]
    assert said(await other.say("999999")) == TEXTS["code_sent_quiet"]
    assert last_code(backend.engine, LIU[2]) is None


async def test_unknown_number_gets_the_answer_of_a_wrong_identity(make_dialogue, backend):
    dialogue = make_dialogue()
    unknown, known = Chat(dialogue), Chat(dialogue)
    a1 = await unknown.say("查一下SH20261105999999", "check_application_status")
    b1 = await known.say(f"查一下{LIU[0]}", "check_application_status")
    a2 = await unknown.say("140515")
    b2 = await known.say("140516")
    assert (said(a1), buttons(a1)) == (said(b1), buttons(b1))
    assert (said(a2), buttons(a2)) == (said(b2), buttons(b2)) and said(a2) == TEXTS["mismatch"]
    assert unknown.step == known.step == "ask_last6"


async def test_stop_and_a_question_in_the_middle(make_dialogue, backend):
    chat = Chat(make_dialogue())
    await chat.say("我的申请到哪一步了", "check_application_status")
    assert chat.step == "ask_number"
    # a matter named while we wait: the matter dialogue answers, the check waits
    aside = await chat.say("护照", "inform", pending_topic="fee")
    assert "「普通护照申请」" in said(aside) and chat.slots["matter_code"]
    assert chat.step == "ask_number"
    chat.other_turn()
    asked = await chat.say(f"{LIU[0]}", "inform")
    assert said(asked) == TEXTS["ask_last6"]
    nonsense = await chat.say("我不记得了", "nlu_fallback", pending_topic=None)
    assert said(nonsense) == TEXTS["reask_last6"] and chat.step == "ask_last6"
    stopped = await chat.say("算了", "deny")
    assert said(stopped) == TEXTS["stopped"] and chat.slots["status_active"] is False
    # a later 'no' is no longer ours
    assert (await chat.say("不是", "deny")).messages == [Message(response="utter_ok")]


async def test_malformed_number_gets_a_format_hint(make_dialogue, backend):
    chat = Chat(make_dialogue())
    hint = await chat.say("查一下SH2026110500012", "check_application_status")
    assert said(hint) == TEXTS["bad_number"] and chat.step == "ask_number"


async def test_a_code_made_by_one_action_server_is_checked_by_another(make_dialogue, backend, kv_store):
    """Two dialogues (two action-server processes) sharing the store and the databases."""
    first, second = make_dialogue(), make_dialogue()
    chat = Chat(first)
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await chat.say(LIU[1])
    chat.dialogue = second
    assert "当前环节" in said(await chat.say(code_for(backend, LIU[2])))


async def test_backend_stopped_answers_at_once_and_offers_a_person(make_dialogue, backend):
    """A stopped backend refuses the connection: the answer comes at once, not after
    the client's 30 s timeout (the 10 s guard would stop a turn that waited it out)."""
    chat = Chat(make_dialogue(timeout=30.0))
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await backend.runner.cleanup()  # the backend goes down mid-conversation
    down = await asyncio.wait_for(chat.say(LIU[1]), 10)
    assert said(down) == TEXTS["backend_down"]
    assert down.follow_up is FollowUp.HANDOFF  # the action hands the conversation to a person
    assert chat.step == "ask_last6"  # nothing lost: the citizen can try again later


async def test_slow_backend_answers_within_the_timeout(make_dialogue, tmp_path):
    runner, slow = await _backend(f"sqlite:///{tmp_path / 'slow.db'}", tmp_path, delay_ms=3000)
    try:
        chat = Chat(make_dialogue(backend_url=slow.url, timeout=0.5))
        await chat.say(f"查一下{LIU[0]}", "check_application_status")
        # The backend's answer would come after 3 s: a turn that waited for it would
        # show the application; one that keeps its 0.5 s timeout says the backend is down.
        down = await chat.say(LIU[1])
        assert said(down) == TEXTS["backend_down"]
        assert down.follow_up is FollowUp.HANDOFF
    finally:
        await runner.cleanup()


async def test_audit_log_records_every_check_without_personal_numbers(make_dialogue, backend,
                                                                      database_url):
    chat = Chat(make_dialogue())
    await chat.say(f"查一下{LIU[0]}", "check_application_status")
    await chat.say("000000")
    await chat.say("我身份证是510107199502140515")  # a whole ID number: its last six
    await chat.say(code_for(backend, LIU[2]))
    entries = AuditLog(engine_for(database_url)).entries("rest", chat.sender_id)
    events = [(e.event, e.result) for e in entries]
    assert events == [("identity_check", "no_match"), ("identity_check", "match"),
                      ("code_sent", "sent"), ("code_check", "ok"),
                      ("status_lookup", "shown")]
    assert all(e.application_number == LIU[0] for e in entries)
    assert entries[-1].person_id == chat.slots["verified_person_id"]
    for entry in entries:
        assert "510107199502140515" not in repr(entry) and "13810000004" not in repr(entry)


async def test_a_number_no_office_can_have_issued_is_told_at_once(make_dialogue, backend):
    """'SH' + a date that does not exist, or another prefix: not a format problem (the
    form is right), and no ID is asked for a number that cannot be anyone's."""
    chat = Chat(make_dialogue())
    for number in ("SH20261399000123", "AB20261105000123"):
        told = await chat.say(f"查一下{number}", "check_application_status")
        assert said(told) == TEXTS("no_such_number", number=number)
        assert "格式" not in said(told) and chat.step == "ask_number"


async def test_questions_about_the_application_just_shown(make_dialogue, backend):
    """'那现在要我做什么' / '那大概还要多久' after a status answer are about that
    application (they lost it before and asked which matter), whatever intent NLU gave."""
    chat = Chat(make_dialogue())
    await verify(chat, backend, *WANG_SUPPLEMENT)
    todo = await chat.say("那现在要我做什么", "ask_procedure")
    assert "食品安全管理制度文本" in said(todo) and "从业人员健康证明" in said(todo)
    assert "当前环节" not in said(todo)  # the answer to the question, not the status again
    assert chat.slots["status_active"] is False  # the consent question was left
    when = await chat.say("那大概还要多久", "ask_processing_time")
    assert said(when) == TEXTS("follow_time_supplement", department="上海市黄浦区市场监督管理局",
                               date="2026-12-04")

    pickup = Chat(make_dialogue())
    await verify(pickup, backend, *LIU)
    assert "这件已经办好了" in said(await pickup.say("还要多久啊", "nlu_fallback"))


async def test_follow_up_only_right_after_and_only_for_the_owner(make_dialogue, backend):
    chat = Chat(make_dialogue())
    await verify(chat, backend, *LIU)
    chat.other_turn()  # something else was answered in between
    assert (await chat.dialogue.follow_up(
        Said("ask_processing_time", "那大概还要多久", []),
        State(flow=chat.slots["status_flow"], verified_person_id=chat.slots["verified_person_id"],
              just_shown=False), chat.who)) is None
    # the slots of another conversation, without its verified person: nothing is told
    stranger = Chat(chat.dialogue, slots={"status_flow": dict(chat.slots["status_flow"])})
    assert await stranger.dialogue.follow_up(
        Said("ask_processing_time", "那大概还要多久", []),
        State(flow=stranger.slots["status_flow"], just_shown=True), stranger.who) is None
    # a question naming a matter is the matter's
    assert await chat.dialogue.follow_up(
        Said("ask_processing_time", "护照要多久", [{"entity": "matter", "value": "护照"}]),
        State(flow=chat.slots["status_flow"], verified_person_id=chat.slots["verified_person_id"],
              just_shown=True), chat.who) is None


def test_time_answer_counts_days_to_the_due_date():
    app = {"status": "under_review", "due_date": "2026-12-17", "department": "上海市人才服务中心"}
    assert render.time_answer(app, date(2026, 12, 6))[0] == TEXTS(
        "follow_time_due", date="2026-12-17", days=11)
    assert render.time_answer(app, date(2026, 12, 17))[0] == TEXTS(
        "follow_time_today", date="2026-12-17")
    late, offer = render.time_answer(app, date(2026, 12, 20))
    assert "已超过办结时限" in late and "上海市人才服务中心" in late and offer
