"""The stand-in backend's API over real HTTP, on SQLite and (DATABASE_URL) PostgreSQL.

Every answer checked with `call` is also validated against docs/backend-openapi.yaml.
"""
from __future__ import annotations

import json
import logging

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from bot.privacy import add_masking_filter
from standins.gov_backend import models as m
from standins.gov_backend import seed as demo
from standins.gov_backend.sms import last_code, last_message
from tests.fixtures.gov_backend import TOKEN, call

LIU_YANG_APP = "SH20261105000123"  # applicant 刘洋, 510107199502140515, 13810000004
API_ROUTES = [
    ("GET", f"/api/v1/applications/{LIU_YANG_APP}"),
    ("GET", f"/api/v1/people/{demo.LIU_YANG}/applications"),
    ("GET", f"/api/v1/people/{demo.ZHAO_LEI}/enterprises"),
    ("GET", f"/api/v1/enterprises/{demo.SHENCHENG}"),
    ("GET", f"/api/v1/licences?holder={demo.LI_NA}"),
    ("POST", "/api/v1/identity/check"),
    ("POST", "/api/v1/sms/send"),
    ("GET", "/api/v1/applications?person_id=P0123456789abcdef01234567"),
]


def _bilingual(body):
    message = body["message"]
    return " / " in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)


