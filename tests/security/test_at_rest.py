"""After a scripted session (a complaint with an ID and a phone number, a status check
with the ID's last six and an SMS code), no full ID number, phone number, last six or
code is left in any table the assistant writes, nor in its log. The stand-in backend's
database (the government's own records) and the SMS outbox (the citizen's phone) are
the two places these numbers belong, and are left out."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_conversations import Citizen
from tests.e2e.test_status_conversations import last_code

pytestmark = pytest.mark.slow

ID_NUMBER, PHONE, LAST_SIX = "330106197912010175", "13810000006", "010175"
NOT_OURS = {"backend.db"}


def _sqlite_texts(path: Path):
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                yield f"{path.name}:{table}", " ".join(map(str, row))


def _postgres_texts(url: str):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))]
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                yield f"postgres:{table}", " ".join(map(str, row))
    engine.dispose()


def _everything_written(stack):
    var: Path = stack["var"]
    for path in sorted(var.glob("*.db")):
        if path.name not in NOT_OURS:
            yield from _sqlite_texts(path)
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield from _postgres_texts(os.environ["DATABASE_URL"])
    for path in sorted(var.glob("*.log")):
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace")
                                      .splitlines(), 1):
            yield f"{path.name}:{number}", line


def test_no_full_number_or_code_is_left_anywhere(stack):
    citizen = Citizen(stack)
    complaint = citizen.text(f"我要投诉，小区门口的垃圾三天没人清运，我身份证{ID_NUMBER}，"
                             f"电话{PHONE}")
    if "手机" in complaint:
        citizen.text(PHONE)
    checker = Citizen(stack)
    checker.text("查一下SH20261125000999")
    checker.text(f"身份证后六位{LAST_SIX}")
    code = last_code(stack, "138****0006")
    assert "当前环节" in checker.text(code)

    secrets_seen = {"ID number": re.compile(ID_NUMBER), "phone": re.compile(PHONE),
                    "ID last six": re.compile(rf"(?<![\d.*]){LAST_SIX}(?!\d)"),
                    "SMS code": re.compile(rf"(?<![\d.]){code}(?!\d)")}
    found = [(where, kind) for where, text in _everything_written(stack)
             for kind, pattern in secrets_seen.items() if pattern.search(text)]
    assert found == [], found[:20]
