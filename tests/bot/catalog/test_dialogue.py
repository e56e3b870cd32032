"""Matter questions turn by turn, without Rasa: context, ambiguity, honesty."""
from __future__ import annotations

from bot.catalog.answers import answer
from bot.catalog.dialogue import answer_question, fallback_streak, handle_inform, matter_mentions


def ent(value, kind="matter", extractor="DIETClassifier"):
    return {"entity": kind, "value": value, "extractor": extractor, "start": 0, "end": len(value)}


def test_materials_answer_lists_form_count_and_exempt(index):
    turn = answer_question(index, "ask_materials", [ent("居住证")], "居住证要什么材料", None, None)
    text = "\n".join(m.text for m in turn.messages)
    matter = index.get("SH-P-001")
    assert matter.name in text
    for material in matter.materials:
        assert material.name in text
    assert "免提交" in text and "份" in text
    assert turn.slots["matter_code"] == "SH-P-001"


def test_follow_up_keeps_the_matter(index):
    turn = answer_question(index, "ask_processing_time", [], "那要多久？", "SH-P-001", None)
    text = turn.messages[0].text
    assert "上海市居住证申领" in text and "工作日" in text


def test_question_without_any_matter_asks_back_then_answers(index):
    turn = answer_question(index, "ask_fee", [], "要钱吗", None, None)
    assert "哪个事项" in turn.messages[0].text
    assert turn.slots["pending_topic"] == "fee"
    reply = handle_inform(index, [ent("护照")], "护照", "fee", None)
    assert "普通护照申请" in reply.messages[0].text
    assert "元" in reply.messages[0].text


def test_ambiguous_matter_gets_buttons_that_resolve(index):
    turn = answer_question(index, "ask_materials", [ent("社保卡")], "社保卡要带啥", None, None)
    buttons = turn.messages[0].buttons
    titles = [b["title"] for b in buttons]
    assert "社会保障卡申领" in titles and "社会保障卡补换" in titles
    payload = next(b["payload"] for b in buttons if b["title"] == "社会保障卡补换")
    assert payload.startswith("/ask_materials{")
    assert index.resolve("社会保障卡补换").matter.code == "SH-P-004"


def test_unknown_matter_is_admitted_with_offer_of_a_person(index):
    turn = answer_question(index, "ask_materials", [ent("火星签证")], "火星签证要什么材料", None, None)
    message = turn.messages[0]
    assert "没有找到" in message.text
    assert message.buttons[0]["payload"] == "/request_human"
    assert turn.slots.get("matter_code") is None  # nothing the catalog holds is in focus


def test_named_matter_we_asked_for_but_do_not_hold(index):
    # the question names the thing itself: the honest answer at once, with all of its name
    turn = answer_question(index, "ask_materials", [], "火星移民签证要什么材料", None, None)
    assert "没有找到「火星移民签证」" in turn.messages[0].text
    # a name we asked for ("哪个事项？") that the catalog does not hold
    asked = answer_question(index, "ask_materials", [], "要准备什么材料", None, None)
    assert "哪个事项" in asked.messages[0].text
    reply = handle_inform(index, [], "火星移民", asked.slots["pending_topic"], None)
    assert "没有找到「火星移民」" in reply.messages[0].text
    assert reply.messages[0].buttons == [{"title": "转人工", "payload": "/request_human"}]


def test_typo_in_text_without_entity_still_resolves(index):
    turn = answer_question(index, "ask_materials", [], "居往证要什么材料", "SH-P-010", None)
    assert "上海市居住证申领" in turn.messages[0].text


def test_ruler_mentions_come_first():
    mentions = matter_mentions([ent("社保"), ent("社保卡补办", extractor="CatalogEntityRuler")])
    assert mentions == ["社保卡补办", "社保"]


def test_spans_of_one_unknown_name_are_one_mention(index):
    """DIET tags 渔业 and 许可证 of 渔业捕捞许可证 apart; 许可证 alone would offer every
    licence of the catalog instead of the honest answer about the whole name."""
    text = "渔业捕捞许可证需要什么条件"
    entities = [ent("渔业"), ent("许可证")]
    assert matter_mentions(entities, text) == ["渔业捕捞许可证"]
    turn = answer_question(index, "ask_eligibility", entities, text, None, None)
    assert "没有找到「渔业捕捞许可证」" in turn.messages[0].text


