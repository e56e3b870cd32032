"""Demo data of the stand-in backend: 6 people, 3 enterprises, licences, 12 applications.

Every person, number and company here is invented. The ID numbers and credit codes have
the real formats (with valid check characters) so the assistant's checks can be
exercised; the phones are 1381000000N. docs/backend.md lists them for testers.

`seed(engine)` inserts whatever is missing (by key) and nothing else, so it can run any
number of times; the app calls `seed_if_empty` at startup, so a database holding a city's
own data is never mixed with demo rows.

    .venv/bin/python -m standins.gov_backend.seed [--database-url URL]
"""
from __future__ import annotations

import argparse
import logging
from datetime import date, datetime
from typing import Dict, List, Tuple

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from standins.gov_backend import models as m
from standins.gov_backend.ids import make_credit_code, make_id_number

logger = logging.getLogger(__name__)

ZHANG_WEI = make_id_number("310101", "19880315", "031")  # 310101198803150311
LI_NA = make_id_number("310104", "19920708", "046")  # 310104199207080461
WANG_FANG = make_id_number("310115", "19851123", "128")  # 310115198511231281
LIU_YANG = make_id_number("510107", "19950214", "051")  # 510107199502140515
CHEN_JING = make_id_number("420106", "19980930", "028")  # 42010619980930028X
ZHAO_LEI = make_id_number("330106", "19791201", "017")  # 330106197912010175

PEOPLE: List[Dict] = [
    {"id_number": ZHANG_WEI, "name": "张伟", "phone": "13810000001"},
    {"id_number": LI_NA, "name": "李娜", "phone": "13810000002"},
    {"id_number": WANG_FANG, "name": "王芳", "phone": "13810000003"},
    {"id_number": LIU_YANG, "name": "刘洋", "phone": "13810000004"},
    {"id_number": CHEN_JING, "name": "陈静", "phone": "13810000005"},
    {"id_number": ZHAO_LEI, "name": "赵磊", "phone": "13810000006"},
]

SHENCHENG = make_credit_code("91", "310115", "MA1FL7Q2")
PUJIANG = make_credit_code("91", "310104", "MA1GB3K8")
LAONONGTANG = make_credit_code("91", "310101", "MAE4T6R1")

ENTERPRISES: List[Dict] = [
    {
        "credit_code": SHENCHENG,
        "name": "上海申城便利商贸有限公司",
        "legal_rep_id": ZHAO_LEI,
        "address": "上海市浦东新区张杨路1288号1层",
        "district": "浦东新区",
        "registered_on": date(2021, 6, 18),
        "status": "存续",
    },
    {
        "credit_code": PUJIANG,
        "name": "上海浦江云智科技有限公司",
        "legal_rep_id": LI_NA,
        "address": "上海市徐汇区虹漕路88号5幢301室",
        "district": "徐汇区",
        "registered_on": date(2019, 5, 20),
        "status": "存续",
    },
    {
        "credit_code": LAONONGTANG,
        "name": "上海老弄堂餐饮管理有限公司",
        "legal_rep_id": WANG_FANG,
        "address": "上海市黄浦区云南中路168号",
        "district": "黄浦区",
        "registered_on": date(2026, 11, 11),
        "status": "存续",
    },
]


def _licence(holder, licence_type, number, issuer, issued, until=None):
    return {
        "holder": holder,
        "holder_type": "enterprise" if holder in {SHENCHENG, PUJIANG, LAONONGTANG} else "person",
        "licence_type": licence_type,
        "licence_number": number,
        "issuer": issuer,
        "issued_on": issued,
        "valid_until": until,
    }


