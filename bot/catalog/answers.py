"""Chat-sized answers about one matter, one function per question type.

Pure functions from a Matter to a list of short messages, so the same answers serve
every channel (WeChat shows plain text; the widget shows buttons) and are tested
without Rasa. Every fact comes from the catalog entry; nothing is made up. The words
around the facts are data/texts/answers.yml.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

from bot.catalog.schema import Material, Matter, Scenario
from bot.dialogue import texts
from bot.dialogue.texts import Table

Messages = List[str]

#: Topics the actions answer, by the NLU intent that asks for them.
TOPIC_BY_INTENT = {
    "ask_materials": "materials",
    "ask_processing_time": "processing_time",
    "ask_fee": "fee",
    "ask_where_to_apply": "where_to_apply",
    "ask_online": "online",
    "ask_eligibility": "eligibility",
    "ask_procedure": "procedure",
}

#: The intent that asks each topic (what a button about the topic sends).
INTENT_BY_TOPIC = {topic: intent for intent, topic in TOPIC_BY_INTENT.items()}

MAX_LIST = 8  # a phone screen; longer lists point to the full guide

#: The topics, in the order of the buttons that ask them.
TOPICS = ("materials", "processing_time", "fee", "where_to_apply", "online", "eligibility",
          "procedure")

TEXTS = texts.load("answers", {
    **{key: () for key in (
        "material_held", "material_optional", "scenarios_head", "days_now", "who_personal",
        "who_enterprise", "short_not_online", "short_full_online_bare",
        "short_partly_online_bare", "overview_ask",
    )},
    "material_line": ("n", "tag", "name", "parts"), "material_count": ("form", "count"),
    "materials_head": ("matter", "count"), "materials_head_exempt": ("matter", "count", "exempt"),
    "scenario_head": ("matter", "scenario", "count"),
    "scenario_head_exempt": ("matter", "scenario", "count", "exempt"),
    "materials_more": ("count",), "scenarios_line": ("scenario", "materials"),
    "scenario_own": ("scenario",), "explained": ("note",), "days": ("days",),
    "processing_time": ("matter", "statutory", "promised", "faster"), "faster": ("days",),
    "fee_free": ("matter",), "fee": ("matter", "amount"), "fee_basis": ("basis",),
    "windows_head": ("matter",), "windows_head_elsewhere": ("matter", "district"),
    "window": ("name", "address", "hours"), "window_phone": ("phone",),
    "not_online": ("matter",), "full_online": ("matter", "where"),
    "partly_online": ("matter", "where"), "online_entry": ("url",),
    "eligibility": ("matter", "who"), "procedure": ("matter",), "department": ("department",),
    "short_full_online": ("where",), "short_partly_online": ("where",),
    "overview": ("matter", "department", "online"),
    "overview_scenario": ("scenario", "materials"),
    "topic_labels": Table(TOPICS),
    "tags": Table(("held", "required", "optional")),
})
#: What a material's tag says: the government holds it, bring it, or only in some cases.
TAGS = TEXTS.table("tags")


def material_tag(m: Material) -> str:
    """免提交 (the government holds it), 非必需 (only in some cases) or 需提交."""
    if m.held_by_government:
        return TAGS["held"]
    return TAGS["required"] if m.required else TAGS["optional"]


def _material_line(n: int, m: Material) -> str:
    parts = [TEXTS("material_count", form=m.form_label, count=m.count)]
    if m.held_by_government:
        parts.append(TEXTS("material_held"))
    if not m.required and m.held_by_government:  # else the tag says it
        parts.append(TEXTS("material_optional"))
    line = TEXTS("material_line", n=n, tag=material_tag(m), name=m.name, parts="，".join(parts))
    if m.note:
        line += f"\n   {m.note}"
    return line


def scenario_named(matter: Matter, name: Optional[str]) -> Optional[Scenario]:
    """The matter's scenario of that name (None when the matter has no such scenario:
    the name may come from an earlier turn about another matter)."""
    return next((s for s in matter.scenarios if name and s.name == name), None)


def materials(
    matter: Matter, district: Optional[str] = None, scenario: Optional[str] = None
) -> Messages:
    """The base materials; with the citizen's scenario (情形), its materials too, because
    "社保卡丢了要带什么" is answered by the lost-card list, not by the general one."""
    chosen = scenario_named(matter, scenario)
    if chosen is not None:
        return _scenario_materials(matter, chosen)
    lines = [_material_line(i, m) for i, m in enumerate(matter.materials[:MAX_LIST], 1)]
    exempt = sum(1 for m in matter.materials if m.held_by_government)
    count = len(matter.materials)
    head = (TEXTS("materials_head_exempt", matter=matter.name, count=count, exempt=exempt)
            if exempt else TEXTS("materials_head", matter=matter.name, count=count))
    out = [head + "\n" + "\n".join(lines)]
    if len(matter.materials) > MAX_LIST:
        out[0] += "\n" + TEXTS("materials_more", count=len(matter.materials) - MAX_LIST)
    if matter.scenarios:
        extra = []
        for s in matter.scenarios[:4]:
            names = "、".join(m.name for m in s.materials)
            extra.append(TEXTS("scenarios_line", scenario=s.name, materials=names))
        out.append(TEXTS("scenarios_head") + "\n" + "\n".join(extra))
    return out


def _scenario_materials(matter: Matter, scenario: Scenario) -> Messages:
    every = list(matter.materials) + list(scenario.materials)
    exempt = sum(1 for m in every if m.held_by_government)
    names = {"matter": matter.name, "scenario": scenario.name, "count": len(every)}
    head = (TEXTS("scenario_head_exempt", exempt=exempt, **names) if exempt
            else TEXTS("scenario_head", **names))
    base = [_material_line(i, m) for i, m in enumerate(matter.materials[:MAX_LIST], 1)]
    text = head + "\n" + "\n".join(base)
    if len(matter.materials) > MAX_LIST:
        text += "\n" + TEXTS("materials_more", count=len(matter.materials) - MAX_LIST)
    start = len(matter.materials) + 1
    own = [_material_line(i, m) for i, m in enumerate(scenario.materials[:MAX_LIST], start)]
    out = [text, TEXTS("scenario_own", scenario=scenario.name) + "\n" + "\n".join(own)]
    if scenario.description:
        out[1] += "\n" + TEXTS("explained", note=scenario.description)
    return out


def days_text(days: int) -> str:
    return TEXTS("days_now") if days == 0 else TEXTS("days", days=days)


def processing_time(matter: Matter, district: Optional[str] = None) -> Messages:
    faster = ""
    if matter.promised_days < matter.statutory_days:
        faster = TEXTS("faster", days=matter.statutory_days - matter.promised_days)
    text = TEXTS("processing_time", matter=matter.name, statutory=days_text(matter.statutory_days),
                 promised=days_text(matter.promised_days), faster=faster)
    if matter.time_note:
        text += "\n" + TEXTS("explained", note=matter.time_note)
    return [text]


def fee(matter: Matter, district: Optional[str] = None) -> Messages:
    if matter.fee_free:
        text = TEXTS("fee_free", matter=matter.name)
    else:
        text = TEXTS("fee", matter=matter.name, amount=matter.fee_amount)
    if matter.fee_basis:
        text += "\n" + TEXTS("fee_basis", basis=matter.fee_basis)
    return [text]


def _windows_for(matter: Matter, district: Optional[str]):
    if district:
        local = [w for w in matter.windows if w.district and district.startswith(w.district[:2])]
        if local:
            return local, True
    return matter.windows, False


def where_to_apply(matter: Matter, district: Optional[str] = None) -> Messages:
    out: Messages = []
    windows, local = _windows_for(matter, district)
    if windows:
        lines = []
        for w in windows[:4]:
            line = TEXTS("window", name=w.name, address=w.address, hours=w.hours)
            if w.phone:
                line += "\n" + TEXTS("window_phone", phone=w.phone)
            lines.append(line)
        if district and not local:
            head = TEXTS("windows_head_elsewhere", matter=matter.name, district=district)
        else:
            head = TEXTS("windows_head", matter=matter.name)
        out.append(head + "\n" + "\n".join(lines))
    out.append(online_summary(matter))
    return out


def online_summary(matter: Matter) -> str:
    if not matter.online_available:
        return TEXTS("not_online", matter=matter.name)
    where = "、".join(matter.platforms)
    if matter.full_online:
        text = TEXTS("full_online", matter=matter.name, where=where)
    else:
        text = TEXTS("partly_online", matter=matter.name, where=where)
    if matter.online_url:
        text += "\n" + TEXTS("online_entry", url=matter.online_url)
    return text


def online(matter: Matter, district: Optional[str] = None) -> Messages:
    return [online_summary(matter)]


def eligibility(matter: Matter, district: Optional[str] = None) -> Messages:
    lines = [f"{i}. {c}" for i, c in enumerate(matter.conditions, 1)]
    who = TEXTS("who_personal" if matter.service_object == "personal" else "who_enterprise")
    return [TEXTS("eligibility", matter=matter.name, who=who) + "\n" + "\n".join(lines)]


def procedure(matter: Matter, district: Optional[str] = None) -> Messages:
    steps = [f"{i}. {s}" for i, s in enumerate(matter.procedure, 1)]
    return [TEXTS("procedure", matter=matter.name) + "\n" + "\n".join(steps)
            + "\n" + TEXTS("department", department=matter.department)]


ANSWERERS: Dict[str, Callable[[Matter, Optional[str]], Messages]] = {
    "materials": materials,
    "processing_time": processing_time,
    "fee": fee,
    "where_to_apply": where_to_apply,
    "online": online,
    "eligibility": eligibility,
    "procedure": procedure,
}


def answer(
    matter: Matter, topic: str, district: Optional[str] = None, scenario: Optional[str] = None
) -> Messages:
    """The answer on `topic` (a value of TOPIC_BY_INTENT) about `matter`; `scenario` (a
    scenario name of the matter) changes the materials, which is all a scenario changes
    in the catalog format."""
    if topic == "materials":
        return materials(matter, district, scenario)
    return ANSWERERS[topic](matter, district)


def online_short(matter: Matter) -> str:
    if not matter.online_available:
        return TEXTS("short_not_online")
    where = "、".join(matter.platforms[:2])
    if matter.full_online:
        return TEXTS("short_full_online", where=where) if where else TEXTS("short_full_online_bare")
    if where:
        return TEXTS("short_partly_online", where=where)
    return TEXTS("short_partly_online_bare")


def overview(matter: Matter, scenario: Optional[str] = None, note: str = "") -> Messages:
    """Two lines for a message that only names a matter ("护照", "社保卡丢了"): what it is,
    who decides, whether it can be done online, and the citizen's scenario when one was
    told, so the citizen sees at once that the bot found the right thing and can pick
    what to ask next (the caller adds the question types as buttons)."""
    text = TEXTS("overview", matter=matter.name, department=matter.department,
                 online=online_short(matter))
    chosen = scenario_named(matter, scenario)
    if chosen is not None:
        names = "、".join(m.name for m in chosen.materials[:4])
        text += "\n" + TEXTS("overview_scenario", scenario=chosen.name, materials=names)
    if note:
        text += f"\n{note}"
    return [text + "\n" + TEXTS("overview_ask")]


#: The question types as the buttons say them, in the buttons' order (answers.yml).
TOPIC_LABELS = TEXTS.table("topic_labels")
