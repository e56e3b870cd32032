"""The stand-in SMS gateway.

Only fixed templates are sent, filled with checked parameters, so the gateway cannot be
used to send arbitrary text. Every message is stored in `backend_sms_messages` (tests
read the last code sent to a phone with `last_code`) and handed to a `SmsGateway`: in
development `OutboxGateway`, which appends one JSON line per message to
`var/sms-outbox.jsonl` (BACKEND_SMS_OUTBOX, `settings`) — the phone masked, the text in
full, so a developer can read the code there. A city plugs in its own gateway instead.

At most `limit` messages go to one phone in 10 minutes (BACKEND_SMS_LIMIT, default 10);
more raise `TooManyMessages`. When the caller names a requester (its opaque id of
who asked) the limit counts per phone and requester, so strangers who make codes go to
someone's phone spend their own share, never the owner's; messages without a requester
count against every message to the phone, as one shared budget.

    .venv/bin/python -m standins.gov_backend.sms last-code 13810000004   # the last code sent there
"""
from __future__ import annotations

import argparse
import json
import re
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sqlalchemy import desc, func, insert, select
from sqlalchemy.engine import Engine

from bot.privacy import mask_phone
from standins.gov_backend import models as m

PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class SmsTarget:
    """Whom a message goes to, as the caller names it: exactly one of a phone, the
    applicant of an application, and a verified person."""

    phone: Optional[str] = None
    application_number: Optional[str] = None
    person_id: Optional[str] = None