LICENCES: List[Dict] = [
    _licence(ZHANG_WEI, "居民身份证", ZHANG_WEI, "上海市公安局黄浦分局",
             date(2018, 4, 2), date(2038, 4, 2)),
    _licence(LI_NA, "居民身份证", LI_NA, "上海市公安局徐汇分局",
             date(2016, 9, 12), date(2026, 9, 12)),  # expired: renewal due
    _licence(WANG_FANG, "居民身份证", WANG_FANG, "上海市公安局浦东分局",
             date(2020, 1, 6), date(2040, 1, 6)),
    _licence(LIU_YANG, "居民身份证", LIU_YANG, "成都市公安局武侯区分局",
             date(2019, 7, 22), date(2029, 7, 22)),
    _licence(CHEN_JING, "居民身份证", CHEN_JING, "武汉市公安局武昌区分局",
             date(2021, 3, 15), date(2031, 3, 15)),
    _licence(ZHAO_LEI, "居民身份证", ZHAO_LEI, "杭州市公安局西湖区分局",
             date(2015, 12, 8), date(2035, 12, 8)),
    _licence(ZHANG_WEI, "结婚证", "J310104-2021-002318", "上海市徐汇区民政局",
             date(2021, 5, 20)),
    _licence(LI_NA, "结婚证", "J310104-2021-002318", "上海市徐汇区民政局",
             date(2021, 5, 20)),
    _licence(ZHANG_WEI, "不动产权证书", "沪(2019)黄字不动产权第004318号",
             "上海市黄浦区不动产登记事务中心", date(2019, 8, 14)),
    _licence(ZHAO_LEI, "不动产权证书", "沪(2026)浦字不动产权第031245号",
             "上海市浦东新区不动产登记事务中心", date(2026, 10, 27)),
    _licence(LI_NA, "机动车驾驶证", LI_NA, "上海市公安局交通警察总队",
             date(2016, 3, 1), date(2032, 3, 1)),
    _licence(ZHANG_WEI, "无犯罪记录证明", "沪公无犯证〔2026〕1118000777号",
             "上海市公安局黄浦分局", date(2026, 11, 18), date(2027, 2, 18)),
    _licence(SHENCHENG, "营业执照", SHENCHENG, "上海市浦东新区市场监督管理局",
             date(2021, 6, 18)),
    _licence(PUJIANG, "营业执照", PUJIANG, "上海市徐汇区市场监督管理局",
             date(2019, 5, 20)),
    _licence(LAONONGTANG, "营业执照", LAONONGTANG, "上海市黄浦区市场监督管理局",
             date(2026, 11, 11)),
    _licence(PUJIANG, "食品经营许可证", "JY13101040052317", "上海市徐汇区市场监督管理局",
             date(2022, 3, 9), date(2027, 3, 8)),
]


def _t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def _d(text: str) -> date:
    return datetime.strptime(text, "%Y-%m-%d").date()


def _app(number, code, name, applicant, submitted, status, department, due, steps,
         enterprise=None, result=None, reason=None, completed=None, missing=()):
    return {
        "row": {
            "number": number,
            "matter_code": code,
            "matter_name": name,
            "applicant_id": applicant,
            "enterprise_code": enterprise,
            "submitted_at": _t(submitted),
            "status": status,
            "department": department,
            "due_date": _d(due),
            "result": result,
            "result_reason": reason,
            "completed_at": _t(completed) if completed else None,
        },
        "steps": [
            {"step": s, "department": dep, "at": _t(at), "note": note}
            for s, dep, at, note in steps
        ],
        "missing": [
            {"name": n, "matter_code": c, "note": note} for n, c, note in missing
        ],
    }


LUJIAZUI = "浦东新区陆家嘴社区事务受理服务中心"
XUJIAHUI = "徐汇区徐家汇街道社区事务受理服务中心"
HUANGPU_SCJ = "上海市黄浦区市场监督管理局"
PUDONG_SCJ = "上海市浦东新区市场监督管理局"

