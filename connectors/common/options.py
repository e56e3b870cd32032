"""Buttons as numbered text options, and the citizen's "回复1" mapped back to the button.

WeChat and Alipay chats show no buttons, so the bot's buttons become lines
"回复1：社会保障卡申领". The options last offered to a user are remembered in the shared
store (bot/kv.py) for OPTIONS_TTL, so whichever process receives "1", "回复2", "２",
"第一个" or the option's exact title sends the button's payload to Rasa instead.
A turn that offers no options forgets the old ones (a later "2" is then an answer to the
new question, not a choice from a stale list).
"""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import Any, Dict, List, Optional, Sequence

from bot.dialogue import texts
from bot.kv import KeyValueStore

logger = logging.getLogger(__name__)

OPTIONS_TTL = 30 * 60
#: How an option and a link are written out (data/texts/channels.yml).
TEXTS = texts.load("channels", {"option_line": ("number", "title"), "link_line": ("title", "url")})
#: A choice is a few characters ("回复 12。"); longer texts are not matched at all (the
#: pattern's adjacent `\s*` backtrack quadratically over a long run of spaces).
MAX_CHOICE_CHARS = 16
# What a citizen may type to pick an option is grammar, not wording: the pattern below reads
# the answers people give to option_line ("回复1", "第一个", "选2。"), so it stays here, with
# the code that depends on its groups, rather than in data/texts/.
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                   "八": 8, "九": 9, "十": 10}
_CHOICE = re.compile(
    r"^(?:回复|回覆|回|选择?|選擇?|第|我选|我選|要)?\s*"
    r"(\d{1,2}|[一二两三四五六七八九十])\s*"
    r"(?:个|個|项|項|号|號|条|條)?\s*[。.!！~～]*$"
)


def choosable(buttons: Sequence[Dict[str, Any]]) -> List[Dict[str, str]]:
    """The buttons a citizen can pick by number (those with a payload, not links)."""
    return [
        {"title": str(b.get("title", "")), "payload": str(b["payload"])}
        for b in buttons
        if b.get("payload") and b.get("type") != "web_url"
    ]


def numbered_text(text: str, buttons: Sequence[Dict[str, Any]]) -> str:
    """The message with its buttons as "回复N：title" lines (link buttons as links)."""
    lines = [text.strip()] if text and text.strip() else []
    number = 0
    for button in buttons:
        if button.get("type") == "web_url" or (button.get("url") and not button.get("payload")):
            lines.append(TEXTS("link_line", title=button.get("title", ""),
                                    url=button.get("url") or button.get("payload")))
        elif button.get("payload"):
            number += 1
            lines.append(TEXTS("option_line", number=number, title=button.get("title", "")))
    return "\n".join(lines)


def choice_number(text: str) -> Optional[int]:
    """1 for "1", "１", "回复1", "第一个", "选1。"; None for anything else."""
    if not text or len(text) > MAX_CHOICE_CHARS:
        return None
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = _CHOICE.match(normalized)
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else _CHINESE_DIGITS[token]


def _key(channel: str, user: str) -> str:
    return f"options:{channel}:{user}"


async def remember(store: KeyValueStore, channel: str, user: str,
                   buttons: Sequence[Dict[str, Any]]) -> None:
    options = choosable(buttons)
    if options:
        await store.set(_key(channel, user), json.dumps(options, ensure_ascii=False),
                        ttl=OPTIONS_TTL)


async def forget(store: KeyValueStore, channel: str, user: str) -> None:
    await store.delete(_key(channel, user))


async def resolve(store: KeyValueStore, channel: str, user: str, text: str) -> Optional[str]:
    """The payload of the option the text picks, or None (the text goes to Rasa as is)."""
    number = choice_number(text)
    stripped = (text or "").strip()
    if number is None and not stripped:
        return None
    raw = await store.get(_key(channel, user))
    if not raw:
        return None
    try:
        options = json.loads(raw)
    except ValueError:
        logger.warning("options for %s… unreadable; dropped", user[:6])
        return None
    if number is not None:
        return options[number - 1]["payload"] if 1 <= number <= len(options) else None
    for option in options:
        if option["title"] and option["title"] == stripped:
            return option["payload"]
    return None