def test_names_joined_by_a_conjunction_stay_apart():
    assert matter_mentions([ent("居住证"), ent("社保卡")], "居住证和社保卡要带什么") == [
        "居住证", "社保卡"]


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


def user(intent):
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


NOT_UNDERSTOOD = {"event": "bot", "text": "抱歉，我没太明白", "metadata": {"kind": "not_understood"}}
#: The same reply stored before its words left the domain (utter_default).
NOT_UNDERSTOOD_BEFORE = {"event": "bot", "text": "抱歉，我没太明白",
                         "metadata": {"utter_action": "utter_default"}}


def test_fallback_streak_counts_latest_misunderstandings():
    for reply in (NOT_UNDERSTOOD, NOT_UNDERSTOOD_BEFORE):
        events = [user("greet"), {"event": "bot"}, user("nlu_fallback"), reply, user("nlu_fallback")]
        assert fallback_streak(events) == 2
        assert fallback_streak(events[:3]) == 1
        assert fallback_streak(events[:1]) == 0


def test_not_understood_says_its_text_marked_and_hands_over_the_second_time(index):
    from bot.catalog.dialogue import Context, not_understood
    from bot.dialogue.turn import FollowUp, Said

    said = Said(intent="nlu_fallback", text="asdkjh qwe zzxv")
    once = not_understood(index, said, Context(), 1)
    assert [(m.text[:9], m.kind) for m in once.messages] == [("抱歉，我没太明白您", "not_understood")]
    assert once.follow_up is None
    twice = not_understood(index, said, Context(), 2)
    assert [(m.text[:9], m.kind) for m in twice.messages] == [("不好意思，我还是没", "not_understood_twice")]
    assert twice.follow_up is FollowUp.HANDOFF
    said_back = {"event": "bot", "text": twice.messages[0].text, "metadata": {"kind": twice.messages[0].kind}}
    assert fallback_streak([user("nlu_fallback"), said_back, user("nlu_fallback")]) == 2


def test_a_fallback_the_dialogue_answered_does_not_count():
    """"护照" falls back in NLU but gets the overview: the next nonsense is the first
    misunderstanding, not the second (no handoff for it)."""
    answered = {"event": "bot", "text": "「普通护照申请」由…办理", "metadata": {}}
    events = [user("nlu_fallback"), {"event": "action", "name": "action_fallback"}, answered,
              user("nlu_fallback")]
    assert fallback_streak(events) == 1


# -- matter-first turns (issue 12) ----------------------------------------------------

import copy  # noqa: E402

import pytest  # noqa: E402

from bot.catalog.answers import TOPIC_LABELS, materials, overview  # noqa: E402
from bot.catalog.search import build_index  # noqa: E402
from bot.catalog.dialogue import (  # noqa: E402
    Context,
    fallback_turn,
    narrow,
    read,
    social_turn,
    words,
)
from tests.conftest import REFERENCE_DIR  # noqa: E402

HUMAN = {"title": "转人工", "payload": "/request_human"}


def said(turn) -> str:
    return "\n".join(m.text for m in turn.messages)


def buttons(turn):
    return [b for m in turn.messages for b in m.buttons]


class Chat:
    """One conversation without Rasa: the rules' routing by intent, the slots kept
    between turns as Rasa keeps them (only what a turn sets changes)."""

    def __init__(self, index):
        self.index = index
        self.slots = {}

    @property
    def context(self) -> Context:
        return Context.from_slots(self.slots.get)

    def say(self, text, intent="nlu_fallback", entities=()):
        entities = list(entities)
        if intent.startswith("ask_"):
            turn = answer_question(self.index, intent, entities, text, self.slots.get("matter_code"),
                                   None, context=self.context)
        elif intent == "inform":
            turn = handle_inform(self.index, entities, text, self.slots.get("pending_topic"), None,
                                 context=self.context)
        elif intent == "nlu_fallback":
            turn = fallback_turn(self.index, entities, text, self.context)
        else:
            turn = social_turn(self.index, intent, entities, text, self.context)
        if turn is not None:
            self.slots.update(turn.slots)
        return turn