APPLICATIONS: List[Dict] = [
    _app("SH20261105000123", "SH-P-001", "上海市居住证申领", LIU_YANG, "2026-11-05 09:32",
         "awaiting_pickup", LUJIAZUI, "2026-11-19", [
             ("受理", LUJIAZUI, "2026-11-05 09:32", None),
             ("审查中", "上海市公安局浦东分局", "2026-11-06 14:10", None),
             ("制证", "上海市公安局人口管理办公室", "2026-11-14 16:05", None),
             ("待领证", LUJIAZUI, "2026-11-17 10:20",
              "请携带居民身份证到受理窗口领取，或在随申办申请邮寄"),
         ]),
    _app("SH20261124000045", "SH-P-001", "上海市居住证申领", CHEN_JING, "2026-11-24 10:05",
         "accepted", XUJIAHUI, "2026-12-08", [
             ("受理", XUJIAHUI, "2026-11-24 10:05", None),
         ]),
    _app("SH20261028000642", "SH-P-010", "普通护照申请", ZHANG_WEI, "2026-10-28 15:47",
         "completed", "上海市公安局出入境管理局", "2026-11-06", [
             ("受理", "上海市公安局出入境管理局黄浦分局受理点", "2026-10-28 15:47", None),
             ("审查中", "上海市公安局出入境管理局", "2026-10-29 09:15", None),
             ("制证", "上海市公安局出入境管理局", "2026-11-02 11:30", None),
             ("办结", "上海市公安局出入境管理局", "2026-11-04 17:00", "证件已通过EMS寄出"),
         ], result="approved", completed="2026-11-04 17:00"),
    _app("SH20261110000357", "SH-E-001", "企业设立登记（开办企业）", WANG_FANG,
         "2026-11-10 13:20", "completed", HUANGPU_SCJ, "2026-11-11", [
             ("受理", HUANGPU_SCJ, "2026-11-10 13:20", "一网通办开办企业平台提交"),
             ("审查中", HUANGPU_SCJ, "2026-11-10 16:40", None),
             ("办结", HUANGPU_SCJ, "2026-11-11 10:05", "营业执照已发放，电子营业执照已归集"),
         ], enterprise=LAONONGTANG, result="approved", completed="2026-11-11 10:05"),
    _app("SH20261112004321", "SH-E-005", "食品经营许可证核发", WANG_FANG, "2026-11-12 10:48",
         "needs_supplement", HUANGPU_SCJ, "2026-12-04", [
             ("受理", HUANGPU_SCJ, "2026-11-12 10:48", None),
             ("审查中", HUANGPU_SCJ, "2026-11-13 09:30", None),
             ("补正材料", HUANGPU_SCJ, "2026-11-16 15:12",
              "请于2026-12-16前通过一网通办补正，补正期间不计入办理时限"),
         ], enterprise=LAONONGTANG, missing=[
             ("食品安全管理制度文本", "SH-E-005", "需包含进货查验、从业人员健康管理等制度"),
             ("从业人员健康证明", "SH-E-005", "2名从业人员的健康证明已过有效期"),
         ]),
    _app("SH20261103000456", "SH-P-005", "住房公积金提取（租房）", LI_NA, "2026-11-03 11:02",
         "completed", "上海市住房公积金管理中心徐汇管理部", "2026-11-04", [
             ("受理", "上海市住房公积金管理中心徐汇管理部", "2026-11-03 11:02", None),
             ("审查中", "上海市住房公积金管理中心徐汇管理部", "2026-11-03 15:30", None),
             ("办结", "上海市住房公积金管理中心徐汇管理部", "2026-11-04 10:15", "不予提取"),
         ], result="rejected", completed="2026-11-04 10:15",
         reason="经核查，申请人配偶名下在本市有自有住房，不符合租房提取条件。"
                "如有异议，可自收到通知之日起60日内申请行政复议。"),
    _app("SH20261020001234", "SH-P-019", "不动产登记（房屋转移登记）", ZHAO_LEI,
         "2026-10-20 09:05", "completed", "上海市浦东新区不动产登记事务中心", "2026-10-27", [
             ("受理", "上海市浦东新区不动产登记事务中心", "2026-10-20 09:05", None),
             ("审查中", "上海市浦东新区不动产登记事务中心", "2026-10-21 10:00", None),
             ("登簿", "上海市浦东新区不动产登记事务中心", "2026-10-26 16:20", None),
             ("办结", "上海市浦东新区不动产登记事务中心", "2026-10-27 09:40",
              "不动产权证书已生成电子证照"),
         ], result="approved", completed="2026-10-27 09:40"),
    _app("SH20261118000777", "SH-P-022", "无犯罪记录证明开具", ZHANG_WEI, "2026-11-18 09:12",
         "completed", "上海市公安局黄浦分局", "2026-11-19", [
             ("受理", "上海市公安局黄浦分局", "2026-11-18 09:12", "随申办在线申请"),
             ("办结", "上海市公安局黄浦分局", "2026-11-18 14:36", "电子证明已出具，可在随申办亮证"),
         ], result="approved", completed="2026-11-18 14:36"),
    _app("SH20261109000246", "SH-P-003", "社会保障卡申领", CHEN_JING, "2026-11-09 14:25",
         "awaiting_pickup", "上海市社会保障卡服务中心", "2026-11-30", [
             ("受理", XUJIAHUI, "2026-11-09 14:25", None),
             ("制卡", "上海市社会保障卡服务中心", "2026-11-16 10:00", None),
             ("待领证", XUJIAHUI, "2026-11-23 09:00", "请携带居民身份证到受理点领取社会保障卡"),
         ]),
    _app("SH20261119000888", "SH-P-025", "人才引进落户", CHEN_JING, "2026-11-19 10:30",
         "under_review", "上海市人才服务中心", "2026-12-17", [
             ("受理", "上海市人才服务中心", "2026-11-19 10:30", "用人单位网上申报"),
             ("审查中", "上海市人才服务中心", "2026-11-20 09:45", None),
         ]),
    _app("SH20261125000999", "SH-E-012", "行业综合许可证核发（一业一证）", ZHAO_LEI,
         "2026-11-25 16:18", "needs_supplement", PUDONG_SCJ, "2026-12-02", [
             ("受理", PUDONG_SCJ, "2026-11-25 16:18", "一业一证：便利店"),
             ("补正材料", PUDONG_SCJ, "2026-11-26 11:05",
              "请补正后在一网通办提交，补正期间不计入办理时限"),
         ], enterprise=SHENCHENG, missing=[
             ("食品安全管理制度文本", "SH-E-005", None),
             ("消防安全制度和灭火及应急疏散预案", "SH-E-014", None),
             ("经营场所平面布局图", "SH-E-012", "需标明货架、冷柜和消防通道位置"),
         ]),
    _app("SH20261121000555", "SH-P-017", "灵活就业登记", LIU_YANG, "2026-11-21 09:50",
         "completed", "上海市浦东新区就业促进中心", "2026-11-21", [
             ("受理", "上海市浦东新区就业促进中心", "2026-11-21 09:50", None),
             ("办结", "上海市浦东新区就业促进中心", "2026-11-21 11:20", "不予登记"),
         ], result="rejected", completed="2026-11-21 11:20",
         reason="经核查，申请人目前仍有单位缴纳的社会保险记录，不符合灵活就业登记条件。"
                "办理退工手续后可重新申请。"),
]


