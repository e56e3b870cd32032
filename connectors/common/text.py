"""Fitting the bot's texts into what a platform's message can carry."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot import settings
from bot.catalog import cards

WECHAT_TEXT_BYTES = 2048  # customer-service text limit (UTF-8 bytes)
#: What a platform message may hand the bot (as the widget's MAX_MESSAGE_CHARS): nobody
#: needs more in one turn, and everything after (options, NLU) then works on a bounded text.
MAX_MESSAGE_CHARS = 2000

_MD_LINK = re.compile(r"\[([^\]\n]{1,80})\]\((https?://[^\s)]+)\)")


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The text cut to `limit` characters first, then stripped: nothing looks at more."""
    return text[:limit].strip()


def split_bytes(text: str, limit: int = WECHAT_TEXT_BYTES) -> List[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at line breaks where possible.

    A message longer than the platform allows is refused whole (WeChat: errcode 45002),
    so a long answer (a matter's full list of materials) goes out in several messages,
    in order, each ending at a line when one fits, never inside a character.
    """
    text = text.strip()
    if not text:
        return []
    pieces: List[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        while len(line.encode("utf-8")) > limit:
            head = _cut(line, limit)
            pieces.append(head)
            line = line[len(head):]
        current = line
    if current.strip():
        pieces.append(current)
    return [p for p in (piece.strip("\n") for piece in pieces) if p.strip()]


def _cut(line: str, limit: int) -> str:
    """The longest prefix of `line` within `limit` bytes (whole characters)."""
    size = 0
    for index, char in enumerate(line):
        size += len(char.encode("utf-8"))
        if size > limit:
            return line[:index]
    return line


def links_as_anchors(text: str) -> str:
    """Markdown links → `<a href>`: the form an Official Account's text message shows."""
    return _MD_LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', text)


def links_as_plain(text: str) -> str:
    """Markdown links → `title（url）` for clients that show plain text only."""
    return _MD_LINK.sub(lambda m: f"{m.group(1)}（{m.group(2)}）", text)


def web_base_url() -> str:
    """The base of the card's links that are paths of the web app (/guide/{code}):
    where citizens reach it (bot.settings.public_base_url)."""
    return settings.public_base_url()


def card_as_text(
    message: Mapping[str, Any], base_url: str
) -> Optional[Tuple[str, List[Dict[str, str]]]]:
    """A bot message carrying a matter card (docs/answer-cards.md) as what a text-only
    chat shows: the card's text, its links as short markdown lines (each channel writes
    links its own way: an anchor, or "title（url）"), the hotline as a line, and its chips
    as buttons, which the channel numbers ("回复1：要多久"). None for any other message."""
    card = message.get("custom")
    if not cards.is_card(card):
        return None
    text = str(card.get("text") or message.get("text") or "").strip()
    lines: List[str] = []
    for action in card.get("actions") or []:
        if action.get("type") == "link" and action.get("url"):
            url = str(action["url"])
            if url.startswith("/"):
                url = base_url.rstrip("/") + url
            lines.append(f"[{action.get('title', '')}]({url})")
        elif action.get("type") == "call" and action.get("number"):
            lines.append(cards.hotline_line(str(action["number"])))
    chips = card.get("chips") or message.get("buttons") or []
    buttons = [{"title": str(c.get("title", "")), "payload": str(c["payload"])}
               for c in chips if isinstance(c, Mapping) and c.get("payload")]
    return "\n\n".join(part for part in (text, "\n".join(lines)) if part), buttons