async def test_health_needs_no_credential(backend):
    import aiohttp

    async with aiohttp.ClientSession() as anonymous:
        status, body, _ = await call(anonymous, backend.url, "GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


async def test_every_seeded_application_in_every_state(backend, http):
    states = set()
    for entry in demo.APPLICATIONS:
        row = entry["row"]
        status, body, _ = await call(http, backend.url, "GET", f"/api/v1/applications/{row['number']}")
        assert status == 200
        assert body["number"] == row["number"] and body["matter_code"] == row["matter_code"]
        assert body["status"] == row["status"] and body["result"] == row["result"]
        assert len(body["history"]) == len(entry["steps"])
        assert [x["name"] for x in body["missing_materials"]] == [x["name"] for x in entry["missing"]]
        states.add((row["status"], row["result"]))
    assert {
        ("accepted", None), ("under_review", None), ("needs_supplement", None),
        ("awaiting_pickup", None), ("completed", "approved"), ("completed", "rejected"),
    } <= states
    assert len(demo.APPLICATIONS) == 12


async def test_application_details(backend, http):
    _, body, _ = await call(http, backend.url, "GET", "/api/v1/applications/SH20261112004321")
    assert body["status_label"] == "补正材料" and body["department"] == "上海市黄浦区市场监督管理局"
    assert body["due_date"] == "2026-12-04"
    assert body["missing_materials"][1] == {
        "name": "从业人员健康证明", "matter_code": "SH-E-005", "note": "2名从业人员的健康证明已过有效期",
    }
    assert body["enterprise"]["name"] == "上海老弄堂餐饮管理有限公司"
    assert body["applicant"] == {"name_masked": "王*", "id_number_masked": "310115********1281"}
    assert body["history"][0]["step"] == "受理" and body["history"][0]["at"].endswith("+08:00")

    _, rejected, _ = await call(http, backend.url, "GET", "/api/v1/applications/SH20261103000456")
    assert rejected["result"] == "rejected" and rejected["result_label"] == "不予办理"
    assert "自有住房" in rejected["result_reason"] and rejected["completed_at"]

    # one-industry-one-permit: missing materials name the matter each belongs to
    _, bundle, _ = await call(http, backend.url, "GET", "/api/v1/applications/SH20261125000999")
    assert {x["matter_code"] for x in bundle["missing_materials"]} == {"SH-E-005", "SH-E-014", "SH-E-012"}

    # lower case and spaces are accepted; nothing personal appears in full
    status, same, _ = await call(http, backend.url, "GET", f"/api/v1/applications/{LIU_YANG_APP.lower()}")
    assert status == 200 and same["number"] == LIU_YANG_APP
    assert demo.LIU_YANG not in json.dumps(same) and "13810000004" not in json.dumps(same)


async def test_malformed_application_number_is_400(backend, http):
    for number in ["SH2026110500012", "SH20261332000123", "XX20261105000123",
                   "SH2026110500012%27", "%E5%8A%9E%E4%BB%B6", "SH２０261105000123", "x" * 300]:
        status, body, _ = await call(http, backend.url, "GET", f"/api/v1/applications/{number}")
        assert status == 400 and body["error"] == "invalid_field" and _bilingual(body), number


async def test_unknown_application_is_404(backend, http):
    status, body, _ = await call(http, backend.url, "GET", "/api/v1/applications/SH20261105999999")
    assert status == 404 and body["error"] == "application_not_found" and _bilingual(body)


async def test_person_applications(backend, http):
    status, body, _ = await call(
        http, backend.url, "GET", f"/api/v1/people/{demo.CHEN_JING.lower()}/applications"
    )
    assert status == 200
    numbers = [a["number"] for a in body["applications"]]
    assert numbers == ["SH20261124000045", "SH20261119000888", "SH20261109000246"]  # newest first

    unknown = demo.make_id_number("310101", "20000101", "001")
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/people/{unknown}/applications")
    assert status == 404 and body["error"] == "person_not_found"
    with backend.engine.begin() as conn:
        conn.execute(insert(m.people), [{"id_number": unknown, "name": "周杰", "phone": "13810000099"}])
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/people/{unknown}/applications")
    assert status == 200 and body == {"applications": []}

    status, body, _ = await call(http, backend.url, "GET", "/api/v1/people/310101199001011235/applications")
    assert status == 400 and "校验位" in body["message"]


async def test_verified_person_id_lists_applications_and_reaches_the_phone(backend, http):
    """The person_id of a match is stable, opaque, lists the person's applications and is
    a target for SMS; an unknown or malformed one gets 404 / 400."""
    path = "/api/v1/identity/check"
    _, first, _ = await call(http, backend.url, "POST", path,
                             json={"application_number": "SH20261124000045", "id_last6": "30028X"})
    _, again, _ = await call(http, backend.url, "POST", path,
                             json={"application_number": "SH20261119000888", "id_last6": "30028x"})
    person_id = first["person_id"]
    assert person_id == again["person_id"] and demo.CHEN_JING not in person_id
    _, other, _ = await call(http, backend.url, "POST", path,
                             json={"application_number": LIU_YANG_APP, "id_last6": "140515"})
    assert other["person_id"] != person_id

    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/applications?person_id={person_id}")
    assert status == 200
    assert [a["number"] for a in body["applications"]] == [
        "SH20261124000045", "SH20261119000888", "SH20261109000246"]

    status, body, _ = await call(http, backend.url, "GET",
                                 "/api/v1/applications?person_id=P0123456789abcdef01234567")
    assert status == 404 and body["error"] == "person_not_found"
    for bad in ("", "?person_id=510107199502140515", f"?person_id={person_id}&x=1"):
        status, body, _ = await call(http, backend.url, "GET", f"/api/v1/applications{bad}")
        assert status == 400 and _bilingual(body), bad

    status, body, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json={
        "person_id": person_id, "template": "verification_code", "params": {"code": "909090"}})
    assert status == 200 and last_code(backend.engine, "13810000005") == "909090"
    status, body, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json={
        "person_id": "P0123456789abcdef01234567", "template": "verification_code",
        "params": {"code": "909090"}})
    assert status == 404 and body["error"] == "person_not_found"


async def test_enterprises(backend, http):
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/enterprises/{demo.SHENCHENG.lower()}")
    assert status == 200 and body["name"] == "上海申城便利商贸有限公司"
    assert body["district"] == "浦东新区" and body["legal_representative"]["name_masked"] == "赵*"
    assert len(body["credit_code"]) == 18

    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/people/{demo.ZHAO_LEI}/enterprises")
    assert status == 200 and [e["credit_code"] for e in body["enterprises"]] == [demo.SHENCHENG]
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/people/{demo.ZHANG_WEI}/enterprises")
    assert status == 200 and body == {"enterprises": []}

    missing = demo.make_credit_code("91", "310115", "MA1XXXX1")
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/enterprises/{missing}")
    assert status == 404 and body["error"] == "enterprise_not_found"
    status, body, _ = await call(http, backend.url, "GET", "/api/v1/enterprises/91310115MA1FL7Q288")
    assert status == 400 and _bilingual(body)
    unknown_person = demo.make_id_number("310101", "20000101", "003")
    status, _, _ = await call(http, backend.url, "GET", f"/api/v1/people/{unknown_person}/enterprises")
    assert status == 404


