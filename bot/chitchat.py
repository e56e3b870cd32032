"""Small-talk answers from data/reference/chitchat.yml (data, so wording is easy to edit)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import ROOT
from bot.text import normalize_text


@lru_cache(maxsize=1)
def _table(path: Path = ROOT / "data" / "reference" / "chitchat.yml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def chitchat_answer(text: str) -> str:
    """The answer of the first entry whose keyword occurs in the message."""
    table = _table()
    message = normalize_text(text)
    for entry in table["answers"]:
        if any(k in message for k in entry["keywords"]):
            return entry["text"]
    return table["default"]
