"""The intake documents as a chat summary, a printable HTML page and a text file.

All three are plain functions of IntakeDocuments; the HTML page is a Jinja2 template
(templates/documents.html), self-contained (inline CSS, no scripts, no external fonts or
images) so it can be served from a link, printed, or saved as it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.intake.documents import DEFERRED, HELD, STATUSES, TO_SUBMIT, ChecklistItem, IntakeDocuments

STATUS_HINT = {
    TO_SUBMIT: "申请时提交",
    HELD: "政府已有（电子证照库或共享数据），实名认证后免提交",
    DEFERRED: "可先受理，领证后按承诺期限补交",
}


def _days(days: int) -> str:
    return "即办" if days == 0 else f"{days}个工作日"


def _ordered_items(docs: IntakeDocuments) -> List[ChecklistItem]:
    return [i for s in (TO_SUBMIT, DEFERRED, HELD) for i in docs.checklist.by_status(s)]


def _shorten(names: List[str], limit: int = 6) -> str:
    shown = "、".join(names[:limit])
    return shown + (f"等{len(names)}项" if len(names) > limit else "")


def render_summary(docs: IntakeDocuments, link: Optional[str] = None) -> str:
    """A few lines for the chat (at most 8)."""
    notice, checklist = docs.notice, docs.checklist
    head = f"【{docs.industry_name} · 一业一证】"
    if not notice.items:
        lines = [head + "根据您的回答，暂不需要办理审批或备案事项。",
                 "如经营项目有变化，可以随时重新回答。"]
        return "\n".join(lines + ([f"详情：{link}"] if link else []))
    names = [i.name for i in notice.items]
    totals = checklist.totals
    lines = [
        head + f"根据您的回答，一张行业综合许可证涵盖{len(names)}项审批：",
        _shorten(names) + "。",
    ]
    if notice.separate_days > notice.permit_days:
        lines.append(f"承诺{_days(notice.permit_days)}办结（分别办理合计{notice.separate_days}个工作日）。")
    else:
        lines.append(f"承诺{_days(notice.permit_days)}办结。")
    material_line = (
        f"材料合并后共{checklist.merged_total}份：需提交{totals[TO_SUBMIT]}份、"
        f"免提交{totals[HELD]}份、容缺{totals[DEFERRED]}份"
    )
    if checklist.saved > 0:
        material_line += f"，比分别办理少交{checklist.saved}份"
    lines.append(material_line + "。")
    prefilled = docs.form.prefilled_count
    form_line = "申请表一表填报" + (f"，已为您预填{prefilled}项信息" if prefilled else "")
    lines.append(form_line + "；签署告知承诺书，承诺符合各项审批条件。")
    if link:
        lines.append(f"完整的告知单、申请表和材料清单（可打印、下载）：{link}")
    else:
        lines.append("完整的告知单、申请表和材料清单可打印或下载。")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# HTML (bot/intake/templates/documents.html)

_STATUS_CLASS = {TO_SUBMIT: "s-submit", HELD: "s-held", DEFERRED: "s-deferred"}


def _item_notes(item: ChecklistItem) -> List[str]:
    """What the checklist's 说明 column says about a material: optional, which scenarios
    brought it in, and its own notes."""
    extra = [] if item.required else ["视情提交"]
    if item.scenarios:
        extra.append("适用情形：" + "、".join(item.scenarios))
    return [*extra, *item.notes]


def _templates() -> Environment:
    """The page's template environment: autoescape on, so whatever a citizen typed (an
    answer, an enterprise name) is shown as text, never as markup; an unknown name in the
    template is an error, not an empty string."""
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(days=_days, notes=_item_notes)
    environment.globals.update(
        TO_SUBMIT=TO_SUBMIT, HELD=HELD, DEFERRED=DEFERRED, STATUSES=STATUSES,
        STATUS_HINT=STATUS_HINT, STATUS_CLASS=_STATUS_CLASS,
    )
    return environment


_TEMPLATES = _templates()


def render_html(
    docs: IntakeDocuments, generated_at: Optional[str] = None, reference: Optional[str] = None,
    download_href: Optional[str] = None,
) -> str:
    """A self-contained printable page (A4) with the three documents; download_href adds a
    link to the text file (hidden when printed)."""
    meta = [m for m in (f"编号：{reference}" if reference else "",
                        f"生成时间：{generated_at}" if generated_at else "") if m]
    return _TEMPLATES.get_template("documents.html").render(
        docs=docs,
        title=f"{docs.industry_name}“一业一证”告知单、申请表和材料清单",
        meta="　".join(meta),
        download_href=download_href,
        items=_ordered_items(docs),
    )


# ---------------------------------------------------------------------------
# Markdown / plain text


def _cell(text: str) -> str:
    return (text or "").replace("|", "｜").replace("\n", " ")


def render_markdown(
    docs: IntakeDocuments, generated_at: Optional[str] = None, reference: Optional[str] = None
) -> str:
    """The three documents as a Markdown file (readable as plain text)."""
    notice, form, checklist = docs.notice, docs.form, docs.checklist
    totals = checklist.totals
    out: List[str] = [f"# {docs.industry_name}“一业一证”告知单、申请表和材料清单", ""]
    if reference:
        out.append(f"编号：{reference}  ")
    if generated_at:
        out.append(f"生成时间：{generated_at}  ")
    out += ["", "## 一、告知单", ""]
    if not notice.items:
        out.append("根据您的回答，暂不需要办理审批或备案事项。")
    else:
        out += [
            f"{notice.permit_name}由{notice.permit_department}一窗受理，涵盖以下"
            f"{len(notice.items)}项审批，承诺办结时限：{_days(notice.permit_days)}"
            f"（分别办理合计{notice.separate_days}个工作日）。",
            "",
            "| 序号 | 审批事项 | 实施部门 | 承诺时限 | 适用情形 |",
            "|---|---|---|---|---|",
        ]
        for n, item in enumerate(notice.items, 1):
            out.append(f"| {n} | {_cell(item.name)} | {_cell(item.department)} | "
                       f"{item.promised_label} | {_cell('、'.join(item.scenarios)) or '—'} |")
    out += ["", "### 告知承诺", ""]
    out += [f"{n}. {t}" for n, t in enumerate(notice.commitments, 1)]
    for group in notice.commitment_groups:
        out += ["", f"承诺符合{group.name}的条件：", ""]
        out += [f"- {c}" for c in group.conditions]
    out += ["", "申请人（签字、盖章）：__________　日期：__________", "", f"## 二、{form.title}", ""]
    out += ["| 项目 | 内容 |", "|---|---|"]
    for f in form.fields:
        value = f.value + "（已预填）" if f.prefilled else (f"（{f.note}）" if f.note else "")
        out.append(f"| {_cell(f.label)} | {_cell(value)} |")
    out += ["", "申请事项：" + ("、".join(name for _, name in form.matters) or "无"), ""]
    out += ["| 序号 | 问题 | 回答 |", "|---|---|---|"]
    out += [f"| {n} | {_cell(a.question)} | {a.answer} |" for n, a in enumerate(form.answers, 1)]
    out += ["", "法定代表人（负责人）签字：__________　日期：__________", "", "## 三、材料清单", ""]
    out.append(
        f"合并去重后共{checklist.merged_total}份：需提交{totals[TO_SUBMIT]}份，"
        f"免提交{totals[HELD]}份，容缺{totals[DEFERRED]}份；分别办理共需{checklist.separate_total}份，"
        f"少交{checklist.saved}份。"
    )
    if checklist.items:
        out += ["", "| 序号 | 材料名称 | 形式 | 份数 | 状态 | 涉及事项 | 说明 |",
                "|---|---|---|---|---|---|---|"]
        for n, item in enumerate(_ordered_items(docs), 1):
            out.append(
                f"| {n} | {_cell(item.name)} | {item.form} | {item.count} | {item.status} | "
                f"{_cell('、'.join(item.needed_by_names))} | {_cell('；'.join(_item_notes(item)))} |"
            )
        out += [""] + [f"- {s}：{STATUS_HINT[s]}" for s in STATUSES]
    return "\n".join(out) + "\n"
