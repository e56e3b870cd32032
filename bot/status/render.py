"""Texts and buttons of the status conversation (no decisions here, only wording).

The answer for one application says the current step, who handles it, when it is due,
what the citizen must still do (missing materials, each with a button that asks the bot
about its matter and the matter's online link) and the result.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

RESEND_BUTTON = {"title": "重新发送验证码", "payload": "/resend_code"}
CONSENT_BUTTONS = [
    {"title": "同意绑定", "payload": "/affirm"},
    {"title": "不用了", "payload": "/deny"},
]
MAX_LIST_BUTTONS = 10

#: Every fixed sentence of the conversation. `{…}` fields are filled by the dialogue.
TEXTS: Dict[str, str] = {
    "ask_number": "查询办件进度，请告诉我办件编号（受理回执或短信里，SH开头加14位数字，"
                  "如SH20261105000123）。",
    "bad_number": "这个编号的格式好像不对：办件编号是SH加14位数字，如SH20261105000123，"
                  "请核对后再发给我。",
    "ask_last6": "为保护您的信息，查询前需要核验身份：请输入办件申请人身份证号码的后6位"
                 "（最后一位可能是X）。",
    "reask_last6": "请输入申请人身份证号码的后6位（6个字符，最后一位可能是X）；不查了可以说“算了”。",
    "mismatch": "办件编号和身份证后6位对不上，无法查询。请核对后重新输入身份证后6位，"
                "或发给我正确的办件编号。",
    "locked": "核验失败次数过多，为保护办件信息，请15分钟后再试。着急的话可以转人工。",
    "code_sent": "身份核验通过第一步。验证码已发送到{whose}手机{phone}，5分钟内有效，"
                 "请输入6位数字验证码。",
    "code_resent": "已重新发送验证码到{phone}，5分钟内有效，请输入新的6位验证码"
                   "（之前的验证码已失效）。",
    # Under attack: the same words whether the last six matched (no phone, no verdict).
    "code_sent_quiet": "如果办件编号和身份证后6位无误，验证码已发送到办件登记的手机，"
                       "5分钟内有效，请输入6位数字验证码。",
    "code_resent_quiet": "如果信息无误，已重新发送验证码到办件登记的手机，5分钟内有效，"
                         "请输入新的6位验证码（之前的验证码已失效）。",
    "send_wait": "验证码刚刚发出，短信可能有延迟，请稍等一分钟；仍未收到再说“没收到验证码”。",
    "send_limit": "验证码发送次数太多了，请15分钟后再试，或转人工。",
    "reask_code": "请输入短信里的6位数字验证码；没收到可以说“没收到验证码”，不查了说“算了”。",
    "wrong_code": "验证码不对，还可以再试{left}次。",
    "code_spent": "验证码错误次数过多，这个验证码已失效。可以说“重新发送”获取新的验证码。",
    "code_expired": "验证码已过期（5分钟内有效）。可以说“重新发送”获取新的验证码。",
    "no_pending": "现在没有等待验证的查询。要查办件进度，请告诉我办件编号。",
    "stopped": "好的，已取消这次查询。需要时随时再问我。",
    "backend_down": "抱歉，办件系统暂时连不上，现在查不了进度，正在为您转人工客服。您也可以稍后再试。",
    "ask_consent": "要把当前账号与您的身份绑定吗？绑定后再查办件，只需短信验证码，"
                   "不用再输身份证后6位。随时可以说“解除绑定”。",
    "bound": "已绑定。以后在这里查办件，只需输入发到{phone}的短信验证码。"
             "要解除可以随时说“解除绑定”。",
    "not_bound": "好的，不绑定。本次会话内再查您的办件无需重复验证。",
    "unbound": "已解除绑定，以后查询需要重新核验身份。",
    "nothing_to_unbind": "当前账号没有绑定身份，无需解除。",
    "no_applications": "您名下暂时没有办件记录。",
    "verified_other": "您名下还有其他办件，点一下即可查看：",
}


def text(key: str, **fields: Any) -> str:
    return TEXTS[key].format(**fields)


def status_button(number: str, label: str) -> Dict[str, str]:
    payload = "/check_application_status" + json.dumps(
        {"application_number": number}, ensure_ascii=False
    )
    return {"title": label, "payload": payload}


def matter_button(matter_name: str) -> Dict[str, str]:
    payload = "/ask_materials" + json.dumps({"matter": matter_name}, ensure_ascii=False)
    return {"title": f"「{matter_name}」要什么材料", "payload": payload}


MatterInfo = Callable[[str], Optional[Tuple[str, str]]]
"""matter code → (name, online url or '') from the catalog, or None when unknown."""


def _todo(app: Mapping[str, Any], matter_info: MatterInfo) -> Tuple[List[str], List[Dict]]:
    """Lines saying what the citizen must still do, and buttons for the matters involved."""
    status = app.get("status")
    history = app.get("history") or []
    last_note = (history[-1].get("note") if history else None) or ""
    buttons: List[Dict[str, str]] = []
    if status == "needs_supplement":
        lines = ["您需要补正以下材料" + (f"（{last_note}）" if last_note else "") + "："]
        seen = set()
        for i, item in enumerate(app.get("missing_materials") or [], 1):
            info = matter_info(item.get("matter_code") or "")
            line = f"  {i}. {item['name']}"
            if item.get("note"):
                line += f"（{item['note']}）"
            if info:
                name, url = info
                line += f" —— 属于「{name}」" + (f"，办事指南：{url}" if url else "")
                if name not in seen:
                    seen.add(name)
                    buttons.append(matter_button(name))
            lines.append(line)
        return lines, buttons
    if status == "awaiting_pickup":
        return [f"您需要：{last_note or '携带居民身份证到办理部门领取'}"], buttons
    if status in ("accepted", "under_review"):
        return ["您需要：目前无需操作，等待部门审查即可。"], buttons
    return [], buttons


def application(app: Mapping[str, Any], matter_info: MatterInfo) -> Tuple[str, List[Dict]]:
    """The answer for one application: (text, buttons)."""
    who = (app.get("enterprise") or {}).get("name")
    head = f"办件 {app['number']}「{app['matter_name']}」" + (f"（{who}）" if who else "")
    lines = [head, f"当前环节：{app['status_label']}", f"办理部门：{app['department']}"]
    if app.get("status") == "completed":
        done = (app.get("completed_at") or "")[:10]
        lines.append(f"办结时间：{done}" if done else f"办结时限：{app['due_date']}")
        result = app.get("result_label") or ""
        if app.get("result") == "rejected" and app.get("result_reason"):
            lines.append(f"办理结果：{result}。原因：{app['result_reason']}")
        elif result:
            lines.append(f"办理结果：{result}")
    else:
        lines.append(f"办结时限：{app['due_date']}")
    todo, buttons = _todo(app, matter_info)
    return "\n".join(lines + todo), buttons


def application_list(apps: Sequence[Mapping[str, Any]]) -> Tuple[str, List[Dict]]:
    """Several applications, newest first, each with a button that shows it."""
    if not apps:
        return text("no_applications"), []
    lines = [f"您名下共有{len(apps)}件办件（最新的在前），点一下查看详情："]
    for i, app in enumerate(apps, 1):
        lines.append(f"{i}. {app['number']} {app['matter_name']} —— {app['status_label']}")
    buttons = [
        status_button(a["number"], f"{a['number']} {a['matter_name']}")
        for a in apps[:MAX_LIST_BUTTONS]
    ]
    return "\n".join(lines), buttons
