"""What citizens say to steer a conversation, in one place: words that stop or cancel
what the bot is doing, the way to ask for a person, and the steering words of the intake
interview, the status check and the satisfaction rating.

Each conversation stops on its own words (a bare 算了 answers no to an intake question,
but stops a status check), built here from the shared ones. Matching is a plain "the
text holds the cue" (`holds`); each caller normalises the text as it did before.
"""
from __future__ import annotations

from typing import Iterable

from bot.dialogue.turn import button

#: Stop whatever is going on, in every conversation.
STOP = ("取消", "退出")

#: Stop a status check (a bare 算了 too: the check asks for numbers, not yes or no).
STOP_STATUS = ("算了", *STOP, "不查了", "不用查了", "不要了", "别查了")

#: Stop the intake interview. Not a bare 算了: it answers no to a yes/no question.
STOP_INTAKE = (
    "不办了", "不弄了", "不问了", "不想办了", "不开了", "不用办了", "先不办", "暂时不办", *STOP,
    "停止", "结束问答", "别问了", "不要问了", "算了吧不", "算了不",
)

#: Cancel leaving a message for a person (a short reply holding one of these).
CANCEL_MESSAGE = ("算了", "不用了", "取消", "不留了", "不需要了")

#: The intent of asking for a person, and the button that asks for one.
HUMAN_INTENT = "request_human"
HUMAN_TITLE = "转人工"
HUMAN_BUTTON = button(HUMAN_TITLE, f"/{HUMAN_INTENT}")


#: The intake interview (bot/intake/dialogue.py), checked in this order before answers:
#: start again, go back one question, change an answer.
RESTART = ("重新开始", "重新来", "重来", "从头开始", "从头来", "重新填", "重新回答", "再来一遍")
BACK = ("上一题", "上一个问题", "上个问题", "上一步", "返回上", "回到上", "退回上", "退回去")
CHANGE = (
    "说错", "搞错", "弄错", "写错", "答错", "选错", "点错", "按错", "改成", "改为", "改一下",
    "改下", "修改", "更正", "纠正", "更改", "改一改", "要改",
)
#: Words around a correction that carry no answer: removed before the answer is read.
CHANGE_FILLERS = ("刚才", "刚刚", "之前", "前面", "上面", "其实", "应该是", "应该", "我要", "我想",
                  "帮我", "那个")
#: The read-back of the answers is confirmed.
CONFIRM = ("确认", "无误", "没问题", "正确", "生成", "可以了", "没错")
#: A yes/no button's payload, read as the word it stands for.
BUTTON_ANSWERS = {"/affirm": "是", "/deny": "否"}

#: The status check: send the verification code again.
RESEND = ("没收到", "沒收到", "收不到", "没有收到", "重发", "重新发", "再发", "再来一个", "重新获取",
          "没短信", "没有短信")

#: A satisfaction rating said without a number, strongest first ("很不满意" before "满意").
RATING_WORDS = (
    ("非常不满意", 1), ("很不满意", 1), ("差评", 1), ("不太满意", 2), ("不满意", 2),
    ("一般", 3), ("马马虎虎", 3), ("还行", 3), ("还可以", 3), ("比较满意", 4),
    ("非常满意", 5), ("很满意", 5), ("满分", 5), ("好评", 5), ("满意", 4),
)


def holds(text: str, cues: Iterable[str]) -> bool:
    """Whether the text holds any of the cues."""
    return any(cue in text for cue in cues)