async def test_licences(backend, http):
    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/licences?holder={demo.LI_NA}")
    assert status == 200
    types = {lic["licence_type"]: lic for lic in body["licences"]}
    assert {"居民身份证", "结婚证", "机动车驾驶证"} <= set(types)
    assert types["居民身份证"]["status"] == "expired"  # valid until 2026-09-12
    assert types["结婚证"]["valid_until"] is None and types["结婚证"]["status"] == "valid"

    status, body, _ = await call(http, backend.url, "GET",
                                 f"/api/v1/licences?holder={demo.ZHAO_LEI}&type=不动产权证书")
    assert [x["licence_type"] for x in body["licences"]] == ["不动产权证书"]

    status, body, _ = await call(http, backend.url, "GET", f"/api/v1/licences?holder={demo.LAONONGTANG}")
    assert status == 200 and body["licences"][0]["licence_type"] == "营业执照"
    assert body["licences"][0]["holder_type"] == "enterprise"

    for query, expected in [
        ("", 400), ("?holder=", 400), ("?holder=abc", 400),
        (f"?holder={demo.LI_NA}&colour=red", 400),
        (f"?holder={demo.make_id_number('310101', '20000101', '005')}", 404),
    ]:
        status, body, _ = await call(http, backend.url, "GET", f"/api/v1/licences{query}")
        assert status == expected, query


async def test_credential_required_everywhere_but_health(backend):
    import aiohttp

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": TOKEN}, {"Authorization": "Bearer "}):
        async with aiohttp.ClientSession(headers=headers) as session:
            for method, path in API_ROUTES:
                kwargs = {"json": {}} if method == "POST" else {}
                status, body, response_headers = await call(session, backend.url, method, path, **kwargs)
                assert status == 401, (headers, path)
                assert body["error"] == "unauthorized" and _bilingual(body)
                assert response_headers["WWW-Authenticate"].startswith("Bearer")
    # any configured token works
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer second-token-abcdef"}) as s:
        status, _, _ = await call(s, backend.url, "GET", f"/api/v1/applications/{LIU_YANG_APP}")
        assert status == 200


MALFORMED_IDENTITY = [
    (b"{not json", "invalid_json"),
    (b"", "invalid_json"),
    (b"[1, 2]", "invalid_json"),
    (b"\xff\xfe", "invalid_json"),
    (b"[" * 8000 + b"]" * 8000, "invalid_json"),  # nested too deep for the parser
    (json.dumps({"application_number": LIU_YANG_APP}).encode(), "invalid_field"),
    (json.dumps({"application_number": LIU_YANG_APP, "id_last6": 140515}).encode(), "invalid_field"),
    (json.dumps({"application_number": LIU_YANG_APP, "id_last6": "14051"}).encode(), "invalid_field"),
    (json.dumps({"application_number": "123", "id_last6": "140515"}).encode(), "invalid_field"),
    (json.dumps({"application_number": None, "id_last6": "140515"}).encode(), "invalid_field"),
    (json.dumps({"application_number": LIU_YANG_APP, "id_last6": "140515", "x": 1}).encode(),
     "invalid_field"),
]


