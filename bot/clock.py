"""The city's clock: dates a citizen reads (work order numbers, due dates, per-day
statistics) are the city's local dates, whatever time zone a server runs in."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """The city's date now."""
    return datetime.now(LOCAL_TZ).date()
