"""The candidate's comparison with the model in service, its report, and the one-at-a-time
lock (rasa_ext/retrain.py). No model is trained or loaded: scores are made up."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from rasa_ext import retrain
from rasa_ext.retrain import (
    PUBLISHABLE, REFUSED, RetrainRunning, Status, build_report, cached_scores, compare,
    format_table, intent_scores, outside_scores, report_path, retrain_lock)


def scores(heldout=0.95, outside=0.90, reviewed=0.50, n_reviewed=12):
    return {
        "heldout": {"examples": 609, "accuracy": heldout, "macro_f1": heldout},
        "outside": {"examples": 408, "accuracy": outside, "kind_macro": outside,
                    "by_kind": {"chat": outside}},
        "reviewed": {"examples": n_reviewed, "accuracy": reviewed, "macro_f1": reviewed}
        if n_reviewed else None,
    }


def test_a_candidate_at_least_as_good_everywhere_is_publishable():
    result = compare(scores(0.96, 0.90, 0.95), scores(0.95, 0.90, 0.40))
    assert result["verdict"] == PUBLISHABLE and result["reasons"] == []
    assert result["sets"]["heldout"]["delta"]["macro_f1"] == pytest.approx(0.01)
    assert result["sets"]["outside"]["delta"]["kind_macro"] == 0.0
    assert result["sets"]["reviewed"]["delta"]["macro_f1"] == pytest.approx(0.55)


def test_any_set_that_drops_refuses_the_candidate_and_says_which():
    result = compare(scores(0.97, 0.8999, 1.0), scores(0.95, 0.90, 0.40))
    assert result["verdict"] == REFUSED
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("outside: kind_macro")


def test_the_tolerance_lets_a_small_drop_through_and_no_more():
    assert compare(scores(0.948), scores(0.95), tolerance=0.005)["verdict"] == PUBLISHABLE
    assert compare(scores(0.940), scores(0.95), tolerance=0.005)["verdict"] == REFUSED


def test_empty_sets_are_skipped_and_no_current_model_refuses_nothing():
    result = compare(scores(n_reviewed=0), scores(n_reviewed=0))
    assert result["sets"]["reviewed"] == {"main": "macro_f1", "skipped": "no examples"}
    assert result["verdict"] == PUBLISHABLE
    first = compare(scores(), None)
    assert first["verdict"] == PUBLISHABLE and first["sets"]["heldout"]["current"] is None


def test_the_report_names_both_files_and_the_table_shows_every_set(tmp_path):
    candidate = tmp_path / "candidates" / "20261205T190000Z.tar.gz"
    report = build_report(compare(scores(0.96, 0.89), scores(0.95, 0.90)),
                          candidate=candidate, candidate_sha256="c" * 64,
                          current=tmp_path / "govbot.tar.gz", current_sha256="a" * 64,
                          created_at="2026-12-05T19:00:00Z")
    json.dumps(report)  # serialisable as it is written
    assert report["verdict"] == REFUSED
    assert {"created_at", "candidate", "candidate_sha256", "current", "current_sha256",
            "sets", "tolerance", "verdict", "reasons"} <= set(report)
    assert report_path(candidate) == candidate.with_name("20261205T190000Z.json")
    table = format_table(report)
    for name in ("heldout", "outside", "reviewed"):
        assert name in table
    assert "+0.0100" in table and "-0.0100" in table and "<- below" in table
    assert "verdict: refused" in table and "outside: kind_macro 0.8900" in table


def test_scores_from_predictions():
    assert intent_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == {
        "examples": 4, "accuracy": 0.75, "macro_f1": pytest.approx(0.7333, abs=1e-4)}
    records = [{"kind": "complaint", "intent": "complain"}, {"kind": "chat", "intent": "chitchat"},
               {"kind": "chat", "intent": "chitchat"}, {"kind": "question", "intent": "ask_fee"}]
    result = outside_scores(records, ["complain", "greet", "nlu_fallback", "ask_online"])
    assert result["by_kind"] == {"chat": 0.5, "complaint": 1.0, "question": 0.0}
    assert result["accuracy"] == 0.5 and result["kind_macro"] == 0.5


def test_the_current_models_scores_are_computed_once_per_set_content(tmp_path, monkeypatch):
    calls = []

    def fake_predict(model, sets):
        calls.append(sorted(sets))
        return {name: list(data["gold"]) for name, data in sets.items()}

    monkeypatch.setattr(retrain, "predict", fake_predict)
    sets = {"heldout": {"texts": ["x", "y"], "gold": ["a", "b"], "digest": "1"},
            "reviewed": {"texts": [], "gold": [], "digest": "0"}}
    first = cached_scores(tmp_path, Path("m.tar.gz"), "f" * 64, sets)
    again = cached_scores(tmp_path, Path("m.tar.gz"), "f" * 64, sets)
    assert first == again and first["heldout"]["macro_f1"] == 1.0 and first["reviewed"] is None
    assert calls == [["heldout", "reviewed"]]
    sets["reviewed"] = {"texts": ["z"], "gold": ["c"], "digest": "2"}  # a supervisor labelled one
    cached_scores(tmp_path, Path("m.tar.gz"), "f" * 64, sets)
    assert calls[-1] == ["reviewed"]


def _try_lock(path: str, queue) -> None:
    try:
        with retrain_lock(Path(path)):
            queue.put("got it")
    except RetrainRunning as error:
        queue.put(f"refused: {error}")


def test_the_lock_refuses_a_second_run_and_is_free_again_after(tmp_path):
    lock = tmp_path / ".retrain.lock"
    queue = multiprocessing.get_context("fork").Queue()
    with retrain_lock(lock):
        with pytest.raises(RetrainRunning):
            with retrain_lock(lock):
                pass
        other = multiprocessing.get_context("fork").Process(target=_try_lock, args=(str(lock), queue))
        other.start()
        other.join(30)
        assert queue.get(timeout=5).startswith("refused: a retrain is already running")
    with retrain_lock(lock):  # released
        pass


def test_a_second_retrain_is_refused_before_it_touches_the_status(tmp_path):
    status_file = tmp_path / "status.json"
    with retrain_lock(tmp_path / ".retrain.lock"):
        with pytest.raises(RetrainRunning):
            retrain.retrain(models=tmp_path, status=Status(status_file))
    assert not status_file.exists()


def test_a_failed_run_says_so_in_the_status_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("training failed (exit 1)")

    monkeypatch.setattr(retrain, "evaluation_sets", lambda: {})
    monkeypatch.setattr(retrain, "train_candidate", broken)
    status_file = tmp_path / "status.json"
    with pytest.raises(RuntimeError):
        retrain.retrain(models=tmp_path, status=Status(status_file))
    status = json.loads(status_file.read_text())
    assert status["state"] == "failed" and "training failed" in status["error"]
    assert status["started_at"] and status["verdict"] is None


def test_a_whole_run_writes_the_report_beside_the_candidate_and_caches_the_current_model(tmp_path, monkeypatch):
    """Training and prediction faked: the candidate reads one reviewed example right that
    the current model got wrong, and nothing else changes."""
    (tmp_path / "govbot.tar.gz").write_bytes(b"current model")
    sets = {"heldout": {"texts": ["a1", "b1"], "gold": ["a", "b"], "digest": "h"},
            "outside": {"texts": ["c1"], "records": [{"kind": "complaint", "intent": "complain"}],
                        "digest": "o"},
            "reviewed": {"texts": ["r1"], "gold": ["a"], "digest": "r"}}
    predicted = []

    def fake_train(candidates, stamp, log):
        candidates.mkdir(parents=True, exist_ok=True)
        (candidates / f"{stamp}.tar.gz").write_bytes(b"candidate model")
        return candidates / f"{stamp}.tar.gz"

    def fake_predict(model, wanted):
        predicted.append(model.name)
        new = model.name != "govbot.tar.gz"
        answers = {"heldout": ["a", "b"], "outside": ["complain"], "reviewed": ["a" if new else "b"]}
        return {name: answers[name] for name in wanted}

    monkeypatch.setattr(retrain, "evaluation_sets", lambda: sets)
    monkeypatch.setattr(retrain, "train_candidate", fake_train)
    monkeypatch.setattr(retrain, "predict", fake_predict)
    status_file = tmp_path / "status.json"
    report = retrain.retrain(models=tmp_path, status=Status(status_file))
    candidate = Path(report["candidate"])
    assert candidate.parent == tmp_path / "candidates" and candidate.name.endswith("Z.tar.gz")
    assert json.loads(report_path(candidate).read_text()) == report
    assert report["verdict"] == PUBLISHABLE
    assert report["sets"]["reviewed"]["delta"]["macro_f1"] == 1.0
    assert report["current_sha256"] == retrain.sha256_of(tmp_path / "govbot.tar.gz")
    status = json.loads(status_file.read_text())
    assert status["state"] == "done" and status["verdict"] == PUBLISHABLE
    assert status["candidate"] == str(candidate)
    # a second comparison evaluates only the candidate: the current model's scores are cached
    predicted.clear()
    retrain.retrain(models=tmp_path, status=Status(status_file), candidate=candidate)
    assert predicted == []  # both cached by sha256 now
    assert len(list((tmp_path / "reports").glob("*.json"))) == 2
