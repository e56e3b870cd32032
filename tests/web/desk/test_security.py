"""Issue 11 in the desk: the holes an attacker or a careless deployment could use, each
shown closed over real HTTP (the fixtures are those of test_desk.py)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from bot import settings
from bot.handoff import config as handoff_config
from bot.handoff.client import DeskClient
from web import templating
from web.desk import create_app as create_desk
from tests.conftest import ROOT
from tests.web.desk.test_desk import (  # noqa: F401 - fixtures are used by name
    RASA_TOKEN, citizen_says, desk, desk_client, dev_accounts, login, make_config, rasa, shared,
    tracker_url,
)


async def _accepted(desk, cid: str) -> tuple[dict, int]:
    headers = await login(desk, "agent1", "agent1-pass")
    await desk.post("/desk/api/presence", json={"online": True}, headers=headers)
    from tests.web.desk.test_desk import internal

    hid = (await internal(desk, "/desk/internal/handoffs", {"conversation_id": cid}))[1]["handoff_id"]
    assert (await desk.post(f"/desk/api/handoffs/{hid}/accept", json={}, headers=headers)).status == 200
    return headers, hid


# -- reveal: every masked message, not only the newest ------------------------------

async def test_any_masked_message_of_the_conversation_can_be_revealed(desk, tracker_url):
    headers, hid = await _accepted(desk, "rv1")
    citizen_says(tracker_url, "rv1", "我电话13812345678")
    time.sleep(0.01)
    citizen_says(tracker_url, "rv1", "身份证310101199001011234")
    citizen_says(tracker_url, "other", "别人的电话13900001111")
    body = await (await desk.get(f"/desk/api/handoffs/{hid}")).json()
    older, newer = [m for m in body["messages"] if m["from"] == "citizen"]
    assert older["masked"] and newer["masked"]
    for message, full in ((older, "13812345678"), (newer, "310101199001011234")):
        shown = await desk.post(f"/desk/api/handoffs/{hid}/reveal", json={"event_id": message["id"]},
                                headers=headers)
        assert shown.status == 200, await shown.text()
        assert full in (await shown.json())["text"]
    # Another conversation's message is not reachable through this handoff.
    stranger = newer["id"] + 1
    refused = await desk.post(f"/desk/api/handoffs/{hid}/reveal", json={"event_id": stranger},
                              headers=headers)
    assert refused.status == 404
    supervisor_headers = await login(desk, "supervisor1", "supervisor1-pass")
    reveals = (await (await desk.get("/desk/api/supervisor/overview")).json())["reveals"]
    assert {r["what"] for r in reveals} >= {f"message {older['id']}", f"message {newer['id']}"}
    assert supervisor_headers


# -- development accounts: only with DESK_DEV_ACCOUNTS=1, never in production -------

async def test_no_development_accounts_without_the_flag(database_url, tracker_url, rasa, shared,
                                                       monkeypatch):
    monkeypatch.delenv("DESK_DEV_ACCOUNTS")
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        response = await client.post("/desk/api/login",
                                     json={"name": "agent1", "password": "agent1-pass"})
        assert response.status == 401
    finally:
        await client.close()


async def test_development_accounts_with_the_flag_are_logged_loudly(
        database_url, tracker_url, rasa, shared, caplog):
    with caplog.at_level(logging.WARNING, logger="web.desk"):
        client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        await login(client, "supervisor1", "supervisor1-pass")
    finally:
        await client.close()
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "DEVELOPMENT ACCOUNTS" in warning and "agent1" in warning


def test_the_flag_is_refused_in_production(database_url, tracker_url, shared, monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    kv, queue = shared
    with pytest.raises(settings.InsecureConfiguration, match="DESK_DEV_ACCOUNTS"):
        create_desk(settings.load_web(), templating.environment(),
                    make_config(database_url, tracker_url, "http://unused"), kv=kv, queue=queue())


# -- credentials: the service token and Rasa's API token ----------------------------

PRODUCTION_TOKEN = "p" * 40


def test_the_service_token_is_required_in_production(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("HANDOFF_SERVICE_TOKEN", raising=False)
    monkeypatch.setenv("RASA_API_TOKEN", PRODUCTION_TOKEN)
    with pytest.raises(settings.InsecureConfiguration, match="HANDOFF_SERVICE_TOKEN"):
        handoff_config.load()  # the desk
    with pytest.raises(settings.InsecureConfiguration, match="HANDOFF_SERVICE_TOKEN"):
        DeskClient.from_env()  # the action server
    monkeypatch.setenv("HANDOFF_SERVICE_TOKEN", handoff_config.DEV_SERVICE_TOKEN)
    with pytest.raises(settings.InsecureConfiguration, match="HANDOFF_SERVICE_TOKEN"):
        DeskClient.from_env()
    monkeypatch.setenv("HANDOFF_SERVICE_TOKEN", "s" * 40)
    monkeypatch.delenv("RASA_API_TOKEN")
    assert DeskClient.from_env().token == "s" * 40  # the action server needs no Rasa token
    with pytest.raises(settings.InsecureConfiguration, match="RASA_API_TOKEN"):
        handoff_config.load()  # the desk does
    monkeypatch.setenv("RASA_API_TOKEN", PRODUCTION_TOKEN)
    loaded = handoff_config.load()
    assert (loaded.service_token, loaded.rasa_token) == ("s" * 40, PRODUCTION_TOKEN)


def test_development_values_on_a_development_machine(monkeypatch):
    monkeypatch.delenv("HANDOFF_SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    loaded = handoff_config.load()
    assert loaded.service_token == handoff_config.DEV_SERVICE_TOKEN
    assert loaded.rasa_token == "dev-rasa-api-token-loopback-only"


def test_the_action_server_refuses_to_start_in_production_without_the_token():
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_SERVICE_TOKEN"}
    env["GOVBOT_ENV"] = "production"
    done = subprocess.run([sys.executable, "-c", "import actions.handoff"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "HANDOFF_SERVICE_TOKEN" in done.stderr


async def test_every_call_to_rasa_carries_the_api_token(desk, tracker_url, rasa):
    headers, hid = await _accepted(desk, "tok1")
    assert (await desk.post(f"/desk/api/handoffs/{hid}/reply", json={"text": "您好"},
                            headers=headers)).status == 200
    assert (await desk.post(f"/desk/api/handoffs/{hid}/end", json={}, headers=headers)).status == 200
    assert len(rasa.auth) == 3 and set(rasa.auth) == {f"Bearer {RASA_TOKEN}"}


# -- the client address: X-Forwarded-For only from a trusted proxy -------------------

async def _fail_logins(client, count: int, forwarded_for: str) -> None:
    for i in range(count):
        response = await client.post("/desk/api/login", json={"name": f"nobody{i}", "password": "x"},
                                     headers={"X-Forwarded-For": forwarded_for})
        assert response.status == 401


async def _login_status(client, name: str, forwarded_for: str) -> int:
    response = await client.post("/desk/api/login", json={"name": name, "password": f"{name}-pass"},
                                 headers={"X-Forwarded-For": forwarded_for})
    return response.status


async def test_behind_a_trusted_proxy_one_address_locks_out_only_itself(
        database_url, tracker_url, rasa, shared, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        await _fail_logins(client, 20, "203.0.113.5")
        assert await _login_status(client, "agent1", "203.0.113.5") == 429
        # The blocked client names another address: the proxy appends the real one, and
        # the right-most untrusted address of the chain is what counts.
        assert await _login_status(client, "agent1", "198.51.100.99, 203.0.113.5, 10.1.2.3") == 429
        # Every other agent behind the same proxy still signs in.
        assert await _login_status(client, "agent2", "198.51.100.7") == 200
        assert await _login_status(client, "agent1", "203.0.113.5, 198.51.100.8") == 200
    finally:
        await client.close()


async def test_without_a_trusted_proxy_forwarded_for_is_ignored(
        database_url, tracker_url, rasa, shared, monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        for i in range(20):  # a new made-up address each time: still one client
            response = await client.post("/desk/api/login", json={"name": f"x{i}", "password": "x"},
                                         headers={"X-Forwarded-For": f"192.0.2.{i}"})
            assert response.status == 401
        assert await _login_status(client, "agent1", "192.0.2.200") == 429
    finally:
        await client.close()


@pytest.mark.parametrize("peer, chain, expected", [
    ("203.0.113.1", ["198.51.100.1"], "203.0.113.1"),             # not a proxy: its own address
    ("10.0.0.2", [], "10.0.0.2"),                                  # a proxy that says nothing
    ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
    ("10.0.0.2", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),       # left part is the client's
    ("10.0.0.2", ["1.1.1.1", "198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # two headers, two proxies
    ("10.0.0.2", ["10.0.0.4, 10.0.0.3"], "10.0.0.4"),              # all proxies: the left-most
    ("10.0.0.2", ["garbage, 198.51.100.1"], "198.51.100.1"),
    ("10.0.0.2", ["198.51.100.1, garbage"], "10.0.0.2"),           # a broken hop: stop there
    ("10.0.0.2", ["[2001:db8::1]:4711"], "2001:db8::1"),
    ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
    (None, ["198.51.100.1"], "unknown"),
])
def test_client_address(peer, chain, expected):
    from web.desk.auth import client_address, parse_trusted_proxies

    assert client_address(peer, chain, parse_trusted_proxies("10.0.0.0/8")) == expected


def test_bad_trusted_proxies_refuse_the_start():
    from web.desk.auth import parse_trusted_proxies

    assert parse_trusted_proxies("") == ()
    with pytest.raises(settings.InsecureConfiguration, match="TRUSTED_PROXIES"):
        parse_trusted_proxies("10.0.0.0/8, proxy.example")


# -- the session cookie's Secure flag ------------------------------------------------

async def _cookie(client, name: str = "agent1", **headers: str) -> str:
    response = await client.post("/desk/api/login", json={"name": name, "password": f"{name}-pass"},
                                 headers=headers)
    assert response.status == 200, await response.text()
    return response.headers["Set-Cookie"]


async def test_cookie_is_secure_when_the_trusted_proxy_says_https(
        database_url, tracker_url, rasa, shared, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        assert "Secure" not in await _cookie(client)  # plain HTTP on a development machine
        assert "Secure" in await _cookie(client, **{"X-Forwarded-Proto": "https"})
    finally:
        await client.close()


async def test_a_client_cannot_claim_https_itself(database_url, tracker_url, rasa, shared,
                                                  monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        # Nobody trusted says so: the header is the client's word (harmless either way,
        # but the same rule as for addresses).
        assert "Secure" not in await _cookie(client, **{"X-Forwarded-Proto": "https"})
    finally:
        await client.close()


async def test_cookie_is_secure_when_the_public_url_is_https(database_url, tracker_url, rasa,
                                                             shared, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://zwfw.example.gov.cn")
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        assert "Secure" in await _cookie(client)
    finally:
        await client.close()


async def test_cookie_is_always_secure_in_production(database_url, tracker_url, rasa, shared,
                                                     monkeypatch):
    from cryptography.fernet import Fernet

    from bot.handoff.auth import hash_password
    from bot.handoff.records import Records

    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("DESK_DEV_ACCOUNTS")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("SEAL_KEY", Fernet.generate_key().decode())
    Records.open(database_url).add_agent("agent1", "agent", hash_password("agent1-pass"))
    client = await desk_client(make_config(database_url, tracker_url, rasa.url), shared)
    try:
        assert "Secure" in await _cookie(client)
    finally:
        await client.close()


# -- a message's work order is created when the message is given --------------------

async def test_a_message_order_can_be_withdrawn_a_complaint_stays(desk):
    from tests.web.desk.test_desk import internal

    message = (await internal(desk, "/desk/internal/work_orders", {
        "conversation_id": "wd1", "kind": "message", "message": "想问落户"}))[1]["number"]
    complaint = (await internal(desk, "/desk/internal/work_orders", {
        "conversation_id": "wd1", "kind": "complaint", "message": "态度差"}))[1]["number"]
    cancel = f"/desk/internal/work_orders/{message}/cancel"
    assert (await internal(desk, cancel, {"conversation_id": "someone-else"}))[1] == {"cancelled": False}
    assert (await internal(desk, cancel, {"conversation_id": "wd1"}))[1] == {"cancelled": True}
    assert (await internal(desk, f"/desk/internal/work_orders/{complaint}/cancel",
                           {"conversation_id": "wd1"}))[1] == {"cancelled": False}
    await login(desk, "agent1", "agent1-pass")
    orders = (await (await desk.get("/desk/api/work_orders")).json())["work_orders"]
    assert [o["number"] for o in orders] == [complaint]


async def test_a_work_order_state_is_told_only_to_the_conversation_that_registered_it(desk):
    """Attack: anyone who saw or guessed a number GD-… asks for it from another
    conversation, or without the service credential; neither learns anything."""
    from tests.web.desk.test_desk import internal

    number = (await internal(desk, "/desk/internal/work_orders", {
        "conversation_id": "ws1", "kind": "complaint", "message": "窗口态度差"}))[1]["number"]
    path = "/desk/internal/work_orders/of_conversation"
    status, body = await internal(desk, path, {"conversation_id": "ws1", "number": number})
    assert status == 200 and [(o["number"], o["kind"], o["status"], o["taken"])
                              for o in body["orders"]] == [(number, "complaint", "open", False)]
    assert set(body["orders"][0]) == {"number", "kind", "status", "created_at", "taken",
                                      "state", "department", "due_at"}  # the 12345 cycle's
    assert (await internal(desk, path, {"conversation_id": "other", "number": number}))[1] == {"orders": []}
    assert (await internal(desk, path, {"conversation_id": "other"}))[1] == {"orders": []}
    assert (await internal(desk, path, {"conversation_id": "ws1"}, token="wrong"))[0] == 401
    assert (await internal(desk, path, {}))[0] == 400


# -- work orders: masked, claimed, closed only by the claimant or a supervisor ------

ORDER_TEXT = "我身份证310101199001011234，电话13812345678，验证码482913收不到"
ORDER_MASKED = "我身份证310101********1234，电话138****5678，验证码******收不到"


async def _order(desk, cid: str = "wo1", phone: str = "13900001111") -> str:
    from tests.web.desk.test_desk import internal

    number = (await internal(desk, "/desk/internal/work_orders", {
        "conversation_id": cid, "kind": "message", "message": ORDER_TEXT}))[1]["number"]
    await internal(desk, f"/desk/internal/work_orders/{number}/callback",
                   {"conversation_id": cid, "callback_phone": phone})
    return number


async def test_work_order_texts_are_masked_in_the_desk(desk):
    number = await _order(desk)
    await login(desk, "agent1", "agent1-pass")
    [listed] = (await (await desk.get("/desk/api/work_orders")).json())["work_orders"]
    quoted = await (await desk.get(f"/desk/api/work_orders/{number}")).json()
    for order in (listed, quoted):
        assert order["message"] == ORDER_MASKED and order["callback_phone"] == "139****1111"
        assert order["claimed_by"] is None


async def test_only_the_claimant_or_a_supervisor_reveals_and_closes(desk, database_url,
                                                                    tracker_url, rasa, shared):
    from tests.web.desk.test_desk import second_agent

    number = await _order(desk)
    headers = await login(desk, "agent1", "agent1-pass")
    base = f"/desk/api/work_orders/{number}"
    assert (await desk.post(f"{base}/reveal", json={}, headers=headers)).status == 403  # unclaimed
    assert (await desk.post(f"{base}/close", json={}, headers=headers)).status == 403
    assert (await desk.post(f"{base}/claim", json={})).status == 403  # no CSRF token
    claimed = await desk.post(f"{base}/claim", json={}, headers=headers)
    assert claimed.status == 200 and (await claimed.json())["claimed_by"] == "agent1"

    other, other_headers = await second_agent(
        make_config(database_url, tracker_url, rasa.url), shared, "agent2", "agent2-pass")
    try:
        assert (await other.post(f"{base}/claim", json={}, headers=other_headers)).status == 409
        assert (await other.post(f"{base}/reveal", json={}, headers=other_headers)).status == 403
        assert (await other.post(f"{base}/close", json={}, headers=other_headers)).status == 403
        shown = await desk.post(f"{base}/reveal", json={}, headers=headers)
        assert await shown.json() == {"message": ORDER_TEXT, "callback_phone": "13900001111"}
        assert (await desk.post(f"{base}/close", json={}, headers=headers)).status == 200
        assert (await desk.post(f"{base}/close", json={}, headers=headers)).status == 409

        # A supervisor may close an order someone else claimed.
        second = await _order(desk, "wo2")
        assert (await desk.post(f"/desk/api/work_orders/{second}/claim", json={},
                                headers=headers)).status == 200
        supervisor = await other.post("/desk/api/login", json={"name": "supervisor1",
                                                               "password": "supervisor1-pass"})
        supervisor_headers = {"X-CSRF-Token": (await supervisor.json())["csrf"]}
        assert (await other.post(f"/desk/api/work_orders/{second}/close", json={},
                                 headers=supervisor_headers)).status == 200
        reveals = (await (await other.get("/desk/api/supervisor/overview")).json())["reveals"]
        assert [r["agent"] for r in reveals if number in r["what"]] == ["agent1"]
    finally:
        await other.close()


async def test_work_orders_keep_no_full_number_at_rest(desk, database_url):
    import sqlalchemy as sa

    from bot.db import engine_for

    await _order(desk)
    engine = engine_for(database_url)
    with engine.connect() as conn:
        stored = "\n".join(repr(tuple(row)) for table in sa.inspect(engine).get_table_names()
                           for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
    for secret in ("310101199001011234", "13812345678", "13900001111", "482913"):
        assert secret not in stored, secret


def test_an_older_work_order_table_gets_the_claim_and_its_texts_sealed(database_url):
    import sqlalchemy as sa

    from bot.db import engine_for
    from bot.handoff.records import Records

    engine = engine_for(database_url)
    with engine.begin() as conn:  # the table as the previous version created it
        conn.execute(sa.text(
            "CREATE TABLE work_orders (number VARCHAR(32) PRIMARY KEY, conversation_id "
            "VARCHAR(255) NOT NULL, channel VARCHAR(32) NOT NULL, kind VARCHAR(16) NOT NULL, "
            "message TEXT NOT NULL, callback_phone VARCHAR(32), status VARCHAR(16) NOT NULL, "
            "created_at FLOAT NOT NULL)"))
        conn.execute(sa.text(
            "INSERT INTO work_orders VALUES ('GD-20261101-0001', 'c', 'rest', 'message', "
            f"'{ORDER_TEXT}', '13900001111', 'open', 1.0)"))
    records = Records.open(database_url)
    order = records.work_order("GD-20261101-0001")
    assert order["message"] == ORDER_MASKED and order["claimed_by"] is None
    assert records.claim_work_order("GD-20261101-0001", "agent1")
    assert records.reveal_work_order("GD-20261101-0001") == {
        "message": ORDER_TEXT, "callback_phone": "13900001111"}
    Records.open(database_url)  # a second start changes nothing
    assert records.reveal_work_order("GD-20261101-0001")["message"] == ORDER_TEXT