async def test_identity_check_rejects_malformed_input(backend, http):
    for raw, field in MALFORMED_IDENTITY:
        status, body, _ = await call(http, backend.url, "POST", "/api/v1/identity/check", data=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400 and body["error"] == field and _bilingual(body), raw


async def test_identity_check_match_and_mismatch_look_alike(backend, http):
    path = "/api/v1/identity/check"
    status, ok, _ = await call(http, backend.url, "POST", path,
                               json={"application_number": LIU_YANG_APP, "id_last6": "140515"})
    assert status == 200 and ok["match"] is True and ok["phone_masked"] == "138****0004"
    assert ok["person_id"].startswith("P") and demo.LIU_YANG not in ok["person_id"]
    _, wrong_id, _ = await call(http, backend.url, "POST", path,
                                json={"application_number": LIU_YANG_APP, "id_last6": "140516"})
    _, wrong_number, _ = await call(http, backend.url, "POST", path,
                                    json={"application_number": "SH20261105999999", "id_last6": "140515"})
    assert wrong_id == wrong_number == {"match": False, "phone_masked": None, "person_id": None}
    # X check character in either case
    _, chen, _ = await call(http, backend.url, "POST", path,
                            json={"application_number": "SH20261124000045", "id_last6": "30028x"})
    assert chen["match"] is True


async def test_identity_check_takes_one_path_for_a_wrong_id_and_an_unknown_number(
        backend, http, monkeypatch):
    """What keeps the timing from telling which part was wrong: both take the same path
    (queries.check_identity): the same SQL statements in the same order and one
    constant-time comparison of six characters, and both get the same bytes back.
    (Not measured in time: medians of a few dozen requests on a shared two-core machine
    compare noise; an early return for an unknown number shows here as a missing
    statement.)"""
    import hmac

    from sqlalchemy import event

    from standins.gov_backend import queries

    statements, compared = [], []
    real_compare = hmac.compare_digest

    def counted_compare(a, b):
        compared.append((len(a), len(b)))
        return real_compare(a, b)

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    monkeypatch.setattr(queries.hmac, "compare_digest", counted_compare)
    path = "/api/v1/identity/check"
    paths = {}
    event.listen(backend.engine, "before_cursor_execute", record)
    try:
        for key, body in (
            ("wrong id", {"application_number": LIU_YANG_APP, "id_last6": "000000"}),
            ("unknown number", {"application_number": "SH20261105999999", "id_last6": "140515"}),
        ):
            statements.clear()
            compared.clear()
            async with http.post(backend.url + path, json=body) as r:
                assert r.status == 200
                raw = await r.read()
            paths[key] = (list(statements), list(compared), raw)
    finally:
        event.remove(backend.engine, "before_cursor_execute", record)
    assert json.loads(paths["wrong id"][2]) == {"match": False, "phone_masked": None,
                                                "person_id": None}
    assert paths["wrong id"] == paths["unknown number"]
    sql, comparisons, _ = paths["wrong id"]
    assert comparisons.count((6, 6)) == 1  # the ID's last six (the others: the token's)
    assert any(s.upper().startswith("INSERT INTO BACKEND_IDENTITY_FAILURES") for s in sql)


async def test_identity_check_locks_a_number_after_repeated_failures(backend, http):
    path = "/api/v1/identity/check"
    for _ in range(5):
        status, _, _ = await call(http, backend.url, "POST", path,
                                  json={"application_number": LIU_YANG_APP, "id_last6": "999999"})
        assert status == 200
    # locked: even the right answer is refused, the same for an unknown number
    status, body, headers = await call(http, backend.url, "POST", path,
                                       json={"application_number": LIU_YANG_APP, "id_last6": "140515"})
    assert status == 429 and body["error"] == "too_many_attempts" and headers["Retry-After"]
    for _ in range(5):
        await call(http, backend.url, "POST", path,
                   json={"application_number": "SH20261105999999", "id_last6": "140515"})
    status, _, _ = await call(http, backend.url, "POST", path,
                              json={"application_number": "SH20261105999999", "id_last6": "140515"})
    assert status == 429
    # other numbers are not affected; a success clears earlier failures
    number = "SH20261124000045"
    for _ in range(4):
        await call(http, backend.url, "POST", path, json={"application_number": number, "id_last6": "000000"})
    status, body, _ = await call(http, backend.url, "POST", path,
                                 json={"application_number": number, "id_last6": "30028X"})
    assert status == 200 and body["match"] is True
    for _ in range(4):
        status, _, _ = await call(http, backend.url, "POST", path,
                                  json={"application_number": number, "id_last6": "000000"})
        assert status == 200


async def test_sms_to_the_applicant_and_to_a_phone(backend, http):
    path = "/api/v1/sms/send"
    status, body, _ = await call(http, backend.url, "POST", path, json={
        "application_number": LIU_YANG_APP, "template": "verification_code", "params": {"code": "482913"},
    })
    assert status == 200 and body["message_id"].startswith("sms-")
    assert last_code(backend.engine, "13810000004") == "482913"

    lines = [json.loads(x) for x in backend.outbox.read_text(encoding="utf-8").splitlines()]
    assert lines[-1]["message_id"] == body["message_id"]
    assert lines[-1]["phone_masked"] == "138****0004" and "482913" in lines[-1]["text"]
    assert "13810000004" not in backend.outbox.read_text(encoding="utf-8")

    status, body, _ = await call(http, backend.url, "POST", path, json={
        "phone": "138 1000 0002", "template": "verification_code", "params": {"code": 1234, "ttl_minutes": 10},
    })
    assert status == 200 and last_code(backend.engine, "13810000002") == "1234"
    assert "10分钟内有效" in last_message(backend.engine, "13810000002")["text"]

    status, body, _ = await call(http, backend.url, "POST", path, json={
        "application_number": "SH20261112004321", "template": "status_notice",
    })
    assert status == 200
    text = last_message(backend.engine, "13810000003")["text"]
    assert "SH20261112004321" in text and "补正材料" in text and "食品经营许可证核发" in text
    assert len(backend.outbox.read_text(encoding="utf-8").splitlines()) == 3


BAD_SMS = [
    ({"template": "verification_code", "params": {"code": "1234"}}, 400),  # no target
    ({"phone": "13810000001", "application_number": LIU_YANG_APP,
      "template": "verification_code", "params": {"code": "1234"}}, 400),  # both
    ({"person_id": "P0123456789abcdef01234567", "application_number": LIU_YANG_APP,
      "template": "verification_code", "params": {"code": "1234"}}, 400),  # two targets
    ({"person_id": "510107199502140515", "template": "verification_code",
      "params": {"code": "1234"}}, 400),  # an ID number is not a person_id
    ({"phone": "12345", "template": "verification_code", "params": {"code": "1234"}}, 400),
    ({"phone": 13810000001, "template": "verification_code", "params": {"code": "1234"}}, 400),
    ({"phone": "13810000001", "template": "free_text", "params": {"text": "hi"}}, 400),
    ({"phone": "13810000001", "template": "verification_code", "params": {"code": "12ab"}}, 400),
    ({"phone": "13810000001", "template": "verification_code", "params": {"code": "1234", "x": "1"}}, 400),
    ({"phone": "13810000001", "template": "verification_code", "params": {}}, 400),
    ({"phone": "13810000001", "template": "verification_code", "params": ["1234"]}, 400),
    ({"phone": "13810000001", "template": "verification_code",
      "params": {"code": "1234", "ttl_minutes": 99}}, 400),
    ({"phone": "13810000001", "template": "status_notice"}, 400),  # needs an application
    ({"phone": "13810000001", "template": None}, 400),
    ({"application_number": "SH20261105999999", "template": "status_notice"}, 404),
]


async def test_sms_rejects_bad_requests(backend, http):
    for body, expected in BAD_SMS:
        status, answer, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json=body)
        assert status == expected and _bilingual(answer), body
    assert not backend.outbox.exists()


