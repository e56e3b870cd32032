"""What citizens say to steer a conversation, in one place: words that stop or cancel
what the bot is doing, and the way to ask for a person.

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


def holds(text: str, cues: Iterable[str]) -> bool:
    """Whether the text holds any of the cues."""
    return any(cue in text for cue in cues)
