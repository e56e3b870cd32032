"""Builds valid catalog entries in bulk: the scale tests and `make bench` search a
catalog of a thousand real matter names without a government export at hand.

The Chinese values of `minimal_entry` are filler of a made-up matter, for tests and the
bench only: catalog content, not words the bot says, so they stay with the factory."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

SHARED_NAMES = Path(__file__).resolve().parents[3] / "shared" / "data" / "zwfw_matter_names.txt"


def minimal_entry(code: str, name: str, aliases: List[str] | None = None) -> Dict:
    return {
        "code": code,
        "name": name,
        "aliases": aliases or [],
        "department": "区政务服务中心",
        "service_object": "personal",
        "time_limit": {"statutory_days": 20, "promised_days": 10},
        "fee": {"free": True},
        "conditions": ["符合相关规定"],
        "materials": [
            {"name": "申请书", "form": "original", "count": 1, "held_by_government": False}
        ],
        "channels": {
            "online": {"available": True, "full_online": False, "platforms": ["一网通办PC端"]},
            "windows": [{"name": "区行政服务中心", "address": "区行政服务中心", "hours": "工作日9:00-17:00"}],
        },
        "procedure": ["申请", "受理", "办结"],
        "legal_basis": ["相关法律法规"],
    }


def real_world_names() -> List[str]:
    names = [n.strip() for n in SHARED_NAMES.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n]


def scale_entries(existing_names: set[str]) -> List[Dict]:
    """One minimal entry per real matter name from the shared sample (1,133 names),
    leaving out names that are ours but for punctuation (the same matter)."""
    from bot.catalog.search import clean

    ours = {clean(n) for n in existing_names}
    return [
        minimal_entry(f"ZW-{i:04d}", name)
        for i, name in enumerate(real_world_names(), start=1)
        if clean(name) not in ours
    ]
