"""Buttons as numbered options and the citizen's number mapped back to the payload."""
from __future__ import annotations

import pytest

from bot.kv import MemoryStore
from connectors.common import options
from connectors.common.text import links_as_anchors, links_as_plain, split_bytes

BUTTONS = [{"title": "社会保障卡申领", "payload": '/ask_materials{"matter": "社会保障卡申领"}'},
           {"title": "社会保障卡补换", "payload": '/ask_materials{"matter": "社会保障卡补换"}'},
           {"title": "办事指南", "url": "https://zwdt.example.gov.cn/guide", "type": "web_url"}]


def test_numbered_text():
    text = options.numbered_text("您指的是下面哪一项？", BUTTONS)
    assert text.splitlines() == ["您指的是下面哪一项？", "回复1：社会保障卡申领", "回复2：社会保障卡补换",
                                 "办事指南：https://zwdt.example.gov.cn/guide"]


@pytest.mark.parametrize("said,number", [
    ("1", 1), ("１", 1), ("回复1", 1), ("回覆 2", 2), ("第二个", 2), ("选2。", 2), ("2!", 2),
    ("十", 10), ("我选1", 1),
    ("12345", None), ("1个人能办吗", None), ("社保卡", None), ("", None), ("回复", None),
])
def test_choice_number(said, number):
    assert options.choice_number(said) == number


class _CountingPattern:
    """options._CHOICE, counting the texts it is run on."""

    def __init__(self, pattern):
        self.pattern, self.texts = pattern, []

    def match(self, text):
        self.texts.append(text)
        return self.pattern.match(text)


@pytest.mark.parametrize("said", ["1" + " " * 8000 + "x", "回复" + " " * 8000 + "2" + " " * 8000,
                                  " " * 60 + "2"],
                         ids=["spaces-inside", "spaced-out-choice", "just-too-long"])
def test_a_long_text_is_no_choice_and_never_reaches_the_pattern(monkeypatch, said):
    """The pattern's `\\s*` runs backtrack over long spaces (8,000 took 1 s, the 64 KB a
    webhook accepts over a minute, with the server's loop blocked): a text longer than
    any choice (MAX_CHOICE_CHARS) is no choice and is not matched at all. How long
    matching takes is not asserted here (a busy machine makes any bound flaky)."""
    counting = _CountingPattern(options._CHOICE)
    monkeypatch.setattr(options, "_CHOICE", counting)
    assert len(said) > options.MAX_CHOICE_CHARS
    assert options.choice_number(said) is None
    assert counting.texts == []
    assert options.choice_number("  回复 2 ") == 2  # a short one still is matched
    assert counting.texts == ["回复 2"]


async def test_remember_resolve_forget():
    store = MemoryStore()
    await options.remember(store, "wechat_oa", "o1", BUTTONS)
    assert await options.resolve(store, "wechat_oa", "o1", "回复2") == BUTTONS[1]["payload"]
    assert await options.resolve(store, "wechat_oa", "o1", "社会保障卡申领") == BUTTONS[0]["payload"]
    assert await options.resolve(store, "wechat_oa", "o1", "3") is None  # the link is no option
    assert await options.resolve(store, "wechat_oa", "o2", "1") is None  # another user
    assert await options.resolve(store, "alipay_life", "o1", "1") is None  # another channel
    await options.forget(store, "wechat_oa", "o1")
    assert await options.resolve(store, "wechat_oa", "o1", "1") is None


async def test_options_expire():
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    await options.remember(store, "wechat_oa", "o1", BUTTONS)
    now[0] = options.OPTIONS_TTL + 1
    assert await options.resolve(store, "wechat_oa", "o1", "1") is None


def test_split_bytes_keeps_every_character_and_limit():
    text = "\n".join(f"{i}. 居民身份证（原件1份）" * 3 for i in range(200))
    pieces = split_bytes(text)
    assert all(len(p.encode("utf-8")) <= 2048 for p in pieces) and len(pieces) > 1
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    one_line = "办" * 3000  # no line breaks: cut between characters
    pieces = split_bytes(one_line)
    assert "".join(pieces) == one_line and all(len(p.encode()) <= 2048 for p in pieces)
    assert split_bytes("  \n ") == [] and split_bytes("短") == ["短"]


def test_links():
    text = "详见[办事指南](https://zwdt.example.gov.cn/g?id=1)。"
    assert links_as_anchors(text) == '详见<a href="https://zwdt.example.gov.cn/g?id=1">办事指南</a>。'
    assert links_as_plain(text) == "详见办事指南（https://zwdt.example.gov.cn/g?id=1）。"


async def test_turns_of_one_user_run_in_order_and_are_bounded():
    import asyncio

    from connectors.common.background import TurnRunner

    runner = TurnRunner("test", max_running=2, max_waiting=3)
    log, running, peak = [], [0], [0]

    def turn(user, n, delay):
        async def run():
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            await asyncio.sleep(delay)
            log.append((user, n))
            running[0] -= 1
        return run

    assert runner.submit(turn("a", 1, 0.05), "a1", user="a")
    assert runner.submit(turn("a", 2, 0.0), "a2", user="a")
    assert runner.submit(turn("b", 1, 0.01), "b1", user="b")
    assert runner.submit(turn("c", 1, 0.01), "c1", user="c")
    assert runner.submit(turn("d", 1, 0.01), "d1", user="d")
    assert not runner.submit(turn("e", 1, 0.0), "e1", user="e")  # queue full: refused
    await runner.drain()
    assert [n for u, n in log if u == "a"] == [1, 2] and len(log) == 5 and peak[0] <= 2
