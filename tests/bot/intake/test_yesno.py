"""parse_yes_no on colloquial Chinese answers (spec: 有 / 没有 / 不卖 / 暂时不 / 卖的)."""
from __future__ import annotations

import pytest

from bot.intake.yesno import parse_yes_no

YES = [
    # the spec's and the brief's own
    "有", "卖的", "是的", "对", "要", "已经办了", "嗯", "好", "1", "Y",
    # colloquial
    "有的", "是", "对的", "对对对", "嗯嗯", "好的", "可以", "行", "没问题", "没错", "当然",
    "经营的", "设置了", "要的", "需要", "办好了", "早就办了", "有营业执照", "已经有了",
    "我们卖的", "店里有卖", "打算卖", "会的", "超过了", "有，但是不多", "不，有的",
    "y", "yes", "OK", "√", "👍", "系",
    # Traditional characters and full-width
    "賣的", "已經辦了", "設置了", "經營的", "對", "Ｙ", "１",
]
NO = [
    # the spec's and the brief's own
    "没有", "不卖", "暂时不", "不是", "没", "不要", "还没办", "否", "暂不", "0", "N",
    # colloquial
    "无", "不", "不用了", "不需要", "没设置", "暂不设置", "不经营", "我们不卖", "店里没有",
    "目前还没有", "还没有营业执照", "暂时没有", "没有没有", "不卖不卖", "不打算", "不会",
    "没超过", "不到", "对，不卖", "是的，没有", "嗯，没有", "没有，谢谢", "不卖烟也不卖酒",
    "n", "No", "nope", "×", "冇", "唔系", "不了",
    # Traditional characters
    "沒有", "不賣", "暫時不", "還沒辦", "沒設置", "Ｎ",
]
NEITHER = [
    "需要带身份证原件吗？", "你好", "您好", "不知道", "不清楚", "不确定", "还没想好",
    "有没有", "是不是", "卖不卖", "可能会卖", "看情况", "谢谢", "哈哈", "啊？", "请问在哪里办",
    "营业执照怎么办", "有的卖有的不卖", "卖烟，不卖酒", "没事", "不错", "", "   ", "😀",
    "多少钱", "2", "随便", "需要什么材料", "我想问一下",
]


@pytest.mark.parametrize("text", YES)
def test_yes(text):
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", NO)
def test_no(text):
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", NEITHER)
def test_neither(text):
    assert parse_yes_no(text) is None


def test_enough_cases():
    assert len(YES) + len(NO) + len(NEITHER) >= 40


@pytest.mark.parametrize(
    "text, context, expected",
    [
        ("现做的", ["现做"], True),
        ("现做的", [], None),
        ("关东煮有的", ["关东煮"], True),
        ("烟不卖", ["烟"], False),
        ("酒的话没有", ["酒"], False),
        ("招牌有", ["招牌"], True),
        ("淋浴没有", ["淋浴"], False),
        ("泳池有一个", ["泳池"], True),
        ("烟有没有", ["烟"], None),
    ],
)
def test_context_words(text, context, expected):
    assert parse_yes_no(text, context) is expected
