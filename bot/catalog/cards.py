"""Answers about one matter as structure (a "matter card"), for channels that can show it.

The same facts as bot/catalog/answers.py, as parts instead of a wall of text: a title,
the materials as a checklist with a tag each (免提交 / 需提交 / 非必需), the situations
that need more, short facts, links and follow-up questions. The format is
card.schema.yml beside this file (docs/answer-cards.md says how each channel shows
it); every card carries the answer as plain text too (`text`), for channels and clients
that show no cards. Pure functions from a Matter; the words are data/texts/answers.yml.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.catalog import answers
from bot.catalog.answers import (
    INTENT_BY_TOPIC, MAX_LIST, TOPIC_LABELS, days_text, material_tag, online_short,
    scenario_named,
)
from bot.catalog.schema import Material, Matter, Scenario
from bot.dialogue import texts
from bot.dialogue.texts import Table
from bot.validation import Problems, Schema

Card = Dict[str, Any]

CARD_TYPE = "matter_card"
VERSION = 1
SCHEMA = Schema(Path(__file__).with_name("card.schema.yml"))
MAX_SCENARIOS = 4
MAX_CHIPS = 7
MAX_TEXT = 4000
#: Where the web app shows a matter's full guide (relative to the web app).
GUIDE_PATH = "/guide/{code}"

TEXTS = texts.load("answers", {
    "card_title": ("matter", "count"), "card_title_scenario": ("matter", "scenario", "count"),
    "card_exempt": ("exempt",), "card_more": ("count",), "card_overview_title": ("matter",),
    "fact_labels": Table(("time", "fee", "online", "department")),
    "fact_time": ("promised", "statutory"), "fact_time_same": ("promised",),
    "fact_fee_free": (), "action_labels": Table(("online", "guide", "call")), "hotline": (),
    "hotline_line": ("number",),
})
FACT_LABELS = TEXTS.table("fact_labels")
ACTION_LABELS = TEXTS.table("action_labels")


def _line(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def material_item(m: Material) -> Dict[str, Any]:
    """One checklist entry: name, form (原件 …), copies, tag and the catalog's note."""
    item: Dict[str, Any] = {"name": _line(m.name), "form": m.form_label, "count": m.count,
                            "tag": material_tag(m)}
    if m.note:
        item["note"] = _line(m.note, 600)
    return item


def _scenario(scenario: Scenario, open_: bool = False) -> Dict[str, Any]:
    part: Dict[str, Any] = {"name": _line(scenario.name),
                            "materials": [material_item(m) for m in scenario.materials[:MAX_LIST]]}
    if scenario.description:
        part["description"] = _line(scenario.description, 600)
    if open_:
        part["open"] = True
    return part


def facts(matter: Matter) -> List[Dict[str, str]]:
    """办理时限, 收费, 网上办理, 承办部门 in a few words each."""
    promised, statutory = days_text(matter.promised_days), days_text(matter.statutory_days)
    time = (TEXTS("fact_time_same", promised=promised) if promised == statutory
            else TEXTS("fact_time", promised=promised, statutory=statutory))
    fee = TEXTS("fact_fee_free") if matter.fee_free else matter.fee_amount
    rows = [("time", time), ("fee", fee), ("online", online_short(matter)),
            ("department", matter.department)]
    return [{"label": FACT_LABELS[key], "value": _line(value, 600)} for key, value in rows if value]


def actions(matter: Matter) -> List[Dict[str, str]]:
    """去办理 (the online entry, when there is one), 查看指南 (the web app's guide page),
    拨打12345."""
    out: List[Dict[str, str]] = []
    if matter.online_available and matter.online_url.startswith(("https://", "http://")):
        out.append({"type": "link", "title": ACTION_LABELS["online"], "url": matter.online_url})
    out.append({"type": "link", "title": ACTION_LABELS["guide"],
                "url": GUIDE_PATH.format(code=matter.code)})
    out.append({"type": "call", "title": ACTION_LABELS["call"], "number": TEXTS["hotline"]})
    return out


