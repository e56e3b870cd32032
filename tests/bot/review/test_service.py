"""The review service: labels reach the training data, the catalog and the audit log;
refusals change nothing. Real store, grouping and catalog on a temporary database."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.audit import AuditLog
from bot.catalog import Catalog, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.review import labels
from bot.review.service import ReviewError, ReviewService, RetrainRunner, domain_intents
from bot.review.store import ReviewStore
from bot.settings import ROOT


def _miss(event_id: int, text: str, kind: str = "fallback", **extra):
    now = time.time()
    row = {
        "event_id": event_id, "sender_id": f"s{event_id}", "timestamp": now,
        "day": time.strftime("%Y-%m-%d", time.localtime(now)), "kind": kind, "text": text,
        "intent": "nlu_fallback", "confidence": 0.4, "ranking": [], "entities": [],
        "matter_code": None, "unknown_matter": None, "channel": "rest", "model_id": "m1",
        "context": [],
    }
    row.update(extra)
    return row


@pytest.fixture
def service(database_url, tmp_path):
    store = ReviewStore.open(database_url)
    catalog_store = CatalogStore(engine_for(database_url))
    import_catalog(ROOT / "data" / "catalog", catalog_store)
    catalog = Catalog(catalog_store, ROOT / "data" / "reference", recheck_seconds=3600)
    return ReviewService(
        store=store, catalog=catalog, audit=AuditLog(engine_for(database_url)),
        intents=domain_intents(), reviewed_dir=tmp_path / "reviewed",
        aliases_file=tmp_path / "reviewed_aliases.yml",
        retrain=RetrainRunner(status_file=tmp_path / "status.json", lock_file=tmp_path / "lock",
                              log_file=tmp_path / "log"),
    )


def _ids(service: ReviewService):
    return sorted(m["id"] for m in service.store.misses(status="new"))


def test_labelling_a_group_as_an_intent_writes_training_data_and_audits(service, tmp_path):
    service.store.add_misses([
        _miss(1, "社保卡弄丢了咋补"), _miss(2, "社保卡掉了怎么补办"), _miss(3, "社保卡丢了去哪补"),
    ])
    groups = service.groups()
    assert groups and groups[0]["size"] == 3
    answer = service.label(groups[0]["ids"], "intent", "supervisor1", intent="ask_where_to_apply")
    assert answer["marked"] == 3
    written = yaml.safe_load((tmp_path / "reviewed" / "ask_where_to_apply.yml").read_text("utf-8"))
    texts = [e["text"].strip() for e in written["nlu"][0]["examples"]]
    assert sorted(texts) == sorted(["社保卡弄丢了咋补", "社保卡掉了怎么补办", "社保卡丢了去哪补"])
    assert service.groups() == []  # labelled messages leave the review queue
    entries = service.audit.entries(channel="desk")
    assert [(e.sender_id, e.event) for e in entries] == [("supervisor1", "review_label")]
    assert entries[0].result.startswith("intent:ask_where_to_apply")


def test_an_alias_is_found_by_search_at_once(service, tmp_path):
    service.store.add_misses([_miss(7, "医保卡没了咋整", kind="unknown_matter",
                                    unknown_matter="医保卡没了")])
    assert service.catalog.index().search("医保卡没了", limit=1) == []
    service.label(_ids(service), "alias", "supervisor1", matter_code="SH-P-004")  # 社会保障卡补换
    hits = service.catalog.index().search("医保卡没了", limit=1)
    assert hits and hits[0].matter.code == "SH-P-004"
    assert "医保卡没了" in service.catalog.index().get("SH-P-004").aliases
    assert "医保卡没了" in (tmp_path / "reviewed_aliases.yml").read_text("utf-8")  # training reads it
    # A second process on the same database sees it after its recheck.
    other = Catalog(service.catalog.store, service.catalog.reference_dir, recheck_seconds=0)
    assert "医保卡没了" in other.index().get("SH-P-004").aliases
    assert service.store.misses(status="new") == []


@pytest.mark.parametrize("action, kwargs", [
    ("intent", {"intent": "nlu_fallback"}),
    ("intent", {"intent": "no_such_intent"}),
    ("alias", {"matter_code": "NOPE", "alias": "随便"}),
    ("alias", {"matter_code": "", "alias": ""}),
    ("delete_everything", {}),
])
def test_refused_labels_change_nothing(service, tmp_path, action, kwargs):
    service.store.add_misses([_miss(1, "这个怎么弄啊")])
    with pytest.raises(ReviewError):
        service.label(_ids(service), action, "supervisor1", **kwargs)
    assert len(service.store.misses(status="new")) == 1
    assert not (tmp_path / "reviewed").exists() or not any((tmp_path / "reviewed").iterdir())
    assert service.audit.entries(channel="desk") == []


def test_noise_is_dismissed_without_training_data(service, tmp_path):
    service.store.add_misses([_miss(1, "啊啊啊啊"), _miss(2, "1111")])
    answer = service.label(_ids(service), "noise", "supervisor1")
    assert answer["marked"] == 2 and service.store.misses(status="new") == []
    assert not (tmp_path / "reviewed").exists() or not any((tmp_path / "reviewed").iterdir())


def test_messages_already_labelled_are_not_labelled_twice(service):
    service.store.add_misses([_miss(1, "明天会下雨吗")])
    ids = _ids(service)
    service.label(ids, "out_of_scope", "supervisor1")
    with pytest.raises(ReviewError) as refused:
        service.label(ids, "noise", "supervisor2")
    assert refused.value.status == 409


def test_one_retrain_at_a_time(service, tmp_path):
    """A training holding the retrain lock (here a child process, as `make retrain` would)
    blocks the button; a status file left 'training' by a killed run shows as failed."""
    holder = [sys.executable, "-c",
              "import fcntl, sys, time, json; h = open(sys.argv[1], 'a+'); "
              "fcntl.flock(h, fcntl.LOCK_EX); "
              "open(sys.argv[2], 'w').write(json.dumps({'state': 'training'})); time.sleep(60)",
              str(tmp_path / "lock"), str(tmp_path / "status.json")]
    service.retrain.command = holder
    assert service.start_retrain("supervisor1")["state"] in ("starting", "training")
    deadline = time.monotonic() + 20
    while service.retrain.status()["state"] != "training" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service.retrain.status()["state"] == "training"
    with pytest.raises(ReviewError) as refused:
        service.start_retrain("supervisor1")
    assert refused.value.status == 409
    service.retrain._process.kill()
    service.retrain._process.wait()
    assert service.retrain.status()["state"] == "failed"  # killed while 'training'
    assert [e.event for e in service.audit.entries(channel="desk")] == ["model_retrain"]


def test_label_intents_are_the_domains_without_the_fallback():
    intents = domain_intents()
    assert {"ask_materials", "out_of_scope", "complain"} <= intents
    assert "nlu_fallback" not in intents


def test_a_message_that_failed_twice_is_one_message_and_one_label_decides_both(service, tmp_path):
    service.store.add_misses([
        _miss(5, "我要办个火星签证", kind="unknown_matter", unknown_matter="火星签证"),
        _miss(5, "我要办个火星签证", kind="handoff_after_miss"),
    ])
    groups = service.groups()
    assert [(g["size"], g["kind"], len(g["ids"])) for g in groups] == [(1, "unknown_matter", 2)]
    assert groups[0]["kinds"] == {"unknown_matter": 1, "handoff_after_miss": 1}
    assert len(service.messages(groups[0]["ids"])) == 1
    answer = service.label(groups[0]["ids"][:1], "out_of_scope", "supervisor1")
    assert answer["marked"] == 2 and answer["written"]["written"] == 1
    assert service.store.misses(status="new") == []


def _result(action, ok=True):
    from bot.review.models import InstanceResult, PublishResult

    return PublishResult(action, ok, "loaded" if ok else "refused: heldout below", model="m.tar.gz",
                         instances=(InstanceResult("http://r1", ok, 204 if ok else None),))


def test_publishing_from_the_page_runs_once_at_a_time_and_is_audited(service, tmp_path):
    import threading

    from bot.review.service import ModelShipping

    release = threading.Event()
    calls = []

    def publish(**kwargs):
        calls.append(("publish", kwargs))
        release.wait(10)
        return _result("publish")

    service.shipping = ModelShipping(rasa_urls=["http://r1", "http://r2"], token="t",
                                     models=tmp_path, publish=publish,
                                     rollback=lambda **kw: _result("rollback", ok=False))
    assert service.start_shipping("publish", "supervisor1")["state"] == "running"
    with pytest.raises(ReviewError) as busy:
        service.start_shipping("rollback", "supervisor1")
    assert busy.value.status == 409
    release.set()
    service.shipping._thread.join(10)
    done = service.shipping.status()
    assert done["state"] == "done" and done["ok"] is True and done["instances"][0]["status"] == 204
    assert calls == [("publish", {"rasa_urls": ["http://r1", "http://r2"], "token": "t",
                                  "models": tmp_path, "by": "supervisor1"})]
    service.start_shipping("rollback", "supervisor1")
    service.shipping._thread.join(10)
    assert service.shipping.status()["ok"] is False
    assert [(e.event, e.result) for e in service.audit.entries(channel="desk")] == [
        ("model_publish", "started"), ("model_publish", "loaded"),
        ("model_rollback", "started"), ("model_rollback", "refused")]
    with pytest.raises(ReviewError):
        service.start_shipping("delete", "supervisor1")


def test_the_page_shows_the_retrain_reports_comparison(tmp_path):
    import json

    from bot.review.service import report_summary

    report = tmp_path / "c.json"
    report.write_text(json.dumps({"verdict": "refused", "reasons": ["heldout: macro_f1 below"], "sets": {
        "heldout": {"main": "macro_f1", "candidate": {"macro_f1": 0.95}, "current": {"macro_f1": 0.96},
                    "delta": {"macro_f1": -0.01}},
        "reviewed": {"main": "macro_f1", "skipped": "no examples"}}}), encoding="utf-8")
    summary = report_summary(report)
    assert summary["verdict"] == "refused" and summary["reasons"] == ["heldout: macro_f1 below"]
    assert summary["comparison"] == [
        {"set": "heldout", "metric": "macro_f1", "current": 0.96, "candidate": 0.95, "delta": -0.01},
        {"set": "reviewed", "metric": "macro_f1", "skipped": "no examples"}]
    assert report_summary(tmp_path / "missing.json") == {}
