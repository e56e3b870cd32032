"""The intake documents as a chat summary, a printable HTML page and a text file.

All three are plain functions of IntakeDocuments; the HTML page is a Jinja2 template
(templates/documents.html), self-contained (inline CSS, no scripts, no external fonts or
images) so it can be served from a link, printed, or saved as it is. The summary's and the
text file's words are in data/texts/documents.yml; the page's own are in its template.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.dialogue import texts
from bot.intake.documents import (
    DEFERRED, HELD, STATUSES, TO_SUBMIT, ChecklistItem, IntakeDocuments, days_label,
)

TEXTS = texts.load("documents", {
    "status_hints": texts.Table(("to_submit", "held", "deferred")),
    **{key: () for key in (
        "no_approvals", "summary_may_change", "summary_form", "summary_no_link", "optional",
        "notice_heading", "notice_columns", "commitments_heading", "applicant_signature",
        "form_columns", "prefilled", "no_matters", "answers_columns", "representative_signature",
        "checklist_heading", "checklist_columns",
    )},
    "summary_head": ("industry",), "summary_details": ("link",), "summary_approvals": ("count",),
    "names_and_more": ("names", "count"), "summary_days": ("days",),
    "summary_days_separately": ("days", "separate_days"),
    "summary_materials": ("total", "to_submit", "held", "deferred"),
    "summary_materials_saved": ("total", "to_submit", "held", "deferred", "saved"),
    "summary_form_prefilled": ("count",), "summary_link": ("link",),
    "title": ("industry",), "reference": ("reference",), "generated_at": ("time",),
    "scenarios": ("scenarios",),
    "notice_summary": ("permit", "department", "count", "days", "separate_days"),
    "commitment_conditions": ("approval",), "form_heading": ("title",), "field_note": ("note",),
    "form_matters": ("matters",),
    "checklist_summary": ("total", "to_submit", "held", "deferred", "separate", "saved"),
})
_HINTS = TEXTS.table("status_hints")
STATUS_HINT = {TO_SUBMIT: _HINTS["to_submit"], HELD: _HINTS["held"], DEFERRED: _HINTS["deferred"]}
_days = days_label


def _ordered_items(docs: IntakeDocuments) -> List[ChecklistItem]:
    return [i for s in (TO_SUBMIT, DEFERRED, HELD) for i in docs.checklist.by_status(s)]


def _shorten(names: List[str], limit: int = 6) -> str:
    shown = "、".join(names[:limit])
    return TEXTS("names_and_more", names=shown, count=len(names)) if len(names) > limit else shown


def render_summary(docs: IntakeDocuments, link: Optional[str] = None) -> str:
    """A few lines for the chat (at most 8)."""
    notice, checklist = docs.notice, docs.checklist
    head = TEXTS("summary_head", industry=docs.industry_name)
    if not notice.items:
        lines = [head + TEXTS("no_approvals"), TEXTS("summary_may_change")]
        return "\n".join(lines + ([TEXTS("summary_details", link=link)] if link else []))
    names = [i.name for i in notice.items]
    totals = checklist.totals
    lines = [
        head + TEXTS("summary_approvals", count=len(names)),
        _shorten(names) + "。",
    ]
    if notice.separate_days > notice.permit_days:
        lines.append(TEXTS("summary_days_separately", days=_days(notice.permit_days),
                           separate_days=notice.separate_days))
    else:
        lines.append(TEXTS("summary_days", days=_days(notice.permit_days)))
    materials = {"total": checklist.merged_total, "to_submit": totals[TO_SUBMIT],
                 "held": totals[HELD], "deferred": totals[DEFERRED]}
    if checklist.saved > 0:
        lines.append(TEXTS("summary_materials_saved", **materials, saved=checklist.saved))
    else:
        lines.append(TEXTS("summary_materials", **materials))
    prefilled = docs.form.prefilled_count
    lines.append(TEXTS("summary_form_prefilled", count=prefilled) if prefilled
                 else TEXTS("summary_form"))
    lines.append(TEXTS("summary_link", link=link) if link else TEXTS("summary_no_link"))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# HTML (bot/intake/templates/documents.html)

_STATUS_CLASS = {TO_SUBMIT: "s-submit", HELD: "s-held", DEFERRED: "s-deferred"}


def _item_notes(item: ChecklistItem) -> List[str]:
    """What the checklist's 说明 column says about a material: optional, which scenarios
    brought it in, and its own notes."""
    extra = [] if item.required else [TEXTS("optional")]
    if item.scenarios:
        extra.append(TEXTS("scenarios", scenarios="、".join(item.scenarios)))
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
    meta = [m for m in (TEXTS("reference", reference=reference) if reference else "",
                        TEXTS("generated_at", time=generated_at) if generated_at else "") if m]
    return _TEMPLATES.get_template("documents.html").render(
        docs=docs,
        title=TEXTS("title", industry=docs.industry_name),
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
    out: List[str] = ["# " + TEXTS("title", industry=docs.industry_name), ""]
    if reference:
        out.append(TEXTS("reference", reference=reference) + "  ")
    if generated_at:
        out.append(TEXTS("generated_at", time=generated_at) + "  ")
    out += ["", "## " + TEXTS("notice_heading"), ""]
    if not notice.items:
        out.append(TEXTS("no_approvals"))
    else:
        out += [
            TEXTS("notice_summary", permit=notice.permit_name, department=notice.permit_department,
                  count=len(notice.items), days=_days(notice.permit_days),
                  separate_days=notice.separate_days),
            "",
            TEXTS("notice_columns"),
            "|---|---|---|---|---|",
        ]
        for n, item in enumerate(notice.items, 1):
            out.append(f"| {n} | {_cell(item.name)} | {_cell(item.department)} | "
                       f"{item.promised_label} | {_cell('、'.join(item.scenarios)) or '—'} |")
    out += ["", "### " + TEXTS("commitments_heading"), ""]
    out += [f"{n}. {t}" for n, t in enumerate(notice.commitments, 1)]
    for group in notice.commitment_groups:
        out += ["", TEXTS("commitment_conditions", approval=group.name), ""]
        out += [f"- {c}" for c in group.conditions]
    out += ["", TEXTS("applicant_signature"), ""]
    out += ["## " + TEXTS("form_heading", title=form.title), ""]
    out += [TEXTS("form_columns"), "|---|---|"]
    for f in form.fields:
        value = (f.value + TEXTS("prefilled") if f.prefilled
                 else (TEXTS("field_note", note=f.note) if f.note else ""))
        out.append(f"| {_cell(f.label)} | {_cell(value)} |")
    matters = "、".join(name for _, name in form.matters) or TEXTS("no_matters")
    out += ["", TEXTS("form_matters", matters=matters), ""]
    out += [TEXTS("answers_columns"), "|---|---|---|"]
    out += [f"| {n} | {_cell(a.question)} | {a.answer} |" for n, a in enumerate(form.answers, 1)]
    out += ["", TEXTS("representative_signature"), "", "## " + TEXTS("checklist_heading"), ""]
    out.append(TEXTS(
        "checklist_summary", total=checklist.merged_total, to_submit=totals[TO_SUBMIT],
        held=totals[HELD], deferred=totals[DEFERRED], separate=checklist.separate_total,
        saved=checklist.saved,
    ))
    if checklist.items:
        out += ["", TEXTS("checklist_columns"), "|---|---|---|---|---|---|---|"]
        for n, item in enumerate(_ordered_items(docs), 1):
            out.append(
                f"| {n} | {_cell(item.name)} | {item.form} | {item.count} | {item.status} | "
                f"{_cell('、'.join(item.needed_by_names))} | {_cell('；'.join(_item_notes(item)))} |"
            )
        out += [""] + [f"- {s}：{STATUS_HINT[s]}" for s in STATUSES]
    return "\n".join(out) + "\n"
