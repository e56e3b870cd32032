"""The supervisor's review of what the bot failed: one service per operation the review
page offers (see the groups, open one, label, retrain), so the desk's handlers stay thin.

A label changes what the bot will learn, so every label is checked here (known intent,
messages still waiting for review, the alias's matter in the catalog), written where the
training reads it (bot/review/labels.py), marked on the captured messages so they leave
the queue, and recorded in the audit log with who did it.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections import Counter
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.audit import AuditLog
from bot.catalog import Catalog
from bot.dialogue import texts
from bot.review import grouping, labels
from bot.review import models as model_files
from bot.review.store import ReviewStore
from bot.settings import ROOT, VAR_DIR

#: The review's refusals (data/texts/review.yml).
TEXTS = texts.load("review", {
    "no_messages": (), "unknown_action": ("action",), "unknown_intent": ("intent",),
    "no_matter": ("code",), "alias_missing": (), "alias_too_long": ("limit",),
    "alias_exists": (), "retrain_running": (), "no_group": (), "shipping_running": (),
    "shipping_off": (),
})

#: What a supervisor can do with a group or messages.
ACTIONS = ("intent", "alias", "out_of_scope", "noise")
#: Intents a label may not name: the fallback is what the bot says when it does not know.
NOT_LABELS = frozenset({"nlu_fallback"})
MAX_ALIAS = 30
#: The review looks back this far by default; older misses stay stored for the measures.
DEFAULT_DAYS = 14


class ReviewError(Exception):
    """A label or request the service refuses; `status` is the HTTP status the desk uses."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def domain_intents(domain_file: Path = ROOT / "domain.yml") -> FrozenSet[str]:
    """The intents a label may name: the domain's, read as plain YAML (no Rasa here)."""
    data = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    names = set()
    for item in data.get("intents", []):
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return frozenset(names - NOT_LABELS)


def written_summary(result: labels.WriteResult) -> Dict[str, Any]:
    """What the page tells the supervisor about the training data a label produced:
    how many examples were written, and why the others were not."""
    return {
        "path": str(result.path), "written": len(result.written),
        "skipped_duplicates": len(result.skipped_duplicates),
        "refused_evaluation": len(result.refused_evaluation),
        "conflicts": [{"text": text, "intents": intents} for text, intents in result.conflicts],
        "dropped_annotations": len(result.dropped_annotations),
    }


def one_row_per_message(
    misses: Sequence[Mapping[str, Any]],
) -> Tuple[List[Mapping[str, Any]], Dict[int, List[int]]]:
    """One row per citizen's message (capture keeps a row per way a message failed), and
    for each kept row the ids of all rows of its message. The unknown-matter row is kept
    when there is one: it carries the name citizens used, which groups by name."""
    by_event: Dict[Any, List[Mapping[str, Any]]] = {}
    for miss in misses:
        by_event.setdefault(miss.get("event_id", miss["id"]), []).append(miss)
    rows, siblings = [], {}
    for same in by_event.values():
        kept = next((m for m in same if m.get("kind") == "unknown_matter"), same[0])
        rows.append(kept)
        siblings[int(kept["id"])] = sorted(int(m["id"]) for m in same)
    return rows, siblings


def _public_miss(miss: Mapping[str, Any]) -> Dict[str, Any]:
    keys = ("id", "kind", "text", "intent", "confidence", "matter_code", "unknown_matter",
            "channel", "day", "timestamp", "context", "status")
    return {k: miss.get(k) for k in keys}


