"""Rows of the backend's tables as the JSON of docs/backend-openapi.yaml: times in China
Standard Time with their zone, names and ID numbers of people masked."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, Iterable, Mapping, Optional

from bot.privacy import mask_id, mask_name
from standins.gov_backend import models as m

Row = Mapping[str, Any]


def timestamp(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.replace(microsecond=0).isoformat() + "+08:00"


def day(value: Optional[date]) -> Optional[str]:
    return None if value is None else value.isoformat()


def application_summary(row: Row) -> Dict[str, Any]:
    """An application as listed (a person's applications)."""
    return {
        "number": row["number"],
        "matter_code": row["matter_code"],
        "matter_name": row["matter_name"],
        "submitted_at": timestamp(row["submitted_at"]),
        "status": row["status"],
        "status_label": m.STATUS_LABELS.get(row["status"], row["status"]),
        "department": row["department"],
        "due_date": day(row["due_date"]),
        "result": row["result"],
        "result_label": m.RESULT_LABELS.get(row["result"]) if row["result"] else None,
    }


def application(row: Row, applicant_name: str, enterprise: Optional[Row],
                missing: Iterable[Row], steps: Iterable[Row]) -> Dict[str, Any]:
    """An application in full: the summary, who applied (masked), for which enterprise,
    the result, the missing materials and the step history."""
    return {
        **application_summary(row),
        "applicant": {
            "name_masked": mask_name(applicant_name),
            "id_number_masked": mask_id(row["applicant_id"]),
        },
        "enterprise": dict(enterprise) if enterprise else None,
        "result_reason": row["result_reason"],
        "completed_at": timestamp(row["completed_at"]),
        "missing_materials": [
            {"name": x["name"], "matter_code": x["matter_code"], "note": x["note"]}
            for x in missing
        ],
        "history": [
            {"step": s["step"], "department": s["department"], "at": timestamp(s["at"]),
             "note": s["note"]}
            for s in steps
        ],
    }


def enterprise(row: Row) -> Dict[str, Any]:
    """An enterprise; `row` holds its legal representative's name as `rep_name`."""
    return {
        "credit_code": row["credit_code"],
        "name": row["name"],
        "legal_representative": {
            "name_masked": mask_name(row["rep_name"] or ""),
            "id_number_masked": mask_id(row["legal_rep_id"]),
        },
        "address": row["address"],
        "district": row["district"],
        "registered_on": day(row["registered_on"]),
        "status": row["status"],
    }


def licence(row: Row, today: date) -> Dict[str, Any]:
    """A licence, `expired` when its validity ended before `today`."""
    return {
        "holder_type": row["holder_type"],
        "licence_type": row["licence_type"],
        "licence_number": row["licence_number"],
        "issuer": row["issuer"],
        "issued_on": day(row["issued_on"]),
        "valid_until": day(row["valid_until"]),
        "status": "expired" if row["valid_until"] and row["valid_until"] < today else "valid",
    }
