"""Publishing a candidate and rolling back (bot/review/models.py) against fake Rasa
instances: small HTTP servers that answer PUT /model and GET /status as Rasa does. The
"models" are tiny archives holding only Rasa's metadata.json."""
from __future__ import annotations

import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.review import models
from bot.review.models import (
    CURRENT_NAME, history_models, model_id_of, publish, rasa_urls_from, refusal, rollback,
    sha256_of)

TOKEN = "test-token-" + "x" * 20


def make_model(path: Path, model_id: str) -> Path:
    """An archive laid out like Rasa's: metadata.json with the model's id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, content in (("metadata.json", json.dumps({"model_id": model_id}).encode()),
                              ("components/x.bin", model_id.encode() * 100)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def write_report(candidate: Path, current: Path, verdict: str = "publishable", reasons=()) -> None:
    report = {"candidate": str(candidate), "candidate_sha256": sha256_of(candidate),
              "current": str(current), "current_sha256": sha256_of(current),
              "verdict": verdict, "reasons": list(reasons), "sets": {}, "tolerance": 0.0}
    models.report_path(candidate).write_text(json.dumps(report))


class FakeRasa:
    """Rasa's model API in miniature: PUT /model loads the file it names (reads its id),
    GET /status says which one is loaded; `fail` makes PUT answer 500."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.requests: list = []
        self.loaded: dict = {"model_file": "govbot.tar.gz", "model_id": "boot"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(("PUT", self.path, self.headers.get("Authorization"), body))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, {"reason": "NotAuthenticated"})
                if fake.fail:
                    return self._answer(500, {"reason": "LoadingError"})
                path = Path(body["model_file"])
                fake.loaded = {"model_file": path.name, "model_id": model_id_of(path)}
                self._answer(204)

            def do_GET(self):
                fake.requests.append(("GET", self.path, self.headers.get("Authorization"), None))
                self._answer(200, fake.loaded)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def puts(self):
        return [r for r in self.requests if r[0] == "PUT"]


@pytest.fixture
def rasas():
    servers = [FakeRasa(), FakeRasa()]
    yield servers
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def tree(tmp_path):
    """models/ with a model in service (id 'old') and a candidate (id 'new')."""
    current = make_model(tmp_path / CURRENT_NAME, "old")
    candidate = make_model(tmp_path / "candidates" / "20261205T190000Z.tar.gz", "new")
    return tmp_path, current, candidate


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_a_candidate_whose_report_shows_a_drop_is_refused_and_nothing_changes(tree, rasas):
    root, current, candidate = tree
    write_report(candidate, current, "refused", ["outside: kind_macro 0.8900 is below the current model's 0.9000"])
    before = snapshot(root)
    result = publish(candidate, rasa_urls=[r.url for r in rasas], token=TOKEN, models=root)
    assert not result.installed and not result.ok
    assert "refused" in result.message and "outside: kind_macro 0.8900" in result.message
    assert snapshot(root) == before
    assert all(r.requests == [] for r in rasas)


def test_no_report_a_changed_file_or_a_stale_comparison_is_refused(tree, rasas):
    root, current, candidate = tree
    urls = [r.url for r in rasas]
    assert "no report" in publish(candidate, rasa_urls=urls, token=TOKEN, models=root).message
    write_report(candidate, current)
    make_model(candidate, "tampered")
    assert "not the one its report evaluated" in publish(candidate, rasa_urls=urls, token=TOKEN, models=root).message
    write_report(candidate, current)
    make_model(current, "published-since")
    assert "another model than the one in service" in \
        publish(candidate, rasa_urls=urls, token=TOKEN, models=root).message
    assert all(r.requests == [] for r in rasas)
    assert model_id_of(root / CURRENT_NAME) == "published-since"


def test_refusal_reasons_are_pure():
    good = {"verdict": "publishable", "candidate_sha256": "c", "current_sha256": "a"}
    assert refusal(good, "c", "a") is None
    assert refusal(None, "c", "a").startswith("the candidate has no report")
    assert "'refused'" in refusal({**good, "verdict": "refused", "reasons": ["x dropped"]}, "c", "a")
    assert refusal({**good, "current_sha256": None}, "c", None) is None  # first model ever


