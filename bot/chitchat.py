"""Small-talk answers from data/reference/chitchat.yml (data, so wording is easy to edit)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from bot.settings import ROOT
from bot.text import normalize_text


@lru_cache(maxsize=1)
def _table(path: Path = ROOT / "data" / "reference" / "chitchat.yml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def known_chitchat(text: str) -> Optional[str]:
    """The answer of the first entry whose keyword occurs in the message; None when no
    entry knows it (a form then reads the message as an answer it did not understand,
    not as small talk: "这个我也说不好" to a yes/no question)."""
    message = normalize_text(text)
    for entry in _table()["answers"]:
        if any(k in message for k in entry["keywords"]):
            return entry["text"]
    return None


def chitchat_answer(text: str) -> str:
    """The known answer, or the general one."""
    return known_chitchat(text) or _table()["default"]