def overview_of(turn, name):
    text = said(turn)
    assert f"「{name}」" in text and "您想了解哪方面" in text, text
    titles = [b["title"] for b in buttons(turn)]
    assert titles == list(TOPIC_LABELS.values())
    assert all(b["payload"].startswith("/ask_") and name in b["payload"] for b in buttons(turn))
    return text


# 1. A message that only names a matter or a situation: the overview, not the fallback.

def test_a_bare_matter_name_gets_the_overview_not_the_fallback(index):
    chat = Chat(index)
    text = overview_of(chat.say("护照"), "普通护照申请")  # NLU falls back on it today
    matter = index.get("SH-P-010")
    assert matter.department in text and "网上" in text
    assert text.count("\n") <= 2  # name, department, online; then the question
    assert chat.slots["matter_code"] == "SH-P-010"
    fee = chat.say("多少钱", "ask_fee")
    assert "普通护照申请" in said(fee) and "元" in said(fee)


def test_a_bare_name_typed_as_inform_gets_the_overview(index):
    overview_of(Chat(index).say("营业执照", "inform"), "企业设立登记（开办企业）")


def test_a_situation_alone_names_its_matter_and_scenario(index):
    chat = Chat(index)
    text = overview_of(chat.say("社保卡丢了"), "社会保障卡补换")
    assert "卡片遗失" in text
    assert chat.slots["matter_situations"] == ["lost"]
    answer = said(chat.say("要带什么", "ask_materials"))
    assert "社会保障卡挂失记录" in answer  # the lost-card scenario's own material


def test_a_generic_name_alone_offers_the_candidates(index):
    chat = Chat(index)
    turn = chat.say("公积金")
    titles = [b["title"] for b in buttons(turn)]
    assert "住房公积金提取（租房）" in titles and "住房公积金提取（购房）" in titles
    assert set(chat.slots["matter_candidates"]) >= {"SH-P-005", "SH-P-006"}


def test_a_greeting_or_thanks_that_names_a_matter_gets_the_matter(index):
    chat = Chat(index)
    entity = [ent("护照", extractor="CatalogEntityRuler")]
    overview_of(chat.say("你好，护照", "greet", entity), "普通护照申请")
    thanks = chat.say("谢谢，那驾照呢", "thank", [ent("驾照", extractor="CatalogEntityRuler")])
    assert {"机动车驾驶证换证", "机动车驾驶证补证"} <= {b["title"] for b in buttons(thanks)}


def test_a_short_follow_up_read_as_chat_or_out_of_scope_keeps_the_matter(index):
    """NLU reads "嗯，那你知道电话吗？" or "开放时间呢？" as a travel request, chat or a yes;
    after an answer about a matter they ask for its office's phone, hours or address."""
    chat = Chat(index)
    chat.say("护照多少钱", "ask_fee", [ent("护照", extractor="CatalogEntityRuler")])
    for text, intent in (("嗯，那你知道电话吗？", "out_of_scope"), ("开放时间呢？", "chitchat"),
                         ("好的，地址在哪？", "affirm")):
        turn = chat.say(text, intent)
        assert turn is not None, text
        assert "普通护照申请" in said(turn) and "哪个事项" not in said(turn), said(turn)
    assert chat.slots["matter_code"] == "SH-P-010"


def test_without_a_matter_in_focus_a_foreign_question_stays_foreign(index):
    chat = Chat(index)
    assert chat.say("那你知道电话吗？", "out_of_scope") is None
    assert chat.say("天坛都是几点开门的啊", "out_of_scope") is None


def test_a_long_message_with_a_question_word_is_not_a_follow_up(index):
    chat = Chat(index)
    chat.say("护照多少钱", "ask_fee", [ent("护照", extractor="CatalogEntityRuler")])
    story = "我上周在小区门口等了半小时的公交车，司机态度很差，这个电话打了好几次都没人接"
    assert chat.say(story, "out_of_scope") is None