def report_summary(path: Path) -> Dict[str, Any]:
    """The comparison a retrain report holds (rasa_ext/retrain.py), as the page shows it:
    per set the deciding score of the model in service and of the candidate, and the
    reasons of a refusal. Nothing when the report cannot be read."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    rows = []
    for name, entry in (report.get("sets") or {}).items():
        metric = entry.get("main")
        if entry.get("skipped"):
            rows.append({"set": name, "metric": metric, "skipped": entry["skipped"]})
            continue
        current = (entry.get("current") or {}).get(metric)
        rows.append({"set": name, "metric": metric, "current": current,
                     "candidate": (entry.get("candidate") or {}).get(metric),
                     "delta": (entry.get("delta") or {}).get(metric)})
    return {"comparison": rows, "reasons": list(report.get("reasons") or []),
            "verdict": report.get("verdict")}


#: A candidate training is under way in one of these states (rasa_ext/retrain.py).
BUSY = ("starting", "training", "evaluating")


@dataclass
class RetrainRunner:
    """Starts `python -m rasa_ext.retrain` apart from the web app (training takes minutes
    and both cores; the web app must keep serving) and reads the status file it writes.

    Whether a training runs is the retrain's own lock (models/.retrain.lock, flock), not
    this object's memory: a `make retrain` started from a terminal counts too, and a
    status file left "training" by a killed run is shown as failed."""

    #: Where `make retrain` writes too (rasa_ext/retrain.py's default), so the page shows
    #: a training started from the command line as well.
    status_file: Path = ROOT / "models" / "retrain-status.json"
    lock_file: Path = ROOT / "models" / ".retrain.lock"
    command: Sequence[str] = ()
    log_file: Path = VAR_DIR / "retrain.log"
    _process: Optional[subprocess.Popen] = field(default=None, repr=False)

    def _locked(self) -> bool:
        """True while some process holds the retrain lock (tried without waiting)."""
        try:
            with open(self.lock_file, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
                return False
        except OSError:
            return False

    def _starting(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def running(self) -> bool:
        return self._starting() or self._locked()

    def status(self) -> Dict[str, Any]:
        try:
            data = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data.setdefault("state", "idle")
        if self._locked():
            return data  # the training that holds the lock says where it is
        if self._starting():
            return {**data, "state": "starting"}
        if data["state"] in BUSY:
            data["state"] = "failed"  # it ended without saying so: see the log
        if data["state"] == "done" and data.get("report"):
            data.update(report_summary(Path(str(data["report"]))))
        return data

    def start(self) -> Dict[str, Any]:
        if self.running():
            raise ReviewError(409, TEXTS("retrain_running"))
        command = list(self.command) or [
            sys.executable, "-m", "rasa_ext.retrain", "--status-file", str(self.status_file)]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy())
        return self.status()


@dataclass
class ModelShipping:
    """Publishing a candidate or rolling back from the page, one at a time, in a thread:
    each Rasa instance takes about half a minute to load a model, longer than a browser
    request should wait (and than the edge's read timeout). bot/review/models.py does the
    work and its checks (a candidate must be publishable, unchanged and compared with the
    model in service); this keeps the last outcome for the page."""

    rasa_urls: Sequence[str]
    token: str
    models: Path = field(default_factory=lambda: model_files.MODELS)
    publish: Callable[..., model_files.PublishResult] = model_files.publish
    rollback: Callable[..., model_files.PublishResult] = model_files.rollback
    _thread: Optional[threading.Thread] = field(default=None, repr=False)
    _last: Dict[str, Any] = field(default_factory=lambda: {"state": "idle"}, repr=False)

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> Dict[str, Any]:
        return dict(self._last)

    def start(self, action: str, by: str, started: Callable[[], None],
              done: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
        """Starts `action` unless one runs; `started` runs before the work begins and
        `done` with its outcome (so an audit log reads in the order things happened)."""
        if action not in ("publish", "rollback"):
            raise ReviewError(400, TEXTS("unknown_action", action=str(action)[:20]))
        if self.running():
            raise ReviewError(409, TEXTS("shipping_running"))
        self._last = {"state": "running", "action": action, "by": by, "started_at": time.time()}
        started()

        def work() -> None:
            kwargs = {"rasa_urls": list(self.rasa_urls), "token": self.token,
                      "models": self.models, "by": by}
            try:
                result = (self.publish if action == "publish" else self.rollback)(**kwargs)
                outcome = {**asdict(result), "ok": result.ok}
            except Exception as exc:  # noqa: BLE001 - the page must learn it failed
                outcome = {"action": action, "installed": False, "ok": False, "message": str(exc)}
            self._last = {**self._last, **outcome, "state": "done", "ended_at": time.time()}
            done(self._last)

        self._thread = threading.Thread(target=work, name=f"model-{action}", daemon=True)
        self._thread.start()
        return self.status()


@dataclass
class ReviewService:
    store: ReviewStore
    catalog: Catalog
    audit: AuditLog
    intents: FrozenSet[str]
    # Read when the service is made (not at import) so tests can point them elsewhere.
    reviewed_dir: Path = field(default_factory=lambda: labels.REVIEWED_DIR)
    aliases_file: Path = field(default_factory=lambda: labels.REFERENCE_ALIASES)
    retrain: RetrainRunner = field(default_factory=RetrainRunner)
    shipping: Optional[ModelShipping] = None
    clock: Any = time.time
    _groups: Dict[str, grouping.Group] = field(default_factory=dict, repr=False)

    # -- reading -------------------------------------------------------------------

    def groups(self, days: int = DEFAULT_DAYS) -> List[Dict[str, Any]]:
        """Misses waiting for review in the last `days`, grouped, largest first."""
        misses = self.store.misses(since=self.clock() - days * 86400, status="new")
        rows, siblings = one_row_per_message(misses)
        found = grouping.group_misses(rows)
        self._groups = {g.key: g for g in found}
        kinds = {int(m["id"]): m["kind"] for m in misses}
        out = []
        for group in found:
            data = group.as_dict()
            data["ids"] = sorted(i for rid in group.ids for i in siblings[rid])
            data["kinds"] = dict(Counter(kinds[i] for i in data["ids"]))
            out.append(data)
        return out

    def messages(self, ids: Sequence[int]) -> List[Dict[str, Any]]:
        rows, _ = one_row_per_message(self.store.by_ids(list(ids)))
        return [_public_miss(m) for m in rows]

    def group_messages(self, key: str) -> List[Dict[str, Any]]:
        group = self._groups.get(key)
        if group is None:
            self.groups()
            group = self._groups.get(key)
        if group is None:
            raise ReviewError(404, TEXTS("no_group"))
        return self.messages(group.ids)

    def measures(self, days: int = 30) -> Dict[str, Any]:
        """The store's measures, each matter with its name (supervisors know names)."""
        data = self.store.measures(self.clock() - days * 86400)
        index = self.catalog.index()
        for entry in data.get("matters", []):
            matter = index.get(entry.get("matter_code") or "")
            entry["name"] = matter.name if matter else None
        return data

    # -- labelling -----------------------------------------------------------------

    def label(self, ids: Sequence[int], action: str, by: str, *, intent: str = "",
              matter_code: str = "", alias: str = "") -> Dict[str, Any]:
        """Applies one supervisor decision to messages still waiting for review."""
        if action not in ACTIONS:
            raise ReviewError(400, TEXTS("unknown_action", action=str(action)[:20]))
        misses = self._with_siblings(ids)
        if not misses:
            raise ReviewError(409, TEXTS("no_messages"))
        if action == "noise":
            return self._finish(misses, "dismissed", {"action": "noise"}, by, "noise")
        if action == "alias":
            return self._alias(misses, matter_code, alias, by)
        name = "out_of_scope" if action == "out_of_scope" else intent
        if name not in self.intents:
            raise ReviewError(400, TEXTS("unknown_intent", intent=str(name)[:40]))
        now = self.clock()
        examples = [labels.Example(
            text=m["text"], entities=list(m.get("entities") or []), miss_id=int(m["id"]),
            labelled_by=by, labelled_at=now, channel=m.get("channel"),
        ) for m in misses]
        try:
            result = labels.write_examples(name, examples, self.reviewed_dir)
        except labels.LabelRefused:
            raise ReviewError(400, TEXTS("unknown_intent", intent=name[:40])) from None
        answer = self._finish(misses, "labelled", {"action": "intent", "intent": name}, by,
                              f"intent:{name}")
        answer["written"] = written_summary(result)
        return answer

    def _with_siblings(self, ids: Sequence[int]) -> List[Dict[str, Any]]:
        """The misses of these ids still waiting, with the other rows of the same
        messages (a message that failed in two ways has two rows; one label decides both)."""
        chosen = [m for m in self.store.by_ids(list(ids)) if m.get("status") == "new"]
        events = {m["event_id"] for m in chosen}
        seen = {int(m["id"]) for m in chosen}
        others = [m for m in self.store.misses(status="new")
                  if m["event_id"] in events and int(m["id"]) not in seen]
        return chosen + others

    def _alias(self, misses: List[Mapping[str, Any]], code: str, alias: str,
               by: str) -> Dict[str, Any]:
        alias = (alias or next((m.get("unknown_matter") for m in misses
                                if m.get("unknown_matter")), "") or "").strip()
        if not alias:
            raise ReviewError(400, TEXTS("alias_missing"))
        if len(alias) > MAX_ALIAS:
            raise ReviewError(400, TEXTS("alias_too_long", limit=MAX_ALIAS))
        if self.catalog.index().get(code) is None:
            raise ReviewError(400, TEXTS("no_matter", code=str(code)[:40]))
        added = labels.add_alias(self.catalog.store, code, alias, by, mirror=self.aliases_file)
        if not added:
            raise ReviewError(409, TEXTS("alias_exists"))
        self.catalog.refresh()  # this process's search finds it now; others on recheck
        return self._finish(misses, "labelled", {"action": "alias", "code": code, "alias": alias},
                            by, f"alias:{code}")

    def _finish(self, misses: List[Mapping[str, Any]], status: str, label: Dict[str, Any],
                by: str, what: str) -> Dict[str, Any]:
        ids = [int(m["id"]) for m in misses]
        marked = self.store.mark(ids, status, label, by)
        self.audit.record("desk", by, "review_label", f"{what}:{marked}"[:40])
        return {"ok": True, "marked": marked, "label": label}

    # -- retraining ----------------------------------------------------------------

    def start_shipping(self, action: str, by: str) -> Dict[str, Any]:
        """Publishes the newest candidate or rolls back, audited when asked and when done."""
        if self.shipping is None:
            raise ReviewError(503, TEXTS("shipping_off"))

        def done(outcome: Dict[str, Any]) -> None:
            result = "loaded" if outcome.get("ok") else (
                "partly" if outcome.get("installed") else "refused")
            self.audit.record("desk", by, f"model_{action}", result)

        return self.shipping.start(
            action, by, lambda: self.audit.record("desk", by, f"model_{action}", "started"), done)

    def start_retrain(self, by: str) -> Dict[str, Any]:
        status = self.retrain.start()
        self.audit.record("desk", by, "model_retrain", "started")
        return status
