"""Matter questions turn by turn, without Rasa: context, ambiguity, honesty."""
from __future__ import annotations

from bot.catalog.answers import answer
from bot.matter_dialogue import answer_question, fallback_streak, handle_inform, matter_mentions


def ent(value, kind="matter", extractor="DIETClassifier"):
    return {"entity": kind, "value": value, "extractor": extractor, "start": 0, "end": len(value)}


def test_materials_answer_lists_form_count_and_exempt(index):
    turn = answer_question(index, "ask_materials", [ent("居住证")], "居住证要什么材料", None, None)
    text = "\n".join(m["text"] for m in turn.messages)
    matter = index.get("SH-P-001")
    assert matter.name in text
    for material in matter.materials:
        assert material.name in text
    assert "免提交" in text and "份" in text
    assert turn.slots["matter_code"] == "SH-P-001"


def test_follow_up_keeps_the_matter(index):
    turn = answer_question(index, "ask_processing_time", [], "那要多久？", "SH-P-001", None)
    text = turn.messages[0]["text"]
    assert "上海市居住证申领" in text and "工作日" in text


def test_question_without_any_matter_asks_back_then_answers(index):
    turn = answer_question(index, "ask_fee", [], "要钱吗", None, None)
    assert "哪个事项" in turn.messages[0]["text"]
    assert turn.slots["pending_topic"] == "fee"
    reply = handle_inform(index, [ent("护照")], "护照", "fee", None)
    assert "普通护照申请" in reply.messages[0]["text"]
    assert "元" in reply.messages[0]["text"]


def test_ambiguous_matter_gets_buttons_that_resolve(index):
    turn = answer_question(index, "ask_materials", [ent("社保卡")], "社保卡要带啥", None, None)
    buttons = turn.messages[0]["buttons"]
    titles = [b["title"] for b in buttons]
    assert "社会保障卡申领" in titles and "社会保障卡补换" in titles
    payload = next(b["payload"] for b in buttons if b["title"] == "社会保障卡补换")
    assert payload.startswith("/ask_materials{")
    assert index.resolve("社会保障卡补换").matter.code == "SH-P-004"


def test_unknown_matter_is_admitted_with_offer_of_a_person(index):
    turn = answer_question(index, "ask_materials", [ent("火星签证")], "火星签证要什么材料", None, None)
    message = turn.messages[0]
    assert "没有找到" in message["text"]
    assert message["buttons"][0]["payload"] == "/request_human"
    assert "matter_code" not in turn.slots


def test_named_matter_we_asked_for_but_do_not_hold(index):
    turn = answer_question(index, "ask_materials", [], "火星移民签证要什么材料", None, None)
    assert "哪个事项" in turn.messages[0]["text"]
    reply = handle_inform(index, [], "火星移民签证", turn.slots["pending_topic"], None)
    assert "没有找到「火星移民签证」" in reply.messages[0]["text"]
    assert reply.messages[0]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]


def test_typo_in_text_without_entity_still_resolves(index):
    turn = answer_question(index, "ask_materials", [], "居往证要什么材料", "SH-P-010", None)
    assert "上海市居住证申领" in turn.messages[0]["text"]


def test_ruler_mentions_come_first():
    mentions = matter_mentions([ent("社保"), ent("社保卡补办", extractor="CatalogEntityRuler")])
    assert mentions == ["社保卡补办", "社保"]


def test_district_picks_local_windows(index):
    matter = next(
        m for m in index.matters if any(w.district for w in m.windows)
    )
    district = next(w.district for w in matter.windows if w.district)
    text = "\n".join(answer(matter, "where_to_apply", district))
    assert all(w.name in text for w in matter.windows if w.district == district)


def test_every_topic_answers_every_matter_briefly(index):
    for matter in index.matters:
        for topic in ("materials", "processing_time", "fee", "where_to_apply", "online", "eligibility", "procedure"):
            messages = answer(matter, topic)
            assert messages and all(0 < len(m) <= 900 for m in messages), (matter.code, topic)


def test_fallback_streak_counts_latest_misunderstandings():
    def user(intent):
        return {"event": "user", "parse_data": {"intent": {"name": intent}}}

    events = [user("greet"), {"event": "bot"}, user("nlu_fallback"), {"event": "bot"}, user("nlu_fallback")]
    assert fallback_streak(events) == 2
    assert fallback_streak(events[:3]) == 1
    assert fallback_streak(events[:1]) == 0