async def test_sms_rate_limit_per_phone(make_backend, http):
    backend = await make_backend(sms_limit=2)
    body = {"phone": "13810000001", "template": "verification_code", "params": {"code": "1111"}}
    for _ in range(2):
        status, _, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json=body)
        assert status == 200
    status, answer, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json=body)
    assert status == 429 and answer["error"] == "too_many_messages"
    status, _, _ = await call(http, backend.url, "POST", "/api/v1/sms/send",
                              json={**body, "phone": "13810000002"})
    assert status == 200


async def test_body_size_is_limited(backend, http):
    big = {"application_number": LIU_YANG_APP, "id_last6": "140515", "pad": "x" * 20_000}
    status, body, _ = await call(http, backend.url, "POST", "/api/v1/identity/check", json=big)
    assert status == 413 and body["error"] == "payload_too_large"


async def test_unknown_routes_and_methods_answer_json(backend, http):
    async with http.get(backend.url + "/api/v1/nothing-here") as r:
        assert r.status == 404 and (await r.json())["error"] == "not_found"
    async with http.delete(backend.url + "/api/v1/identity/check") as r:
        assert r.status == 405 and (await r.json())["error"] == "method_not_allowed"
    async with http.get(backend.url + "/api/v1/identity/check") as r:
        assert r.status == 405