def test_a_chance_word_in_a_social_or_foreign_request_is_not_a_matter(index):
    chat = Chat(index)
    entity = [ent("去香港", extractor="CatalogEntityRuler")]
    assert chat.say("帮我订一张去香港的机票", "out_of_scope", entity) is None
    assert chat.say("帮我订一张去香港的机票", "nlu_fallback", entity) is None
    assert chat.say("asdfghjkl") is None
    assert chat.say("我购买的冰糖已经过期一个多月") is None  # a situation of something else
    assert chat.slots == {}


def test_a_long_story_without_a_clear_matter_is_not_taken_as_a_question(index):
    story = ("我们小区门口那条路晚上一直没有路灯，电缆前年施工挖断了到现在也没人修，"
             "老人晚上出门很危险，想问问到底多久能修好，也不知道找哪个部门，") * 2
    assert Chat(index).say(story) is None


def test_the_matter_in_focus_is_kept_until_another_is_named(index):
    chat = Chat(index)
    chat.say("居住证要什么材料", "ask_materials", [ent("居住证")])
    assert chat.slots["matter_code"] == "SH-P-001"
    chat.say("谢谢", "thank")  # (utter_thank: no matter turn)
    assert "上海市居住证申领" in said(chat.say("那要多久？", "ask_processing_time"))
    chat.say("护照", "inform", [ent("护照")])
    assert chat.slots["matter_code"] == "SH-P-010"
    assert "普通护照申请" in said(chat.say("能网上办吗", "ask_online"))


# 2. Situations select the matter or the scenario (data/reference/situations.yml).

@pytest.mark.parametrize("text,name", [
    ("社保卡丢了", "社会保障卡补换"),
    ("社保卡找不到了", "社会保障卡补换"),
    ("第一次办社保卡", "社会保障卡申领"),
    ("驾照快到期了", "机动车驾驶证换证"),
    ("驾照丢了", "机动车驾驶证补证"),
    ("公司不做了", "企业注销登记"),
])
def test_situations_select_the_matter(index, text, name):
    overview_of(Chat(index).say(text), name)


def test_a_situation_told_after_the_matter_moves_to_the_sibling_that_fits(index):
    chat = Chat(index)
    chat.say("社会保障卡申领", "inform", [ent("社会保障卡申领")])
    overview_of(chat.say("丢了"), "社会保障卡补换")


def test_a_situation_told_after_the_matter_selects_its_scenario(index):
    chat = Chat(index)
    chat.say("护照")
    text = overview_of(chat.say("丢了"), "普通护照申请")
    assert "护照遗失或被盗" in text
    answer = said(chat.say("要带什么材料", "ask_materials"))
    assert "（护照遗失或被盗）" in answer and "护照遗失或被盗情况说明" in answer
    # a new case of the same group replaces the old one
    chat.say("第一次办")
    assert chat.slots["matter_situations"] == ["first"]
    assert "（护照遗失或被盗）" not in said(chat.say("要带什么材料", "ask_materials"))


def test_first_time_keeps_the_matter_in_focus(index):
    """After "护照", "第一次办" is about the passport, not 第一次办社保卡 or 一业一证."""
    chat = Chat(index)
    chat.say("护照")
    steps = said(chat.say("第一次办", "ask_procedure"))
    assert "「普通护照申请」办理流程" in steps
    overview_of(chat.say("第一次办"), "普通护照申请")


def test_proxy_situation_uses_the_proxy_scenario_materials(index):
    chat = Chat(index)
    turn = chat.say("社保卡帮别人办")
    titles = [b["title"] for b in buttons(turn)]
    assert titles == ["社会保障卡补换", "社会保障卡申领"]  # both list 委托他人代办
    assert chat.slots["matter_situations"] == ["proxy"]
    button = next(b for b in buttons(turn) if b["title"] == "社会保障卡申领")
    # a pressed button: Rasa parses the payload, whose text is the payload itself
    picked = chat.say(button["payload"], "inform", [{"entity": "matter", "value": "社会保障卡申领"}])
    answer = said(chat.say("要带什么", "ask_materials"))
    assert "委托书" in answer and "代办人居民身份证" in answer
    assert "委托他人代办" in said(picked)


