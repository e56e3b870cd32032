"""Chat-sized answers about one matter, one function per question type.

Pure functions from a Matter to a list of short messages, so the same answers serve
every channel (WeChat shows plain text; the widget shows buttons) and are tested
without Rasa. Every fact comes from the catalog entry; nothing is made up.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

from bot.catalog.schema import Material, Matter, Scenario

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

MAX_LIST = 8  # a phone screen; longer lists point to the full guide


def _material_line(n: int, m: Material) -> str:
    parts = [f"{m.form_label}{m.count}份"]
    if m.held_by_government:
        parts.append("免提交：政府已有，核验身份后自动调取")
    if not m.required:
        parts.append("视情提交")
    line = f"{n}. {m.name}（{'，'.join(parts)}）"
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
    head = f"办理「{matter.name}」需要准备{len(matter.materials)}项材料"
    if exempt:
        head += f"，其中{exempt}项政府已有、可免提交"
    out = [head + "：\n" + "\n".join(lines)]
    if len(matter.materials) > MAX_LIST:
        out[0] += f"\n……另有{len(matter.materials) - MAX_LIST}项，详见办事指南。"
    if matter.scenarios:
        extra = []
        for s in matter.scenarios[:4]:
            names = "、".join(m.name for m in s.materials)
            extra.append(f"· {s.name}：另需{names}")
        out.append("以下情形还需补充材料：\n" + "\n".join(extra))
    return out


def _scenario_materials(matter: Matter, scenario: Scenario) -> Messages:
    every = list(matter.materials) + list(scenario.materials)
    exempt = sum(1 for m in every if m.held_by_government)
    head = f"办理「{matter.name}」（{scenario.name}）需要准备{len(every)}项材料"
    if exempt:
        head += f"，其中{exempt}项政府已有、可免提交"
    base = [_material_line(i, m) for i, m in enumerate(matter.materials[:MAX_LIST], 1)]
    text = head + "：\n" + "\n".join(base)
    if len(matter.materials) > MAX_LIST:
        text += f"\n……另有{len(matter.materials) - MAX_LIST}项，详见办事指南。"
    start = len(matter.materials) + 1
    own = [_material_line(i, m) for i, m in enumerate(scenario.materials[:MAX_LIST], start)]
    out = [text, f"「{scenario.name}」另需：\n" + "\n".join(own)]
    if scenario.description:
        out[1] += f"\n说明：{scenario.description}"
    return out


def _days(days: int) -> str:
    return "即办（当场办结）" if days == 0 else f"{days}个工作日"


def processing_time(matter: Matter, district: Optional[str] = None) -> Messages:
    text = (
        f"「{matter.name}」法定办结时限{_days(matter.statutory_days)}，"
        f"承诺办结时限{_days(matter.promised_days)}"
    )
    if matter.promised_days < matter.statutory_days:
        text += f"（比法定时限快{matter.statutory_days - matter.promised_days}个工作日）"
    text += "。"
    if matter.time_note:
        text += f"\n说明：{matter.time_note}"
    return [text]


def fee(matter: Matter, district: Optional[str] = None) -> Messages:
    if matter.fee_free:
        text = f"「{matter.name}」不收费。"
    else:
        text = f"「{matter.name}」收费：{matter.fee_amount}。"
    if matter.fee_basis:
        text += f"\n收费依据：{matter.fee_basis}"
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
            line = f"· {w.name}\n  地址：{w.address}\n  时间：{w.hours}"
            if w.phone:
                line += f"\n  电话：{w.phone}"
            lines.append(line)
        head = f"「{matter.name}」可到以下地点办理"
        if district and not local:
            head += f"（{district}没有单独列出的窗口，以下为全市通用）"
        out.append(head + "：\n" + "\n".join(lines))
    out.append(online_summary(matter))
    return out


def online_summary(matter: Matter) -> str:
    if not matter.online_available:
        return f"「{matter.name}」暂不支持网上申请，需要到窗口办理。"
    where = "、".join(matter.platforms)
    if matter.full_online:
        text = f"「{matter.name}」可以全程网办，不用跑窗口：{where}。"
    else:
        text = f"「{matter.name}」可以在{where}网上申请或预约，之后还需到窗口办理。"
    if matter.online_url:
        text += f"\n入口：{matter.online_url}"
    return text


def online(matter: Matter, district: Optional[str] = None) -> Messages:
    return [online_summary(matter)]


def eligibility(matter: Matter, district: Optional[str] = None) -> Messages:
    lines = [f"{i}. {c}" for i, c in enumerate(matter.conditions, 1)]
    who = "个人" if matter.service_object == "personal" else "企业和其他市场主体"
    return [f"「{matter.name}」面向{who}，申请条件：\n" + "\n".join(lines)]


def procedure(matter: Matter, district: Optional[str] = None) -> Messages:
    steps = [f"{i}. {s}" for i, s in enumerate(matter.procedure, 1)]
    return [f"「{matter.name}」办理流程：\n" + "\n".join(steps) + f"\n承办部门：{matter.department}"]


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


def _online_short(matter: Matter) -> str:
    if not matter.online_available:
        return "需要到窗口办理，暂不支持网上申请"
    where = "、".join(matter.platforms[:2])
    if matter.full_online:
        return f"可以全程网办（{where}）" if where else "可以全程网办"
    return f"可以网上申请或预约（{where}），之后到窗口办理" if where else "可以网上预约，之后到窗口办理"


def overview(matter: Matter, scenario: Optional[str] = None, note: str = "") -> Messages:
    """Two lines for a message that only names a matter ("护照", "社保卡丢了"): what it is,
    who decides, whether it can be done online, and the citizen's scenario when one was
    told, so the citizen sees at once that the bot found the right thing and can pick
    what to ask next (the caller adds the question types as buttons)."""
    text = f"「{matter.name}」由{matter.department}办理，{_online_short(matter)}。"
    chosen = scenario_named(matter, scenario)
    if chosen is not None:
        names = "、".join(m.name for m in chosen.materials[:4])
        text += f"\n您的情况属于「{chosen.name}」，除基本材料外另需：{names}。"
    if note:
        text += f"\n{note}"
    return [text + "\n您想了解哪方面？"]


TOPIC_LABELS = {
    "materials": "要带什么材料",
    "processing_time": "要多久",
    "fee": "收不收费",
    "where_to_apply": "去哪里办",
    "online": "能否网上办",
    "eligibility": "申请条件",
    "procedure": "办理流程",
}