async def test_internal_errors_never_show_a_traceback(backend, http, monkeypatch, caplog):
    from standins.gov_backend import queries

    def broken(engine, number):
        raise RuntimeError(f"database exploded near {demo.LIU_YANG} / 13810000004")

    monkeypatch.setattr(queries, "application", broken)
    caplog.set_level(logging.INFO)
    add_masking_filter(caplog.handler)  # as configure_logging does for the process
    async with http.get(f"{backend.url}/api/v1/applications/{LIU_YANG_APP}") as r:
        assert r.status == 500
        text = await r.text()
    body = json.loads(text)
    assert body["error"] == "internal_error" and _bilingual(body)
    assert "Traceback" not in text and "RuntimeError" not in text and "exploded" not in text
    assert "RuntimeError" in caplog.text  # the details are in the log ...
    assert demo.LIU_YANG not in caplog.text and "13810000004" not in caplog.text  # ... masked
    assert "510107********0515" in caplog.text


async def test_log_lines_mask_id_and_phone_numbers(backend, http, caplog):
    """The stand-in's lines as its process writes them (masked on every handler by
    bot.logs.configure_logging, tests/bot/test_logs.py)."""
    caplog.set_level(logging.INFO)
    add_masking_filter(caplog.handler)
    for person in (p["id_number"] for p in demo.PEOPLE):
        async with http.get(f"{backend.url}/api/v1/people/{person}/applications") as r:
            assert r.status == 200
        async with http.get(f"{backend.url}/api/v1/licences", params={"holder": person}) as r:
            assert r.status == 200
    async with http.post(f"{backend.url}/api/v1/sms/send", json={
        "phone": "13810000005", "template": "verification_code", "params": {"code": "2468"},
    }) as r:
        assert r.status == 200
    async with http.post(f"{backend.url}/api/v1/identity/check", json={
        "application_number": LIU_YANG_APP, "id_last6": "140515",
    }) as r:
        assert r.status == 200
    text = caplog.text
    assert "/api/v1/people/510107********0515/applications" in text  # access log, masked
    assert "138****0005" in text
    for person in demo.PEOPLE:
        assert person["id_number"] not in text and person["phone"] not in text


def _counts(engine):
    tables = [m.people, m.enterprises, m.licences, m.applications, m.missing_materials,
              m.application_steps]
    with engine.connect() as conn:
        return [conn.execute(select(func.count()).select_from(t)).scalar() for t in tables]


async def test_seed_is_idempotent_and_runs_only_on_an_empty_database(backend, make_backend, database_url):
    first = _counts(backend.engine)
    assert first[:4] == [6, 3, len(demo.LICENCES), 12]
    assert demo.seed(backend.engine) == 0
    assert demo.seed_if_empty(backend.engine) == 0
    again = await make_backend(database_url)  # a second start on the same database
    assert _counts(again.engine) == first

    # a database holding a city's own data never receives demo rows
    from bot.db import engine_for

    other = engine_for(database_url.replace("test.db", "own.db")) if "sqlite" in database_url else None
    if other is not None:
        m.metadata.create_all(other)
        with other.begin() as conn:
            conn.execute(insert(m.people), [{"id_number": demo.make_id_number("310101", "20000101", "007"),
                                             "name": "钱七", "phone": "13900000000"}])
        assert demo.seed_if_empty(other) == 0
        assert _counts(other)[:4] == [1, 0, 0, 0]


#: Bodies no JSON parser or field check should turn into a 500: empty, blank, not JSON,
#: a JSON scalar, a lone surrogate in a field name (echoed in the error message), and a
#: body whose declared compression does not decompress; with the error each must get:
#: invalid_json when there is no JSON object to read, invalid_field for an object whose
#: field (here the surrogate's, or a field identity/check does not take) is refused.
MALFORMED_BODIES = [
    (b"", {}, "invalid_json"),
    (b"  \n\t", {}, "invalid_json"),
    (b"{", {}, "invalid_json"),
    (b"null", {}, "invalid_json"),
    (b'"text"', {}, "invalid_json"),
    (b'{"\\ud800": 1}', {}, "invalid_field"),
    (b'{"template": "verification_code", "phone": "13810000001", "params": {"\\udfff": 1}}', {},
     "invalid_field"),
    (b"not gzip at all", {"Content-Encoding": "gzip"}, "invalid_json"),
    (b"not deflate at all", {"Content-Encoding": "deflate"}, "invalid_json"),
]