def test_nonlocal_household_uses_that_scenario(index):
    turn = Chat(index).say("外地户口办无犯罪证明要带什么", "ask_materials")
    text = said(turn)
    assert "无犯罪记录证明开具" in text and "外省市户籍人员" in text
    assert "上海市居住证或居住登记信息" in text


def test_urgent_says_the_time_and_that_no_express_service_is_listed(index):
    turn = Chat(index).say("护照加急")
    text = said(turn)
    assert "普通护照申请" in text and "工作日" in text
    assert "没有单列「加急」" in text and "12345" in text
    assert [b["title"] for b in buttons(turn)] == list(TOPIC_LABELS.values())


def test_a_situation_alone_without_its_matter_asks_which_and_keeps_it(index):
    chat = Chat(index)
    ask = chat.say("丢了")
    assert "哪个证件或事项" in said(ask) and chat.slots["matter_situations"] == ["lost"]
    overview_of(chat.say("社保卡", "inform", [ent("社保卡")]), "社会保障卡补换")


def test_a_situation_selects_the_few_matters_that_fit_it(index):
    titles = [b["title"] for b in buttons(Chat(index).say("刚生孩子"))]
    assert "生育津贴申领" in titles and any(t.startswith("新生儿出生一件事") for t in titles)


def _with_id_card_matters(catalog_documents):
    """Our catalog plus the two ID card matters a government's export would hold."""
    base = next(d for d in catalog_documents if d["code"] == "SH-P-004")
    extra = []
    for code, name, aliases in (
        ("SH-P-901", "居民身份证换领", ["身份证换领", "换身份证", "身份证到期换领"]),
        ("SH-P-902", "居民身份证补领", ["身份证补领", "补办身份证", "身份证丢了"]),
    ):
        doc = copy.deepcopy(base)
        doc.update(code=code, name=name, aliases=aliases, keywords=[], scenarios=[])
        extra.append(doc)
    return build_index(list(catalog_documents) + extra, REFERENCE_DIR)


def test_situations_select_among_a_governments_own_matters(catalog_documents):
    index = _with_id_card_matters(catalog_documents)
    overview_of(Chat(index).say("身份证快过期了"), "居民身份证换领")
    overview_of(Chat(index).say("身份证找不到了"), "居民身份证补领")


# 3. Pending candidates survive a typed follow-up and are narrowed by it.

@pytest.mark.parametrize("reply,intent,name", [
    ("补办的", "inform", "社会保障卡补换"),
    ("补办的", "nlu_fallback", "社会保障卡补换"),
    ("丢了", "nlu_fallback", "社会保障卡补换"),
    ("第一次办", "inform", "社会保障卡申领"),
    ("第一次办", "ask_procedure", "社会保障卡申领"),
    ("申领的那个", "inform", "社会保障卡申领"),
    ("第二个", "inform", "社会保障卡申领"),
])
def test_typed_reply_chooses_among_the_candidates(index, reply, intent, name):
    chat = Chat(index)
    offer = chat.say("社保卡要带什么", "ask_materials", [ent("社保卡")])
    assert [b["title"] for b in buttons(offer)][:2] == ["社会保障卡补换", "社会保障卡申领"]
    assert chat.slots["matter_candidates"][:2] == ["SH-P-004", "SH-P-003"]
    answer = said(chat.say(reply, intent))
    assert f"「{name}」" in answer
    if intent != "ask_procedure":
        assert "份" in answer  # the materials asked for first
    assert chat.slots["matter_candidates"] is None and chat.slots["matter_code"] == index.resolve(name).matter.code


def test_candidates_survive_another_question_and_a_name_ends_them(index):
    chat = Chat(index)
    chat.say("社保卡要带什么", "ask_materials", [ent("社保卡")])
    again = chat.say("要多久", "ask_processing_time")
    assert "哪一项" in said(again) and chat.slots["pending_topic"] == "processing_time"
    assert buttons(again)[0]["payload"].startswith("/ask_processing_time")
    other = chat.say("护照多少钱", "ask_fee", [ent("护照")])
    assert "普通护照申请" in said(other)
    assert chat.slots["matter_candidates"] is None


