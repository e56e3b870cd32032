"""Pre-filling the application form from what the government already holds.

A verified citizen's enterprises come from the backend by the opaque person id the
status check left in the slot `verified_person_id` (`GET /people/{person_id}/enterprises`,
docs/backend-openapi.yaml): the assistant never holds the ID number, so it must not ask
by one. The form is pre-filled only for a business that already has its licence:
someone registering a new enterprise is not applying for an existing one.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.backend.client import BackendClient, BackendError

logger = logging.getLogger(__name__)
#: The backend's enterprise `status` values of a business still operating: values of its
#: API (docs/backend-openapi.yaml), matched exactly, not words said to or by citizens.
ACTIVE_STATUSES = ("存续", "在业", "开业")


def should_prefill(answers: Mapping[str, Any]) -> bool:
    """False when the answers say the business licence is still to be obtained."""
    return answers.get("has_licence") is not False


def choose_enterprise(enterprises: Sequence[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The enterprise to pre-fill with: the first one still in business."""
    active = [e for e in enterprises if str(e.get("status", "")) in ACTIVE_STATUSES]
    return (active or list(enterprises) or [None])[0]


def form_values(enterprise: Mapping[str, Any]) -> Dict[str, str]:
    """Backend enterprise JSON → the keys `build_form` reads. The legal representative
    comes masked from the backend and stays so."""
    rep = enterprise.get("legal_representative") or {}
    rep_name = rep.get("name_masked", "") if isinstance(rep, Mapping) else str(rep)
    return {
        "enterprise_name": str(enterprise.get("name") or ""),
        "credit_code": str(enterprise.get("credit_code") or ""),
        "legal_representative": str(rep_name or ""),
        "address": str(enterprise.get("address") or ""),
    }


async def fetch_enterprises(client: BackendClient, person_id: str) -> Optional[List[Dict[str, Any]]]:
    """The verified person's enterprises, or None when the backend cannot say (down,
    unknown id)."""
    try:
        return await client.verified_enterprises(person_id)
    except BackendError as err:
        logger.warning("no enterprises for the verified person: %s", type(err).__name__)
        return None