@pytest.mark.parametrize("path", ["/api/v1/identity/check", "/api/v1/sms/send"])
async def test_malformed_or_empty_bodies_are_400_never_500(backend, path):
    for raw, headers, error in MALFORMED_BODIES:
        # A fresh connection each time: the server closes one whose body it could not read.
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {TOKEN}"},
            connector=aiohttp.TCPConnector(force_close=True),
        ) as session:
            status, body, _ = await call(session, backend.url, "POST", path, data=raw,
                                         headers={"Content-Type": "application/json", **headers})
        assert (status, body["error"]) == (400, error), raw
        assert _bilingual(body), raw
    assert not backend.outbox.exists()


async def test_identity_failures_lock_the_requester_not_the_number(backend, http):
    """A caller that names who asks (`requester`, opaque) gets a lock per requester: many
    strangers failing on a number never lock out the applicant, who has the right ID."""
    path = "/api/v1/identity/check"

    async def check(last6, requester=None):
        body = {"application_number": LIU_YANG_APP, "id_last6": last6}
        if requester:
            body["requester"] = requester
        return await call(http, backend.url, "POST", path, json=body)

    for stranger in ("stranger-0001", "stranger-0002", "stranger-0003"):
        for _ in range(5):
            status, body, _ = await check("999999", stranger)
            assert status == 200 and body["match"] is False
    status, body, headers = await check("140515", "stranger-0001")  # even the right ID
    assert status == 429 and body["error"] == "too_many_attempts" and headers["Retry-After"]
    status, body, _ = await check("140515", "the-owner-0001")
    assert status == 200 and body["match"] is True and body["phone_masked"] == "138****0004"
    # the owner's success does not hand the strangers fresh tries
    assert (await check("999999", "stranger-0002"))[0] == 429
    # a caller naming nobody shares one budget per number, as before
    assert (await check("140515"))[0] == 429
    for bad in ("short", "x" * 65, "no spaces here", 12345678):
        status, body, _ = await call(http, backend.url, "POST", path, json={
            "application_number": LIU_YANG_APP, "id_last6": "140515", "requester": bad})
        assert status == 400 and body["error"] == "invalid_field", bad


async def test_sms_limit_counts_per_requester(make_backend, http):
    """Strangers who got codes sent cannot spend the quota of the phone's owner."""
    backend = await make_backend(sms_limit=2)
    body = {"application_number": LIU_YANG_APP, "template": "verification_code",
            "params": {"code": "1111"}}
    for _ in range(2):
        status, _, _ = await call(http, backend.url, "POST", "/api/v1/sms/send",
                                  json={**body, "requester": "stranger-0001"})
        assert status == 200
    status, answer, _ = await call(http, backend.url, "POST", "/api/v1/sms/send",
                                   json={**body, "requester": "stranger-0001"})
    assert status == 429 and answer["error"] == "too_many_messages"
    for _ in range(2):
        status, _, _ = await call(http, backend.url, "POST", "/api/v1/sms/send",
                                  json={**body, "requester": "the-owner-0001"})
        assert status == 200
    # without a requester every message to the phone counts, as before
    status, _, _ = await call(http, backend.url, "POST", "/api/v1/sms/send", json=body)
    assert status == 429
    status, answer, _ = await call(http, backend.url, "POST", "/api/v1/sms/send",
                                   json={**body, "requester": "bad requester"})
    assert status == 400 and answer["error"] == "invalid_field"


async def test_databases_made_before_requesters_get_the_new_columns(tmp_path):
    """A backend database created before `requester` existed is upgraded at start."""
    from sqlalchemy import create_engine, inspect, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as conn:
        conn.execute(text("CREATE TABLE backend_identity_failures (id INTEGER PRIMARY KEY, "
                          "application_number VARCHAR(16) NOT NULL, at DATETIME NOT NULL)"))
        conn.execute(text("CREATE TABLE backend_sms_messages (id INTEGER PRIMARY KEY, "
                          "message_id VARCHAR(40) NOT NULL UNIQUE, phone VARCHAR(20) NOT NULL, "
                          "template VARCHAR(40) NOT NULL, params TEXT NOT NULL, text TEXT NOT NULL, "
                          "application_number VARCHAR(16), sent_at DATETIME NOT NULL)"))
    old.dispose()
    engine = m.engine_and_schema(url)
    inspector = inspect(engine)
    for table in ("backend_identity_failures", "backend_sms_messages"):
        assert "requester" in {c["name"] for c in inspector.get_columns(table)}
    m.engine_and_schema(url)  # idempotent
