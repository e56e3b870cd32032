"""The catalog entry format as a check and typed views.

The format itself is the schema catalog.schema.yml beside this file (explained in
docs/catalog-format.md); here is what a schema cannot say, and the read-only views
search and answers use. Checking collects every problem of an entry instead of stopping
at the first, so a government fixing its export sees the whole list at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping

from bot.validation import Fail, Problems, Schema, whole_number

#: What each material form (the schema's enum) is called on documents and in answers.
MATERIAL_FORMS = {
    "original": "原件",
    "copy": "复印件",
    "original_and_copy": "原件及复印件",
    "electronic": "电子材料",
}
SCHEMA_FILE = Path(__file__).with_name("catalog.schema.yml")
ENTRY_SCHEMA = Schema(SCHEMA_FILE)
ENTRY = "entry"  # how problems name an entry as a whole


def check_entry(entry: Any, fail: Fail) -> None:
    """Reports every problem of one catalog entry through fail(field, message)."""
    ENTRY_SCHEMA.check(entry, fail)
    limit = entry.get("time_limit") if isinstance(entry, Mapping) else None
    if isinstance(limit, Mapping):
        statutory, promised = limit.get("statutory_days"), limit.get("promised_days")
        if whole_number(statutory) and whole_number(promised) and promised > statutory:
            fail("time_limit.promised_days", "must not exceed statutory_days")


def validate_entry(entry: Any) -> List[str]:
    """Every problem of one catalog entry as 'field: message'; empty when it is valid."""
    problems = Problems("", root=ENTRY, code="")
    check_entry(entry, problems.fail)
    return [p.message for p in problems.found]


# ---------------------------------------------------------------------------
# Typed, read-only views used by search and answers.


@dataclass(frozen=True)
class Material:
    name: str
    form: str
    count: int
    held_by_government: bool
    required: bool = True
    note: str = ""

    @property
    def form_label(self) -> str:
        return MATERIAL_FORMS[self.form]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Material":
        return cls(
            name=d["name"],
            form=d["form"],
            count=int(d["count"]),
            held_by_government=bool(d["held_by_government"]),
            required=bool(d.get("required", True)),
            note=d.get("note") or "",
        )


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    materials: List[Material]


@dataclass(frozen=True)
class Window:
    name: str
    address: str
    hours: str
    phone: str = ""
    district: str = ""


@dataclass(frozen=True)
class Matter:
    """One service matter (事项), as loaded from the catalog."""

    code: str
    name: str
    aliases: List[str]
    keywords: List[str]
    department: str
    service_object: str
    statutory_days: int
    promised_days: int
    time_note: str
    fee_free: bool
    fee_amount: str
    fee_basis: str
    conditions: List[str]
    materials: List[Material]
    scenarios: List[Scenario]
    online_available: bool
    full_online: bool
    platforms: List[str]
    online_url: str
    windows: List[Window]
    procedure: List[str]
    legal_basis: List[str]
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Matter":
        limit, fee = d["time_limit"], d["fee"]
        online = d["channels"]["online"]
        return cls(
            code=d["code"],
            name=d["name"],
            aliases=list(d.get("aliases") or []),
            keywords=list(d.get("keywords") or []),
            department=d["department"],
            service_object=d["service_object"],
            statutory_days=int(limit["statutory_days"]),
            promised_days=int(limit["promised_days"]),
            time_note=limit.get("note") or "",
            fee_free=bool(fee["free"]),
            fee_amount=fee.get("amount") or "",
            fee_basis=fee.get("basis") or "",
            conditions=list(d["conditions"]),
            materials=[Material.from_dict(m) for m in d["materials"]],
            scenarios=[
                Scenario(
                    name=s["name"],
                    description=s.get("description") or "",
                    materials=[Material.from_dict(m) for m in s["materials"]],
                )
                for s in d.get("scenarios") or []
            ],
            online_available=bool(online["available"]),
            full_online=bool(online["full_online"]),
            platforms=list(online.get("platforms") or []),
            online_url=online.get("url") or "",
            windows=[
                Window(
                    name=w["name"],
                    address=w["address"],
                    hours=w["hours"],
                    phone=str(w.get("phone") or ""),
                    district=w.get("district") or "",
                )
                for w in d["channels"].get("windows") or []
            ],
            procedure=list(d["procedure"]),
            legal_basis=list(d["legal_basis"]),
            raw=dict(d),
        )
