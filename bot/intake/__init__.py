"""Permit intake (一业一证): industry files, the interview engine and the documents.

Industries are data (data/industries/*.yml, format in docs/industry-format.md). The
engine is pure functions over (industry, answers dict); the documents are built from
the answers and the matter catalog and rendered for the chat, a printable page and a
downloadable file. Nothing here knows about Rasa.
"""
from bot.intake.documents import (
    DEFERRED,
    HELD,
    TO_SUBMIT,
    ApplicationForm,
    Checklist,
    ChecklistItem,
    IntakeDocuments,
    Notice,
    build_documents,
)
from bot.intake.engine import (
    InvalidAnswer,
    answer_label,
    answered,
    applies,
    apply_answer,
    approvals,
    change_answer,
    choices,
    forget_answer,
    is_complete,
    next_question,
    parse_answer,
    prune,
    remaining_questions,
    scenarios,
)
from bot.intake.render import render_html, render_markdown, render_summary
from bot.intake.schema import (
    Industry,
    IndustryError,
    Question,
    find_industry,
    load_catalog_matters,
    load_industries,
    load_industry,
    parse_industry,
)
from bot.intake.yesno import parse_yes_no

__all__ = [
    "DEFERRED", "HELD", "TO_SUBMIT", "ApplicationForm", "Checklist", "ChecklistItem",
    "IntakeDocuments", "Notice", "build_documents", "InvalidAnswer", "answer_label",
    "answered", "applies", "apply_answer", "approvals", "change_answer", "choices",
    "forget_answer", "is_complete", "next_question", "parse_answer", "prune",
    "remaining_questions", "scenarios", "render_html", "render_markdown", "render_summary",
    "Industry", "IndustryError", "Question", "find_industry", "load_catalog_matters",
    "load_industries", "load_industry", "parse_industry", "parse_yes_no",
]
