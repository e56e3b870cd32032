"""Texts and buttons of the status conversation (no decisions here, only wording).

The words are data: data/texts/status.yml. The answer for one application says the
current step, who handles it, when it is due, what the citizen must still do (missing
materials, each with a button that asks the bot about its matter and the matter's online
link) and the result.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from bot.dialogue import texts
from bot.dialogue.turn import Button, button

#: Every text of the conversation, with the fields the code fills in.
TEXTS = texts.load("status", {
    **{key: () for key in (
        "ask_number", "bad_number", "ask_last6", "reask_last6", "mismatch", "locked",
        "code_sent_quiet", "code_resent_quiet", "send_wait", "send_limit", "reask_code",
        "code_spent", "code_expired", "no_pending", "stopped", "backend_down", "ask_consent",
        "not_bound", "unbound", "nothing_to_unbind", "no_applications", "verified_other",
        "whose_bound", "whose_registered", "resend_button", "consent_yes", "consent_no",
        "supplement", "pickup_default", "wait_review",
    )},
    "no_such_number": ("number",),
    "follow_time_due": ("date", "days"), "follow_time_today": ("date",),
    "follow_time_overdue": ("date", "department"), "follow_time_supplement": ("department", "date"),
    "follow_time_pickup": (), "follow_time_completed": ("date",), "follow_todo_completed": (),
    "code_sent": ("whose", "phone"), "code_resent": ("phone",), "wrong_code": ("left",),
    "bound": ("phone",),
    "head": ("number", "matter"), "head_enterprise": ("number", "matter", "enterprise"),
    "step": ("label",), "department": ("department",), "completed_at": ("date",),
    "due": ("date",), "rejected": ("result", "reason"), "result": ("result",),
    "supplement_noted": ("note",), "missing_note": ("note",), "missing_matter": ("matter",),
    "missing_matter_guide": ("matter", "url"), "pickup": ("note",),
    "matter_button": ("matter",), "list_head": ("count",),
    "list_line": ("n", "number", "matter", "label"),
})

RESEND_BUTTON = button(TEXTS["resend_button"], "/resend_code")
CONSENT_BUTTONS = [button(TEXTS["consent_yes"], "/affirm"), button(TEXTS["consent_no"], "/deny")]
MAX_LIST_BUTTONS = 10


def text(key: str, **fields: Any) -> str:
    return TEXTS(key, **fields)


def status_button(number: str, label: str) -> Button:
    payload = "/check_application_status" + json.dumps(
        {"application_number": number}, ensure_ascii=False
    )
    return button(label, payload)


def matter_button(matter_name: str) -> Button:
    payload = "/ask_materials" + json.dumps({"matter": matter_name}, ensure_ascii=False)
    return button(TEXTS("matter_button", matter=matter_name), payload)


MatterInfo = Callable[[str], Optional[Tuple[str, str]]]
"""matter code → (name, online url or '') from the catalog, or None when unknown."""


def _todo(app: Mapping[str, Any], matter_info: MatterInfo) -> Tuple[List[str], List[Button]]:
    """Lines saying what the citizen must still do, and buttons for the matters involved."""
    status = app.get("status")
    history = app.get("history") or []
    last_note = (history[-1].get("note") if history else None) or ""
    buttons: List[Button] = []
    if status == "needs_supplement":
        lines = [TEXTS("supplement_noted", note=last_note) if last_note else TEXTS("supplement")]
        seen = set()
        for i, item in enumerate(app.get("missing_materials") or [], 1):
            info = matter_info(item.get("matter_code") or "")
            line = f"  {i}. {item['name']}"
            if item.get("note"):
                line += TEXTS("missing_note", note=item["note"])
            if info:
                name, url = info
                line += (TEXTS("missing_matter_guide", matter=name, url=url) if url
                         else TEXTS("missing_matter", matter=name))
                if name not in seen:
                    seen.add(name)
                    buttons.append(matter_button(name))
            lines.append(line)
        return lines, buttons
    if status == "awaiting_pickup":
        return [TEXTS("pickup", note=last_note or TEXTS["pickup_default"])], buttons
    if status in ("accepted", "under_review"):
        return [TEXTS("wait_review")], buttons
    return [], buttons


def application(app: Mapping[str, Any], matter_info: MatterInfo) -> Tuple[str, List[Button]]:
    """The answer for one application: (text, buttons)."""
    who = (app.get("enterprise") or {}).get("name")
    head = (TEXTS("head_enterprise", number=app["number"], matter=app["matter_name"],
                  enterprise=who) if who
            else TEXTS("head", number=app["number"], matter=app["matter_name"]))
    lines = [head, TEXTS("step", label=app["status_label"]),
             TEXTS("department", department=app["department"])]
    if app.get("status") == "completed":
        done = (app.get("completed_at") or "")[:10]
        lines.append(TEXTS("completed_at", date=done) if done
                     else TEXTS("due", date=app["due_date"]))
        result = app.get("result_label") or ""
        if app.get("result") == "rejected" and app.get("result_reason"):
            lines.append(TEXTS("rejected", result=result, reason=app["result_reason"]))
        elif result:
            lines.append(TEXTS("result", result=result))
    else:
        lines.append(TEXTS("due", date=app["due_date"]))
    todo, buttons = _todo(app, matter_info)
    return "\n".join(lines + todo), buttons


def application_list(apps: Sequence[Mapping[str, Any]]) -> Tuple[str, List[Button]]:
    """Several applications, newest first, each with a button that shows it."""
    if not apps:
        return text("no_applications"), []
    lines = [TEXTS("list_head", count=len(apps))]
    for i, app in enumerate(apps, 1):
        lines.append(TEXTS("list_line", n=i, number=app["number"], matter=app["matter_name"],
                           label=app["status_label"]))
    buttons = [
        status_button(a["number"], f"{a['number']} {a['matter_name']}")
        for a in apps[:MAX_LIST_BUTTONS]
    ]
    return "\n".join(lines), buttons


def todo_answer(app: Mapping[str, Any], matter_info: MatterInfo) -> Tuple[str, List[Button]]:
    """'那现在要我做什么' right after a status answer: only what the citizen must still do
    for this application (the missing materials with their buttons, the pickup, or that
    nothing is needed)."""
    todo, buttons = _todo(app, matter_info)
    if not todo:
        lines = [TEXTS["follow_todo_completed"]]
        result = app.get("result_label") or ""
        if app.get("result") == "rejected" and app.get("result_reason"):
            lines.append(TEXTS("rejected", result=result, reason=app["result_reason"]))
        elif result:
            lines.append(TEXTS("result", result=result))
        return "\n".join(lines), buttons
    return "\n".join(todo), buttons


def time_answer(app: Mapping[str, Any], today: date) -> Tuple[str, bool]:
    """'那大概还要多久' right after a status answer: the due date and the days left, from
    the application itself (never a guess). The flag says an offer of a person fits (the
    application is overdue)."""
    status, due_text = app.get("status"), str(app.get("due_date") or "")[:10]
    department = app.get("department") or ""
    if status == "completed":
        done = (app.get("completed_at") or "")[:10] or due_text
        return TEXTS("follow_time_completed", date=done), False
    if status == "awaiting_pickup":
        todo, _ = _todo(app, lambda code: None)
        return "\n".join([TEXTS["follow_time_pickup"], *todo]), False
    if status == "needs_supplement":
        return TEXTS("follow_time_supplement", department=department, date=due_text), False
    try:
        due = date.fromisoformat(due_text)
    except ValueError:
        return TEXTS("due", date=due_text), False
    days = (due - today).days
    if days < 0:
        return TEXTS("follow_time_overdue", date=due_text, department=department), True
    if days == 0:
        return TEXTS("follow_time_today", date=due_text), False
    return TEXTS("follow_time_due", date=due_text, days=days), False