def test_narrow_keeps_all_candidates_when_nothing_chooses(index):
    pair = [index.get("SH-P-003"), index.get("SH-P-004")]
    assert narrow(pair, ()) == pair
    lost = words().by_ids(["lost"])
    assert narrow(pair, lost) == [index.get("SH-P-004")]


# 4. The question type is read from how it is asked, whatever the matter.

@pytest.mark.parametrize("text,topic", [
    ("渔船登记要带什么", "materials"), ("需要什么材料", "materials"),
    ("多久能拿到", "processing_time"), ("几天能办好", "processing_time"),
    ("多少钱", "fee"), ("收费吗", "fee"), ("办公室在哪", "where_to_apply"),
    ("地址是什么", "where_to_apply"), ("能不能网上办", "online"), ("线上可以吗", "online"),
    ("需要什么条件", "eligibility"), ("外地人能不能办", "eligibility"),
    ("流程是什么", "procedure"), ("怎么办理", "procedure"),
    ("怎么办理，要带什么材料", "materials"),
    ("你好", None), ("谢谢", None),
])
def test_question_type_from_wording(text, topic):
    assert words().question_topic(text) == topic


def test_unknown_matter_is_named_whole_and_offers_a_person_and_12345(index):
    turn = Chat(index).say("如何办理渔船登记", "ask_procedure")
    assert "没有找到「渔船登记」" in said(turn) and "12345" in said(turn)
    assert buttons(turn) == [HUMAN]
    # DIET's partial span 渔业 is not what the citizen asked about
    turn = Chat(index).say("渔业捕捞许可证需要什么条件", "ask_eligibility", [ent("渔业")])
    assert "没有找到「渔业捕捞许可证」" in said(turn)
    assert turn.slots["unknown_matter"] == "渔业捕捞许可证" and turn.slots["matter_code"] is None


@pytest.mark.parametrize("span", ["许可证", "捕捞许可证"])
def test_a_generic_word_tagged_alone_stands_for_the_unknown_name_it_ends(index, span):
    """Another training of the same data tagged only 许可证 (on another machine): the
    citizen still hears that 渔业捕捞许可证 is not in the catalog, not a list of licences."""
    turn = Chat(index).say("渔业捕捞许可证需要什么条件", "ask_eligibility", [ent(span)])
    assert "没有找到「渔业捕捞许可证」" in said(turn), said(turn)
    assert turn.slots["unknown_matter"] == "渔业捕捞许可证" and turn.slots["matter_code"] is None


def test_a_generic_word_after_a_pronoun_or_in_a_known_name_is_not_widened(index):
    from bot.catalog.dialogue import widened_mentions

    assert widened_mentions(index, ["许可证"], ["我的许可证"]) == ["许可证"]
    assert widened_mentions(index, ["许可证"], ["食品经营许可证"]) == ["许可证"]
    assert widened_mentions(index, ["居住证"], ["上海居住证"]) == ["居住证"]  # names one matter
    assert widened_mentions(index, ["许可证"], ["渔业捕捞许可证"]) == ["渔业捕捞许可证"]


def test_an_unknown_thing_stays_the_subject_of_follow_ups(index):
    chat = Chat(index)
    first = chat.say("身份证快过期了")  # our catalog has no ID card matter
    assert "没有找到「身份证」" in said(first) and buttons(first) == [HUMAN]
    follow = chat.say("要带什么", "ask_materials")
    assert "没有找到「身份证」" in said(follow) and "哪个事项" not in said(follow)
    # naming a matter the catalog holds ends it
    assert "上海市居住证申领" in said(chat.say("居住证要带什么", "ask_materials", [ent("居住证")]))
    assert chat.slots["unknown_matter"] is None


def test_fallback_with_a_question_cue_is_that_question(index):
    chat = Chat(index)
    turn = chat.say("请问一下办理居住证一般需要准备哪些材料呢亲")
    assert "上海市居住证申领" in said(turn) and "份" in said(turn)
    assert "工作日" in said(chat.say("那大概几天能好呀"))  # the matter kept
    turn = Chat(index).say("我想问一下渔船登记需要带哪些东西")
    assert "没有找到「渔船登记」" in said(turn)