def chip_payload(topic: str, matter: Matter) -> str:
    """What a chip sends: the question's intent with the matter (as the topic buttons)."""
    return f"/{INTENT_BY_TOPIC[topic]}" + json.dumps({"matter": matter.name}, ensure_ascii=False)


def chips(matter: Matter, skip: Optional[str] = None) -> List[Dict[str, str]]:
    """The other questions about the matter, in the buttons' order."""
    return [{"title": label, "payload": chip_payload(topic, matter)}
            for topic, label in TOPIC_LABELS.items() if topic != skip][:MAX_CHIPS]


def _text(parts: List[str]) -> str:
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def materials_card(matter: Matter, scenario: Optional[str] = None) -> Card:
    """The materials answer (answers.materials) as a card: the checklist, with the
    citizen's scenario (情形) opened when one was told, the others collapsed."""
    chosen = scenario_named(matter, scenario)
    every = list(matter.materials) + (list(chosen.materials) if chosen else [])
    if chosen is not None:
        title = TEXTS("card_title_scenario", matter=matter.name, scenario=chosen.name,
                      count=len(every))
        scenarios = [_scenario(chosen, open_=True)] if chosen.materials else []
    else:
        title = TEXTS("card_title", matter=matter.name, count=len(every))
        scenarios = [_scenario(s) for s in matter.scenarios[:MAX_SCENARIOS] if s.materials]
    card: Card = {"type": CARD_TYPE, "version": VERSION, "kind": "materials",
                  "matter": {"code": matter.code, "name": matter.name}, "title": _line(title)}
    exempt = sum(1 for m in every if m.held_by_government)
    if exempt:
        card["summary"] = TEXTS("card_exempt", exempt=exempt)
    if matter.materials:
        card["materials"] = [material_item(m) for m in matter.materials[:MAX_LIST]]
    if len(matter.materials) > MAX_LIST:
        card["more"] = TEXTS("card_more", count=len(matter.materials) - MAX_LIST)
    if scenarios:
        card["scenarios"] = scenarios
    return _finish(card, matter, "materials",
                   answers.materials(matter, None, chosen.name if chosen else None))


def overview_card(matter: Matter, scenario: Optional[str] = None, note: str = "") -> Card:
    """A matter's overview (answers.overview) as a card: what it is, the facts, and the
    questions to ask next as chips."""
    card: Card = {
        "type": CARD_TYPE, "version": VERSION, "kind": "overview",
        "matter": {"code": matter.code, "name": matter.name},
        "title": _line(TEXTS("card_overview_title", matter=matter.name)),
    }
    if note:  # the citizen's situation that the catalog lists nothing for
        card["summary"] = _line(note)
    chosen = scenario_named(matter, scenario)
    if chosen is not None and chosen.materials:
        card["scenarios"] = [_scenario(chosen, open_=True)]
    return _finish(card, matter, None, answers.overview(matter, scenario, note))


def _finish(card: Card, matter: Matter, topic: Optional[str], text: List[str]) -> Card:
    card["facts"] = facts(matter)
    card["actions"] = actions(matter)
    card["chips"] = chips(matter, skip=topic)
    card["text"] = _text(text)
    return {key: value for key, value in card.items() if value not in (None, "", [], {})}


def card_problems(card: Any) -> List[str]:
    """Every way `card` departs from card.schema.yml, as 'field: message'."""
    problems = Problems("", root="card", code="")
    SCHEMA.check(card, problems.fail)
    return [p.message for p in problems.found]


def is_card(payload: Any) -> bool:
    """A custom payload this module made (of a version the reader knows)."""
    return (isinstance(payload, dict) and payload.get("type") == CARD_TYPE
            and payload.get("version") == VERSION)


def hotline_line(number: str) -> str:
    """A call action as a line of a text-only chat (the apps make the number tappable)."""
    return TEXTS("hotline_line", number=number)
