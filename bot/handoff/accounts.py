"""Desk accounts from the command line, and the development seed.

    python -m bot.handoff.accounts add NAME --role agent       # asks for the password
    python -m bot.handoff.accounts add NAME --role supervisor --password-stdin
    python -m bot.handoff.accounts add NAME --role department --department 市交通委
    python -m bot.handoff.accounts passwd NAME

`seed_development_accounts` creates agent1 / agent2 / supervisor1 and the department
user dept1 of 市交通委 (passwords in README.md)
only when asked explicitly (DESK_DEV_ACCOUNTS=1, which `make run` sets) on a development
machine (bot.settings.is_development), and only while no account exists at all. An empty
account table alone never creates them: a fresh production database must not get
accounts whose passwords are published, so there the flag refuses the start.

Its prompts and messages (check_new_account's among them: only this command uses it) stay
here, not in data/texts/: they are an administrator's command line, printed to the
terminal of whoever sets up the desk beside argparse's own help, never shown to a citizen
or in the desk's pages, and no one edits them as the service's wording.
"""
from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import Optional

from bot import settings
from bot.handoff.auth import ROLES, hash_password
from bot.handoff.order_records import for_engine
from bot.handoff.records import Records
from bot.handoff.taxonomy import load as load_taxonomy

DEV_ACCOUNTS = (("agent1", "agent", "agent1-pass"), ("agent2", "agent", "agent2-pass"),
                ("supervisor1", "supervisor", "supervisor1-pass"))
#: Department users of the development seed: name, password, department (they take no
#: live conversations, so they are not among DEV_ACCOUNTS, whom the desk counts online).
DEV_DEPARTMENT_ACCOUNTS = (("dept1", "dept1-pass", "市交通委"),)
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD = 8


def check_new_account(name: str, role: str, password: str) -> Optional[str]:
    """What is wrong with a new account, None if nothing."""
    if not NAME_RE.match(name):
        return "账号只能用2-64个字母、数字、_ . -"
    if role not in ROLES:
        return f"角色须为 {', '.join(ROLES)}"
    if len(password) < MIN_PASSWORD:
        return f"密码至少{MIN_PASSWORD}位"
    return None


def check_department(role: str, department: Optional[str]) -> Optional[str]:
    """A department user names one department of departments.yml; no one else does."""
    if role != "department":
        return "只有 department 角色需要 --department" if department else None
    names = [d.name for d in load_taxonomy().departments]
    if department not in names:
        return f"--department 须为 {'、'.join(names)} 之一"
    return None


#: The explicit development switch for the seed (scripts/run.sh sets it).
DEV_FLAG = "DESK_DEV_ACCOUNTS"


def development_accounts_wanted() -> bool:
    """True when DESK_DEV_ACCOUNTS=1 on a development machine. Set in production it is
    a mistake that would publish working passwords, so the desk refuses to start."""
    if not settings.load().desk_dev_accounts:
        return False
    if not settings.is_development():
        raise settings.InsecureConfiguration(
            f"{DEV_FLAG}=1 creates desk accounts whose passwords are in README.md: refused "
            "in production (GOVBOT_ENV is not 'development'). Unset it and create real "
            "accounts with `python -m bot.handoff.accounts add NAME --role agent`."
        )
    return True


def seed_development_accounts(records: Records) -> bool:
    """Creates the development accounts if no account exists; the caller checks
    `development_accounts_wanted` first."""
    if records.agent_count():
        return False
    for name, role, password in DEV_ACCOUNTS:
        records.add_agent(name, role, hash_password(password))
    orders = for_engine(records.engine)
    for name, password, department in DEV_DEPARTMENT_ACCOUNTS:
        records.add_agent(name, "department", hash_password(password))
        orders.set_department(name, department)
    return True


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码: ")
    if getpass.getpass("再输一次: ") != first:
        raise SystemExit("两次输入的密码不一致")
    return first


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.handoff.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a desk account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--password-stdin", action="store_true")
    add.add_argument("--department", help="the department of a department user "
                     "(a name in data/reference/departments.yml)")
    passwd = sub.add_parser("passwd", help="set a new password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)
    # Only the database: the CLI needs none of the desk's service credentials.
    records = Records.open(settings.load().database_url)
    password = _password(args.password_stdin)
    if args.command == "add":
        problem = check_new_account(args.name, args.role, password)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        problem = check_department(args.role, args.department)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        if records.agent(args.name):
            print(f"账号 {args.name} 已存在", file=sys.stderr)
            return 1
        records.add_agent(args.name, args.role, hash_password(password))
        if args.role == "department":
            for_engine(records.engine).set_department(args.name, args.department)
        print(f"已创建账号 {args.name}（{args.role}）")
        return 0
    if len(password) < MIN_PASSWORD:
        print(f"密码至少{MIN_PASSWORD}位", file=sys.stderr)
        return 2
    if not records.set_password(args.name, hash_password(password)):
        print(f"没有账号 {args.name}", file=sys.stderr)
        return 1
    print(f"已更新 {args.name} 的密码")
    return 0


if __name__ == "__main__":
    sys.exit(main())