def seed(engine: Engine) -> int:
    """Inserts the demo rows that are missing (by key); returns how many were inserted
    (an application with its steps and missing materials counts as one)."""
    m.create_schema(engine)
    inserted = 0
    with engine.begin() as conn:
        for table, rows, key in (
            (m.people, PEOPLE, ("id_number",)),
            (m.enterprises, ENTERPRISES, ("credit_code",)),
            (m.licences, LICENCES, ("holder", "licence_type", "licence_number")),
        ):
            inserted += _insert(conn, table, _missing(conn, table, rows, key))
        new = _missing(conn, m.applications, [a["row"] for a in APPLICATIONS], ("number",))
        inserted += _insert(conn, m.applications, new)
        numbers = {row["number"] for row in new}
        for table, part in ((m.application_steps, "steps"), (m.missing_materials, "missing")):
            _insert(conn, table, [
                {**x, "application_number": a["row"]["number"], "position": i}
                for a in APPLICATIONS if a["row"]["number"] in numbers
                for i, x in enumerate(a[part])
            ])
    return inserted


def _missing(conn: Connection, table: Table, rows: List[Dict],
             key: Tuple[str, ...]) -> List[Dict]:
    """The rows whose key (the values of the columns named `key`) `table` lacks."""
    have = {tuple(r) for r in conn.execute(select(*(table.c[name] for name in key)))}
    return [row for row in rows if tuple(row[name] for name in key) not in have]


def _insert(conn: Connection, table: Table, rows: List[Dict]) -> int:
    if rows:
        conn.execute(insert(table), rows)
    return len(rows)


def seed_if_empty(engine: Engine) -> int:
    """Seeds the demo data only into a database without any people; returns rows added."""
    m.create_schema(engine)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(m.people)).scalar():
            return 0
    try:
        count = seed(engine)
    except IntegrityError:  # another process seeded at the same moment
        return 0
    logger.info("seeded the stand-in backend with %d demo records", count)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description="seed the stand-in backend's demo data")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    count = seed(m.engine_and_schema(args.database_url))
    print(f"inserted {count} demo records (0 means they were all there already)")


if __name__ == "__main__":
    main()