def test_a_publishable_candidate_is_installed_kept_in_history_and_loaded_everywhere(tree, rasas):
    root, current, candidate = tree
    old_bytes, new_bytes = current.read_bytes(), candidate.read_bytes()
    write_report(candidate, current)
    result = publish(None, rasa_urls=[r.url for r in rasas], token=TOKEN, models=root, by="supervisor1")
    assert result.ok and result.installed, result.message
    assert (root / CURRENT_NAME).read_bytes() == new_bytes
    assert result.sha256 == sha256_of(candidate) and result.model_id == "new"
    history = history_models(root)
    assert [str(p) for p in history] == [result.previous] and history[0].read_bytes() == old_bytes
    assert history[0].name.endswith(f"-{sha256_of(history[0])[:8]}.tar.gz")
    assert not list(root.glob(".govbot-*"))  # no temporary file left behind
    for rasa in rasas:
        (method, path, auth, body), = rasa.puts()
        assert (path, auth) == ("/model", f"Bearer {TOKEN}")
        assert body == {"model_file": str((root / CURRENT_NAME).resolve())}
        assert rasa.loaded["model_id"] == "new"
    assert [i.loaded for i in result.instances] == [True, True]
    log = [json.loads(line) for line in (root / "published.jsonl").read_text().splitlines()]
    assert log[-1]["action"] == "publish" and log[-1]["by"] == "supervisor1"
    assert log[-1]["sha256"] == result.sha256 and log[-1]["verdict"] == "publishable"
    assert [i["loaded"] for i in log[-1]["instances"]] == [True, True]


def test_the_model_in_service_is_replaced_by_one_rename(tree, rasas, monkeypatch):
    """At every step govbot.tar.gz is one whole model: the new file is written under
    another name and renamed over the old one."""
    root, current, candidate = tree
    write_report(candidate, current)
    seen = []
    real_replace = models.os.replace

    def watching_replace(source, target):
        seen.append((Path(source).name, Path(target).name, model_id_of(root / CURRENT_NAME)))
        return real_replace(source, target)

    monkeypatch.setattr(models.os, "replace", watching_replace)
    publish(candidate, rasa_urls=[rasas[0].url], token=TOKEN, models=root)
    (source, target, before), = seen
    assert source.startswith(".govbot-") and target == CURRENT_NAME and before == "old"


def test_an_instance_that_fails_or_does_not_answer_is_reported(tree, rasas):
    root, current, candidate = tree
    write_report(candidate, current)
    rasas[1].fail = True
    urls = [rasas[0].url, rasas[1].url, "http://127.0.0.1:9"]  # port 9: nobody listens
    result = publish(candidate, rasa_urls=urls, token=TOKEN, models=root)
    assert result.installed and not result.ok
    assert result.failed_instances == urls[1:]
    assert result.instances[1].status == 500 and "LoadingError" in result.instances[1].detail
    assert "NOT loaded by" in result.message and rasas[1].url in result.message
    assert rasas[0].loaded["model_id"] == "new"


def test_an_instance_with_another_token_refuses_and_is_reported(tree, rasas):
    root, current, candidate = tree
    write_report(candidate, current)
    result = publish(candidate, rasa_urls=[rasas[0].url], token="wrong-token", models=root)
    assert result.installed and not result.ok and result.instances[0].status == 401


def test_rollback_restores_the_previous_model_and_can_be_undone(tree, rasas):
    root, current, candidate = tree
    urls = [r.url for r in rasas]
    old_bytes, new_bytes = current.read_bytes(), candidate.read_bytes()
    write_report(candidate, current)
    assert publish(candidate, rasa_urls=urls, token=TOKEN, models=root).ok

    back = rollback(rasa_urls=urls, token=TOKEN, models=root)
    assert back.ok, back.message
    assert (root / CURRENT_NAME).read_bytes() == old_bytes
    assert all(r.loaded["model_id"] == "old" for r in rasas)
    assert [p.read_bytes() for p in history_models(root)] == [new_bytes]  # the replaced one

    undo = rollback(rasa_urls=urls, token=TOKEN, models=root)
    assert undo.ok and (root / CURRENT_NAME).read_bytes() == new_bytes
    assert all(r.loaded["model_id"] == "new" for r in rasas)
    assert [p.read_bytes() for p in history_models(root)] == [old_bytes]
    actions = [json.loads(l)["action"] for l in (root / "published.jsonl").read_text().splitlines()]
    assert actions == ["publish", "rollback", "rollback"]


def test_rollback_with_no_history_changes_nothing(tree, rasas):
    root, _, _ = tree
    before = snapshot(root)
    result = rollback(rasa_urls=[rasas[0].url], token=TOKEN, models=root)
    assert not result.installed and "nothing to roll back to" in result.message
    assert snapshot(root) == before and rasas[0].requests == []


def test_rasa_urls_come_from_a_comma_separated_list_or_the_default():
    assert rasa_urls_from("http://a:5005/, http://b:5005", "http://x") == ["http://a:5005", "http://b:5005"]
    assert rasa_urls_from(None, "http://127.0.0.1:5005/") == ["http://127.0.0.1:5005"]
    assert rasa_urls_from(" , ", "http://x") == ["http://x"]


def test_the_cli_lists_candidates_with_their_verdicts(tree, capsys):
    root, current, candidate = tree
    write_report(candidate, current, "refused", ["heldout: macro_f1 dropped"])
    assert models.main(["--models", str(root), "list"]) == 0
    out = capsys.readouterr().out
    assert "20261205T190000Z.tar.gz  refused  (heldout: macro_f1 dropped)" in out
