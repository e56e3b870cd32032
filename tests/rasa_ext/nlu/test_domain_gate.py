"""The domain gate's decision (rasa_ext/nlu/domain_gate.py), and the gate itself on a small
corpus: no model of ours needed."""
from __future__ import annotations

from rasa_ext.nlu.domain_gate import changed_intent, fit, substantive, verdict, world_of

RANKING = [{"name": "ask_procedure"}, {"name": "greet"}, {"name": "chitchat"}]


def test_only_sure_verdicts_about_unnamed_things_change_a_service_intent():
    assert changed_intent("ask_procedure", "other", 0.9, [], RANKING, 0.8) == "out_of_scope"
    assert changed_intent("nlu_fallback", "other", 0.9, [], RANKING, 0.8) == "out_of_scope"
    assert changed_intent("ask_procedure", "other", 0.7, [], RANKING, 0.8) is None  # not sure
    assert changed_intent("ask_fee", "other", 0.99, [{"entity": "matter"}], RANKING, 0.8) is None
    assert changed_intent("ask_procedure", "service", 0.99, [], RANKING, 0.8) is None


def test_social_messages_get_the_social_intent_ranked_highest():
    assert changed_intent("complain", "social", 0.9, [], RANKING, 0.8) == "greet"
    assert changed_intent("complain", "social", 0.9, [], [{"name": "complain"}], 0.8) == "chitchat"


def test_short_answers_and_non_service_intents_are_left_alone():
    for intent in ("inform", "affirm", "deny", "out_of_scope", "chitchat", "greet"):
        assert changed_intent(intent, "other", 0.99, [], RANKING, 0.8) is None, intent
    assert world_of("inform") is None and world_of("ask_fee") == "service"


def test_the_gate_tells_the_worlds_apart():
    service = ["居住证要带什么材料", "护照多少钱", "社保卡去哪里办", "营业执照多久能拿到",
               "公积金提取能网上办吗", "楼下工地半夜施工太吵了", "我的申请到哪一步了"] * 3
    other = ["放一首周杰伦的歌", "这部电影的导演是谁", "帮我订一间酒店", "附近有什么好吃的餐馆",
             "故宫门票多少钱", "这首歌谁唱的", "推荐一部好看的电影"] * 3
    social = ["哈哈哈笑死我了", "今天好开心", "你真可爱", "晚安好梦", "我好无聊啊",
              "想你了", "早上好呀"] * 3
    model = fit(service + other + social,
                ["service"] * len(service) + ["other"] * len(other) + ["social"] * len(social))
    assert verdict(model, "给我放一首歌")[0] == "other"
    assert verdict(model, "驾照要带什么材料")[0] == "service"
    assert verdict(model, "哈哈好开心")[0] == "social"


def test_marks_repeats_and_fragments_are_not_judged():
    for noise in ("。。。", "？？？？", "zzzzzz", "发发发发", "呃我想想", "11111", "hmm", "…",
                  "asdkjh qwe zzxv", "asdfghjkl"):
        assert not substantive(noise), noise
    for text in ("给我放一首歌", "导航去万象城"):
        assert substantive(text), text