class SmsError(ValueError):
    """A template or parameter problem: (field, Chinese message, English message)."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.field, self.zh, self.en = field, zh, en


class TooManyMessages(Exception):
    pass


@dataclass(frozen=True)
class Template:
    text: str
    params: Mapping[str, str]  # name → regex the value must match
    defaults: Mapping[str, str]
    needs_application: bool = False


TEMPLATES: Dict[str, Template] = {
    # The action server generates the code; the gateway only delivers it.
    "verification_code": Template(
        text="【一网通办】您的验证码为{code}，{ttl_minutes}分钟内有效，仅用于查询办件进度，"
        "请勿告诉他人。如非本人操作，请忽略本短信。",
        params={"code": r"[0-9]{4,8}", "ttl_minutes": r"[1-9]|[12][0-9]|30"},
        defaults={"ttl_minutes": "5"},
    ),
    # Filled from the application itself; takes no parameters.
    "status_notice": Template(
        text="【一网通办】您的办件{application_number}（{matter_name}）当前状态：{status_label}。"
        "详情请登录随申办查询。",
        params={},
        defaults={},
        needs_application=True,
    ),
}


def render(template_name: object, params: object,
           application: Optional[Mapping] = None) -> Tuple[str, Dict[str, str]]:
    """(message text, checked parameters as strings); raises SmsError for an unknown
    template or a bad parameter."""
    if not isinstance(template_name, str) or template_name not in TEMPLATES:
        names = "、".join(TEMPLATES)
        raise SmsError("template", f"未知的短信模板（可用：{names}）",
                       f"unknown template (available: {', '.join(TEMPLATES)})")
    template = TEMPLATES[template_name]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise SmsError("params", "params 须为对象", "params must be an object")
    unknown = sorted(set(params) - set(template.params))
    if unknown:
        raise SmsError("params", f"模板 {template_name} 不接受参数 {unknown[0][:40]}",
                       f"template {template_name} takes no parameter {unknown[0][:40]!r}")
    values: Dict[str, str] = dict(template.defaults)
    for name, pattern in template.params.items():
        if name not in params:
            if name in values:
                continue
            raise SmsError("params", f"缺少参数 {name}", f"missing parameter {name}")
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SmsError("params", f"参数 {name} 格式不正确", f"parameter {name} is malformed")
        value = str(value)
        if not re.fullmatch(pattern, value):
            raise SmsError("params", f"参数 {name} 格式不正确", f"parameter {name} is malformed")
        values[name] = value
    checked = dict(values)
    if template.needs_application:
        if application is None:
            raise SmsError("application_number", f"模板 {template_name} 须指定办件编号",
                           f"template {template_name} needs an application_number")
        values.update(
            application_number=application["number"],
            matter_name=application["matter_name"],
            status_label=m.STATUS_LABELS.get(application["status"], application["status"]),
        )
    return template.text.format(**values), checked


class SmsGateway(ABC):
    """Delivers one rendered message; raise to report a failed delivery."""

    @abstractmethod
    def deliver(self, message_id: str, phone: str, text: str, record: Mapping[str, Any]) -> None:
        ...


class OutboxGateway(SmsGateway):
    """Development gateway: appends one JSON line per message to a file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def deliver(self, message_id: str, phone: str, text: str, record: Mapping[str, Any]) -> None:
        line = json.dumps(
            {
                "message_id": message_id,
                "sent_at": record["sent_at"],
                "phone_masked": mask_phone(phone),
                "template": record["template"],
                "application_number": record.get("application_number"),
                "text": text,
            },
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


class SmsService:
    """Checks the rate limit, stores the message and hands it to the gateway."""

    def __init__(self, engine: Engine, gateway: SmsGateway, limit: int) -> None:
        self.engine = engine
        self.gateway = gateway
        self.limit = limit

    def send(self, phone: str, template: str, params: Mapping[str, Any], text: str,
             application_number: Optional[str] = None, requester: Optional[str] = None) -> str:
        now = m.now_cst()
        message_id = "sms-" + uuid.uuid4().hex
        row = {
            "message_id": message_id,
            "phone": phone,
            "template": template,
            "params": json.dumps(dict(params or {}), ensure_ascii=False),
            "text": text,
            "application_number": application_number,
            "sent_at": now,
            "requester": requester,
        }
        counted = (m.sms_messages.c.phone == phone) & (m.sms_messages.c.sent_at > now - WINDOW)
        if requester is not None:
            counted = counted & (m.sms_messages.c.requester == requester)
        with self.engine.begin() as conn:
            recent = conn.execute(
                select(func.count()).select_from(m.sms_messages).where(counted)
            ).scalar()
            if recent >= self.limit:
                raise TooManyMessages()
            conn.execute(insert(m.sms_messages), [row])
        self.gateway.deliver(
            message_id, phone, text, {**row, "sent_at": now.isoformat() + "+08:00"}
        )
        return message_id


def messages_to(engine: Engine, phone: str, limit: int = 20) -> List[Dict[str, Any]]:
    """The messages stored for a phone, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.sms_messages)
            .where(m.sms_messages.c.phone == phone)
            .order_by(desc(m.sms_messages.c.id))
            .limit(limit)
        ).mappings().all()
    return [{**dict(r), "params": json.loads(r["params"])} for r in rows]


def last_message(engine: Engine, phone: str) -> Optional[Dict[str, Any]]:
    found = messages_to(engine, phone, limit=1)
    return found[0] if found else None


def last_code(engine: Engine, phone: str) -> Optional[str]:
    """The verification code most recently sent to a phone (for tests), or None."""
    with engine.connect() as conn:
        params = conn.execute(
            select(m.sms_messages.c.params)
            .where(m.sms_messages.c.phone == phone,
                   m.sms_messages.c.template == "verification_code")
            .order_by(desc(m.sms_messages.c.id))
            .limit(1)
        ).scalar()
    return json.loads(params).get("code") if params else None


def main() -> None:
    parser = argparse.ArgumentParser(description="the stand-in SMS gateway's messages")
    parser.add_argument("command", choices=["last-code"])
    parser.add_argument("phone")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    code = last_code(m.engine_and_schema(args.database_url), args.phone)
    print(code or "no verification code sent to that phone")


if __name__ == "__main__":
    main()
