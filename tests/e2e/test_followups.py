"""Follow-ups keep the matter (issue 12), measured on text nobody here wrote.

Each conversation starts with a citizen's question from the outside set
(tests/nlu/outside/messages.jsonl, kind "question") and goes on with a short follow-up
that leans on it, taken from public dialogues (tests/nlu/outside/followups.jsonl:
CrossWOZ and KdConv user turns such as "有电话吗？", "开放时间呢？", "那得多少钱？"; in a
government conversation they ask about the office of the matter just discussed). Where
the first answer settled on a matter (its name in 「」), the follow-up's answer must be
about the same matter and must not ask "哪个事项".

The share kept is printed and held to a floor; the issue's target is 0.90.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from tests.e2e.test_conversations import Citizen

pytestmark = pytest.mark.slow

OUTSIDE = Path(__file__).resolve().parents[1] / "nlu" / "outside"
#: Measured 44 of 47 = 0.936 on 2026-12-05 (follow-ups of 47 settled first answers); the
#: issue-12 target is 0.90.
KEPT_FLOOR = 0.90
NAMED = re.compile(r"「([^」]+)」")


def _jsonl(name: str) -> List[dict]:
    lines = (OUTSIDE / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def pairs() -> List[Tuple[str, str]]:
    """Every outside question with a follow-up, the follow-ups taken in turn."""
    questions = [m["text"] for m in _jsonl("messages.jsonl") if m["kind"] == "question"]
    followups = [f["text"] for f in _jsonl("followups.jsonl")]
    return [(q, followups[i % len(followups)]) for i, q in enumerate(questions)]


def settled_matter(reply: str) -> Optional[str]:
    """The matter an answer is about: the first name it gives in 「」, unless it is a
    list of candidates to choose from or an honest "not in the catalog"."""
    found = NAMED.search(reply)
    if not found or "没有找到" in reply or "下面哪一项" in reply:
        return None
    return found.group(1)


def test_follow_ups_keep_the_matter(stack):
    settled, kept, lost = 0, 0, []
    for first, follow in pairs():
        citizen = Citizen(stack)
        matter = settled_matter(citizen.text(first))
        if matter is None:
            continue
        settled += 1
        reply = citizen.text(follow)
        if f"「{matter}」" in reply and "哪个事项" not in reply:
            kept += 1
        else:
            lost.append((first, follow, matter, reply[:80]))
    share = kept / settled
    print(f"follow-ups kept the matter: {kept}/{settled} = {share:.3f}")
    assert settled >= 40, settled
    assert share >= KEPT_FLOOR, (share, lost[:15])