def test_fallback_with_a_cue_about_nothing_named_is_not_guessed(index):
    assert Chat(index).say("明天几点天亮") is None


def test_a_material_of_the_matter_is_not_an_unknown_matter(index):
    turn = answer_question(index, "ask_materials", [], "需要带身份证原件吗", "SH-P-001", None)
    assert "上海市居住证申领" in said(turn) and "没有找到" not in said(turn)
    asked = answer_question(index, "ask_materials", [], "身份证要原件还是复印件", None, None)
    assert "哪个事项" in said(asked)


def test_a_question_mentioning_a_problem_is_still_answered(index):
    text = "社保卡丢了好几天了补办到底要带什么，跑了两趟太麻烦了"
    turn = answer_question(index, "ask_materials", [ent("社保卡")], text, None, None)
    assert "社会保障卡补换" in said(turn) and "社会保障卡挂失记录" in said(turn)


# Answers with a scenario, the overview, the data.

def test_materials_of_a_scenario_list_the_base_and_its_own(index):
    matter = index.get("SH-P-004")
    text = "\n".join(materials(matter, None, "卡片遗失"))
    assert "（卡片遗失）" in text and "社会保障卡挂失记录" in text
    for material in matter.materials:
        assert material.name in text
    assert materials(matter, None, "no such scenario") == materials(matter)


def test_overview_is_short_for_every_matter(index):
    for matter in index.matters:
        text = overview(matter)[0]
        assert matter.name in text and matter.department in text and len(text) < 300


def test_situation_and_cue_data_load_once_and_are_valid():
    vocabulary = words()
    assert vocabulary is words()
    assert set(vocabulary.topic_order) == set(TOPIC_LABELS)
    ids = [s.id for s in vocabulary.situations]
    assert {"lost", "expiring", "first", "nonlocal", "urgent", "proxy"} <= set(ids)
    assert len(ids) == len(set(ids)) and all(s.words and s.selects for s in vocabulary.situations)
    assert all(s.topic in (None, *TOPIC_LABELS) for s in vocabulary.situations)


def test_reading_cuts_the_name_out_of_the_question(index):
    assert read(index, [], "渔业捕捞许可证需要什么条件").segments == ("渔业捕捞许可证",)
    assert read(index, [], "身份证快过期了").segments == ("身份证",)
    assert read(index, [], "那要多久？").segments == ()
    assert read(index, [], "第一次办").resolution.kind == "none"  # not 第一次办社保卡


@pytest.mark.parametrize("repeats", [36, 600], ids=["600-chars", "10000-chars"])
def test_reading_a_long_message_is_bounded(index, repeats):
    """A message is read as its first READ_CHARS characters (so 10,000 cost what 400
    do; how long that takes is not asserted here): a matter named past them is not seen,
    one named at the start is answered, each as its prefix alone would be."""
    from bot.catalog.dialogue import READ_CHARS

    filler = "楼下工地每天半夜施工，噪音特别大，" * repeats
    assert len(filler) > READ_CHARS
    for intent in ("nlu_fallback", "ask_materials"):
        for text in (filler + "居住证要什么材料", "居住证要什么材料" + filler):
            whole, prefix = Chat(index).say(text, intent), Chat(index).say(text[:READ_CHARS], intent)
            assert (said(whole) if whole else None) == (said(prefix) if prefix else None)
    tail = Chat(index).say(filler + "居住证要什么材料", "ask_materials")
    assert "上海市居住证申领" not in said(tail) and "哪个事项" in said(tail)
    head = Chat(index).say("居住证要什么材料" + filler, "ask_materials")
    assert "上海市居住证申领" in said(head)


def test_inform_that_asks_is_a_question_but_a_value_is_not(index):
    asked = handle_inform(index, [ent("营业执照")], "营业执照多少钱", None, None)
    assert "企业设立登记（开办企业）" in said(asked) and "收费" in said(asked)  # 不收费 / 收费：…
    value = handle_inform(index, [ent("浦东新区", kind="district")], "地址是浦东新区张杨路500号", None, None)
    assert "浦东新区" in said(value) and "哪个事项" in said(value)
