"""The catalog entry format (docs/catalog-format.md) as checks and typed views.

Validation collects every problem of an entry instead of stopping at the first, so a
government fixing its export sees the whole list at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

SERVICE_OBJECTS = ("personal", "enterprise")
MATERIAL_FORMS = {
    "original": "原件",
    "copy": "复印件",
    "original_and_copy": "原件及复印件",
    "electronic": "电子材料",
}
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")


class _Checker:
    """Collects problems as 'field: message' strings."""

    def __init__(self) -> None:
        self.problems: List[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, data: Mapping, key: str, where: str, required: bool = True) -> None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{where}{key}", "is missing")
            return
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}{key}", "must be a non-empty string")

    def boolean(self, data: Mapping, key: str, where: str, required: bool = True) -> None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{where}{key}", "is missing")
            return
        if not isinstance(value, bool):
            self.fail(f"{where}{key}", "must be true or false")

    def integer(self, data: Mapping, key: str, where: str, minimum: int) -> None:
        value = data.get(key)
        if value is None:
            self.fail(f"{where}{key}", "is missing")
        elif isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"{where}{key}", f"must be a whole number ≥ {minimum}")

    def text_list(
        self, data: Mapping, key: str, where: str, min_items: int, required: bool = True
    ) -> None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{where}{key}", "is missing")
            return
        if not isinstance(value, list) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            self.fail(f"{where}{key}", "must be a list of non-empty strings")
        elif len(value) < min_items:
            self.fail(f"{where}{key}", f"needs at least {min_items} item(s)")

    def mapping(self, data: Mapping, key: str, where: str) -> Optional[Mapping]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            self.fail(f"{where}{key}", "is missing or not a mapping")
            return None
        return value

    def material(self, item: Any, where: str) -> None:
        if not isinstance(item, Mapping):
            self.fail(where, "must be a mapping")
            return
        self.text(item, "name", f"{where}.")
        if item.get("form") not in MATERIAL_FORMS:
            self.fail(f"{where}.form", f"must be one of {', '.join(MATERIAL_FORMS)}")
        self.integer(item, "count", f"{where}.", 1)
        self.boolean(item, "held_by_government", f"{where}.")
        self.boolean(item, "required", f"{where}.", required=False)
        self.text(item, "note", f"{where}.", required=False)

    def materials(self, data: Mapping, key: str, where: str) -> None:
        items = data.get(key)
        if not isinstance(items, list) or not items:
            self.fail(f"{where}{key}", "needs at least one material")
            return
        for i, item in enumerate(items):
            self.material(item, f"{where}{key}[{i}]")


def validate_entry(entry: Any) -> List[str]:
    """Every problem of one catalog entry; an empty list means it is valid."""
    c = _Checker()
    if not isinstance(entry, Mapping):
        return ["entry: must be a mapping"]
    code = entry.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        c.fail("code", "must be 3–40 characters of A–Z, 0–9 and '-'")
    c.text(entry, "name", "")
    c.text_list(entry, "aliases", "", 0)
    c.text_list(entry, "keywords", "", 0, required=False)
    c.text(entry, "department", "")
    if entry.get("service_object") not in SERVICE_OBJECTS:
        c.fail("service_object", "must be personal or enterprise")

    limit = c.mapping(entry, "time_limit", "")
    if limit is not None:
        c.integer(limit, "statutory_days", "time_limit.", 0)
        c.integer(limit, "promised_days", "time_limit.", 0)
        c.text(limit, "note", "time_limit.", required=False)
        s, p = limit.get("statutory_days"), limit.get("promised_days")
        if isinstance(s, int) and isinstance(p, int) and p > s:
            c.fail("time_limit.promised_days", "must not exceed statutory_days")

    fee = c.mapping(entry, "fee", "")
    if fee is not None:
        c.boolean(fee, "free", "fee.")
        if fee.get("free") is False:
            c.text(fee, "amount", "fee.")

    c.text_list(entry, "conditions", "", 1)
    c.materials(entry, "materials", "")
    scenarios = entry.get("scenarios") or []
    if not isinstance(scenarios, list):
        c.fail("scenarios", "must be a list")
        scenarios = []
    for i, scenario in enumerate(scenarios):
        where = f"scenarios[{i}]"
        if not isinstance(scenario, Mapping):
            c.fail(where, "must be a mapping")
            continue
        c.text(scenario, "name", f"{where}.")
        c.materials(scenario, "materials", f"{where}.")

    channels = c.mapping(entry, "channels", "")
    if channels is not None:
        online = c.mapping(channels, "online", "channels.")
        if online is not None:
            c.boolean(online, "available", "channels.online.")
            c.boolean(online, "full_online", "channels.online.")
            if online.get("available"):
                c.text_list(online, "platforms", "channels.online.", 1)
            elif online.get("full_online"):
                c.fail("channels.online.full_online", "cannot be true when not available")
        windows = channels.get("windows")
        if not isinstance(windows, list):
            c.fail("channels.windows", "must be a list (may be empty)")
            windows = []
        if not windows and not (online or {}).get("full_online"):
            c.fail("channels.windows", "needs an office unless fully online")
        for i, window in enumerate(windows):
            where = f"channels.windows[{i}]."
            if not isinstance(window, Mapping):
                c.fail(where[:-1], "must be a mapping")
                continue
            for key in ("name", "address", "hours"):
                c.text(window, key, where)
    c.text_list(entry, "procedure", "", 2)
    c.text_list(entry, "legal_basis", "", 1)
    return c.problems


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
