"""What the simulated citizens say.

One cycle of realistic lines in the order a citizen would say them: a matter question is
followed by its follow-ups ("那要多久？", "要钱吗"), with greetings, thanks, chitchat and
out-of-scope lines in between. A conversation is a window of consecutive lines starting
at a line that is not a follow-up, so every follow-up comes after the question it follows.

Lines that would open a multi-turn form (complaints, permit intake, the identity check
before an application's status) or hand the conversation to a person are left out on
purpose: they would change what later turns mean
and make runs hard to compare.
"""
from __future__ import annotations

from typing import List, Tuple

# (text, is_follow_up) — follow-ups only make sense after the line before them.
LINES: Tuple[Tuple[str, bool], ...] = (
    ("你好", False),
    ("居住证要什么材料", False),
    ("那要多久？", True),
    ("要钱吗", True),
    ("在哪里办", True),
    ("谢谢", False),
    ("社保卡补办去哪里办", False),
    ("能网上办吗", True),
    ("需要带什么", True),
    ("你是机器人吗", False),
    ("护照能网上办吗", False),
    ("多少钱", True),
    ("开公司流程", False),
    ("营业执照几天能拿到", False),
    ("需要什么条件", True),
    ("明天天气怎么样", False),
    ("在吗", False),
    ("驾照到期了怎么换", False),
    ("要本人去吗", True),
    ("麻烦你了", False),
    ("你叫什么名字", False),
    ("外地人能办居住证吗", False),
    ("居往证多久能办好", False),
    ("公积金提取能网上办吗", False),
    ("租房提取公积金要什么材料", False),
    ("要多长时间", True),
    ("辦營業執照要什麼材料", False),
    ("要錢嗎", True),
    ("老人津贴怎么申请", False),
    ("要交什么材料", True),
    ("无犯罪证明怎么开", False),
    ("有什么条件", True),
    ("你好聪明", False),
    ("失业金怎么领", False),
    ("在哪里办理", True),
    ("好的👍", True),
    ("帮我订张机票", False),
    ("新生儿怎么报户口", False),
    ("要带哪些材料", True),
    ("港澳通行证续签在哪办", False),
    ("周末上班吗", True),
    ("公司注销要多久", False),
    ("可以网上办吗", True),
    ("烟草证可以网上申请吗", False),
    ("没别的事了，再见", False),
)

TEXTS: Tuple[str, ...] = tuple(text for text, _ in LINES)
#: Positions a conversation may start at (never a follow-up).
STARTS: Tuple[int, ...] = tuple(i for i, (_, follow) in enumerate(LINES) if not follow)


def conversation(number: int, turns: int) -> List[str]:
    """The lines of simulated conversation `number`: `turns` consecutive lines of the
    cycle from the number-th possible start (conversations differ, none opens with a
    follow-up)."""
    start = STARTS[number % len(STARTS)]
    return [TEXTS[(start + k) % len(TEXTS)] for k in range(turns)]


def growth_script(turns: int, window: int = 10) -> List[str]:
    """One long conversation whose last `window` turns repeat its first `window` lines, so
    early and late latency compare the same messages and differ only by history length."""
    body = [TEXTS[k % len(TEXTS)] for k in range(max(0, turns - window))]
    return body + [TEXTS[k % len(TEXTS)] for k in range(min(window, turns))]
