"""The three documents of a single industry permit, built from an interview's answers.

- Notice (告知单): the approvals the permit covers for this business, their departments
  and promised time limits, the permit's own time limit against the sum of applying
  for each approval separately, and the commitments (告知承诺) the applicant signs.
- ApplicationForm (申请表): one combined form; what the government already holds about
  a verified enterprise is pre-filled and marked so.
- Checklist (材料清单): the union of the covered approvals' materials (their applicable
  scenarios and the industry's extra materials included), de-duplicated by name, each
  marked 需提交 / 免提交 / 容缺, with totals and the submissions saved.

Everything here is a pure function of (industry, answers, catalog, enterprise). The words
the documents hold (statuses, the form's labels and notes) are in data/texts/documents.yml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.catalog.schema import MATERIAL_FORMS, Material, Matter
from bot.dialogue import texts
from bot.dialogue.cues import EXEMPTION_MARKERS, REGISTRATION_MARKERS, holds
from bot.intake import engine
from bot.intake.schema import CatalogLike, Industry, matters_by_code

_FIELD_KEYS = ("enterprise_name", "credit_code", "legal_representative", "address", "business_area")
TEXTS = texts.load("documents", {
    "statuses": texts.Table(("to_submit", "held", "deferred")),
    "form_fields": texts.Table(_FIELD_KEYS),
    "immediately": (), "working_days": ("days",), "form_title": ("industry",),
    "prefilled_note": (), "credit_code_note": (), "enterprise_name_note": (),
})

#: A material's status, shown as it is.
_STATUS = TEXTS.table("statuses")
TO_SUBMIT = _STATUS["to_submit"]
HELD = _STATUS["held"]
DEFERRED = _STATUS["deferred"]
STATUSES = (TO_SUBMIT, HELD, DEFERRED)


def days_label(days: int) -> str:
    """A promised time limit: 即办, or so many working days."""
    return TEXTS("immediately") if days == 0 else TEXTS("working_days", days=days)


# ---------------------------------------------------------------------------
# Notice


@dataclass(frozen=True)
class NoticeItem:
    code: str
    name: str
    department: str
    promised_days: int
    statutory_days: int
    time_note: str
    scenarios: Tuple[str, ...] = ()

    @property
    def promised_label(self) -> str:
        return days_label(self.promised_days)


@dataclass(frozen=True)
class CommitmentGroup:
    """The conditions of one approval the applicant commits to meeting."""

    code: str
    name: str
    conditions: Tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    industry: str
    permit_code: str
    permit_name: str
    permit_department: str
    items: Tuple[NoticeItem, ...]
    permit_days: int  # the single permit's promised time limit
    separate_days: int  # sum of the covered approvals' promised time limits
    commitments: Tuple[str, ...]  # general commitments of the industry
    commitment_groups: Tuple[CommitmentGroup, ...]  # per approval: its conditions

    @property
    def days_saved(self) -> int:
        return max(0, self.separate_days - self.permit_days)

    @property
    def commitment_count(self) -> int:
        return len(self.commitments) + sum(len(g.conditions) for g in self.commitment_groups)


# ---------------------------------------------------------------------------
# Application form

#: The enterprise dict keys each field of the form accepts.
_ACCEPTED = {
    "enterprise_name": ("enterprise_name", "name"),
    "credit_code": ("credit_code", "unified_social_credit_code", "uscc"),
    "legal_representative": ("legal_representative", "legal_person"),
    "address": ("address", "business_address"),
    "business_area": ("business_area", "area"),
}
_LABELS = TEXTS.table("form_fields")
FORM_FIELDS: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = tuple(
    # (key, label, enterprise dict keys accepted)
    (key, _LABELS[key], _ACCEPTED[key]) for key in _FIELD_KEYS
)


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    value: str
    prefilled: bool
    note: str = ""


@dataclass(frozen=True)
class FormAnswer:
    question_id: str
    question: str
    answer: str


@dataclass(frozen=True)
class ApplicationForm:
    title: str
    fields: Tuple[FormField, ...]
    answers: Tuple[FormAnswer, ...]
    matters: Tuple[Tuple[str, str], ...]  # (code, name) applied for

    @property
    def prefilled_count(self) -> int:
        return sum(f.prefilled for f in self.fields)


# ---------------------------------------------------------------------------
# Checklist


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    form: str  # label: 原件 / 复印件 / 原件及复印件 / 电子材料
    count: int
    status: str  # 需提交 / 免提交 / 容缺
    required: bool  # False: 视情提交 (only in some cases)
    needed_by: Tuple[str, ...]  # matter codes, in approval order
    needed_by_names: Tuple[str, ...]
    notes: Tuple[str, ...] = ()
    scenarios: Tuple[str, ...] = ()  # scenarios that brought it in, if not a base material


@dataclass(frozen=True)
class Checklist:
    items: Tuple[ChecklistItem, ...]
    separate_total: int  # sum over approvals of their materials
    separate_to_submit: int  # … of which not held by the government
    approvals: Tuple[str, ...] = ()

    @property
    def merged_total(self) -> int:
        return len(self.items)

    @property
    def totals(self) -> Dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for item in self.items:
            counts[item.status] += 1
        return counts

    @property
    def merged_to_submit(self) -> int:
        return sum(1 for i in self.items if i.status != HELD)

    @property
    def saved(self) -> int:
        """Material submissions saved against applying for each approval separately."""
        return self.separate_total - self.merged_total

    @property
    def saved_to_submit(self) -> int:
        return self.separate_to_submit - self.merged_to_submit

    def by_status(self, status: str) -> List[ChecklistItem]:
        return [i for i in self.items if i.status == status]


@dataclass(frozen=True)
class IntakeDocuments:
    industry_code: str
    industry_name: str
    answers: Dict[str, Any] = field(compare=False)
    approvals: Tuple[str, ...]
    notice: Notice
    form: ApplicationForm
    checklist: Checklist


# ---------------------------------------------------------------------------
# Building


def approval_materials(
    matter: Matter, scenario_names: List[str], extras: List[Material]
) -> List[Tuple[Material, Optional[str]]]:
    """One approval's materials for this business, each once: base, then scenarios (with
    the scenario's name), then the industry's extras."""
    out: List[Tuple[Material, Optional[str]]] = []
    seen = set()
    for material in matter.materials:
        if material.name not in seen:
            seen.add(material.name)
            out.append((material, None))
    for scenario in matter.scenarios:
        if scenario.name in scenario_names:
            for material in scenario.materials:
                if material.name not in seen:
                    seen.add(material.name)
                    out.append((material, scenario.name))
    for material in extras:
        if material.name not in seen:
            seen.add(material.name)
            out.append((material, None))
    return out


def _merged_form(forms: List[str]) -> str:
    kinds = set(forms)
    if len(kinds) == 1:
        return MATERIAL_FORMS[forms[0]]
    if "original_and_copy" in kinds or {"original", "copy"} <= kinds:
        return MATERIAL_FORMS["original_and_copy"]
    return "／".join(MATERIAL_FORMS[f] for f in dict.fromkeys(forms))


def build_checklist(
    industry: Industry, answers: Mapping[str, Any], matters: Mapping[str, Matter]
) -> Checklist:
    codes = engine.approvals(industry, answers)
    scenarios = engine.scenarios(industry, answers)
    extras = engine.extra_materials(industry, answers)
    merged: Dict[str, Dict[str, Any]] = {}
    separate_total = separate_to_submit = 0
    deferrable = set(industry.deferrable)
    for code in codes:
        matter = matters[code]
        for material, scenario in approval_materials(
            matter, scenarios.get(code, []), extras.get(code, [])
        ):
            separate_total += 1
            separate_to_submit += not material.held_by_government
            entry = merged.setdefault(
                material.name,
                {"forms": [], "count": 0, "held": True, "required": False, "codes": [],
                 "notes": [], "scenarios": [], "base": False},
            )
            entry["forms"].append(material.form)
            entry["count"] = max(entry["count"], material.count)
            entry["held"] = entry["held"] and material.held_by_government
            entry["required"] = entry["required"] or material.required
            if code not in entry["codes"]:
                entry["codes"].append(code)
            if material.note and material.note not in entry["notes"]:
                entry["notes"].append(material.note)
            if scenario is None:
                entry["base"] = True
            elif scenario not in entry["scenarios"]:
                entry["scenarios"].append(scenario)
    items = []
    for name, e in merged.items():
        # 免提交 only when every approval has it from the government; the safer reading.
        status = HELD if e["held"] else DEFERRED if name in deferrable else TO_SUBMIT
        items.append(
            ChecklistItem(
                name=name,
                form=_merged_form(e["forms"]),
                count=e["count"],
                status=status,
                required=e["required"],
                needed_by=tuple(e["codes"]),
                needed_by_names=tuple(matters[c].name for c in e["codes"]),
                notes=tuple(e["notes"]),
                scenarios=() if e["base"] else tuple(e["scenarios"]),
            )
        )
    return Checklist(tuple(items), separate_total, separate_to_submit, tuple(codes))


def commitment_conditions(matter: Matter) -> Tuple[str, ...]:
    """The approval's conditions (申请条件) the applicant promises to meet: not those
    that describe an exemption (EXEMPTION_MARKERS), which nobody can promise."""
    return tuple(c for c in matter.conditions if not holds(c, EXEMPTION_MARKERS))


def build_notice(
    industry: Industry, answers: Mapping[str, Any], matters: Mapping[str, Matter]
) -> Notice:
    codes = engine.approvals(industry, answers)
    scenarios = engine.scenarios(industry, answers)
    answers = engine.prune(industry, answers)
    permit = matters[industry.permit]
    items = tuple(
        NoticeItem(
            code=c,
            name=matters[c].name,
            department=matters[c].department,
            promised_days=matters[c].promised_days,
            statutory_days=matters[c].statutory_days,
            time_note=matters[c].time_note,
            scenarios=tuple(scenarios.get(c, [])),
        )
        for c in codes
    )
    return Notice(
        industry=industry.name,
        permit_code=permit.code,
        permit_name=permit.name,
        permit_department=permit.department,
        items=items,
        permit_days=permit.promised_days if codes else 0,
        separate_days=sum(i.promised_days for i in items),
        commitments=tuple(c.text for c in industry.commitments if c.when.holds(answers)),
        commitment_groups=tuple(
            CommitmentGroup(c, matters[c].name, commitment_conditions(matters[c])) for c in codes
        ),
    )


def build_form(
    industry: Industry,
    answers: Mapping[str, Any],
    matters: Mapping[str, Matter],
    enterprise: Optional[Mapping[str, Any]] = None,
) -> ApplicationForm:
    codes = engine.approvals(industry, answers)
    registering = any(holds(matters[c].name, REGISTRATION_MARKERS) for c in codes)
    enterprise = enterprise or {}
    fields = []
    for key, label, accepted in FORM_FIELDS:
        value = next(
            (str(enterprise[k]).strip() for k in accepted
             if enterprise.get(k) not in (None, "") and str(enterprise[k]).strip()),
            "",
        )
        note = ""
        if value:
            note = TEXTS("prefilled_note")
        elif key == "credit_code" and registering:
            note = TEXTS("credit_code_note")
        elif key == "enterprise_name" and registering:
            note = TEXTS("enterprise_name_note")
        fields.append(FormField(key, label, value, bool(value), note))
    return ApplicationForm(
        title=TEXTS("form_title", industry=industry.name),
        fields=tuple(fields),
        answers=tuple(
            FormAnswer(q.id, q.text, engine.answer_label(q, v))
            for q, v in engine.answered(industry, answers)
        ),
        matters=tuple((c, matters[c].name) for c in codes),
    )


def build_documents(
    industry: Industry,
    answers: Mapping[str, Any],
    catalog: CatalogLike,
    enterprise: Optional[Mapping[str, Any]] = None,
) -> IntakeDocuments:
    """Notice, application form and checklist for these answers.

    catalog: a MatterIndex, a {code: Matter} mapping, or Matters / catalog entries.
    enterprise: what the government holds about a verified applicant's enterprise
    (enterprise_name/name, credit_code, legal_representative, address, business_area).
    Answers are pruned first, so stale answers to skipped questions never count.
    """
    matters = matters_by_code(catalog)
    missing = [c for c in (industry.permit, *industry.approvals) if c not in matters]
    if missing:
        raise KeyError(f"catalog lacks {', '.join(missing)} needed by {industry.code}")
    answers = engine.prune(industry, answers)
    return IntakeDocuments(
        industry_code=industry.code,
        industry_name=industry.name,
        answers=dict(answers),
        approvals=tuple(engine.approvals(industry, answers)),
        notice=build_notice(industry, answers, matters),
        form=build_form(industry, answers, matters, enterprise),
        checklist=build_checklist(industry, answers, matters),
    )
