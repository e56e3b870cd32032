"""A candidate model, trained from today's data and compared with the model in service.

    python -m rasa_ext.retrain [--status-file F] [--tolerance 0.0] [--candidate P]

1. trains a candidate into models/candidates/<UTC timestamp>.tar.gz with exactly the
   Makefile's `train` arguments (data/nlu, which includes the supervisors' reviewed
   examples in data/nlu/reviewed/, rules, stories, config, domain), through
   `python -m rasa_ext.train` in a subprocess so TensorFlow's op determinism applies and
   the parent keeps no training memory;
2. evaluates the candidate and the current model (models/govbot.tar.gz) on the held-out
   set, the outside set and the reviewed examples (intent accuracy and macro-F1; the
   outside set by kind, as `make eval` reads it). The current model's scores are cached
   in models/reports/ by its sha256 and each set's digest: it is evaluated once, not at
   every retrain;
3. writes models/candidates/<ts>.json (both models' scores per set, the per-set delta,
   the verdict and its reasons) and prints a comparison table.

The verdict is 'refused' when any set's main score (MAIN_METRIC) is below the current
model's by more than the tolerance (0 unless `--tolerance` says otherwise): a model that
learned the reviewed phrasings but forgot some of what it knew is not shipped.
`bot/review/models.py` publishes only a candidate whose report says 'publishable' and
whose comparison was made against the model still in service.

One retrain at a time (an exclusive lock on models/.retrain.lock, released by the kernel
if the process dies); the status file (JSON: state training|evaluating|done|failed,
started_at, candidate, verdict) lets the desk show progress. `--candidate P` skips the
training and compares an existing candidate again (after another model was published).
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from bot.files import sha256_of, write_atomically

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CURRENT_NAME = "govbot.tar.gz"

#: The Makefile's `train` arguments (besides the name and the output directory).
TRAIN_ARGS = ("--data", "data/nlu", "data/rules", "data/stories",
              "--config", "config.yml", "--domain", "domain.yml")
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
OUTSIDE = ROOT / "tests" / "nlu" / "outside" / "messages.jsonl"
REVIEWED = ROOT / "data" / "nlu" / "reviewed"

#: The score of each set that decides the verdict. The outside set's gold is a kind of
#: reading (a complaint read as complain, chat as any social intent), so its main score
#: is the mean over kinds of the share read right, as `make eval` measures it.
MAIN_METRIC = {"heldout": "macro_f1", "outside": "kind_macro", "reviewed": "macro_f1"}
SET_ORDER = ("heldout", "outside", "reviewed")
PUBLISHABLE, REFUSED = "publishable", "refused"
#: Bumped when the scores change meaning, so old cached scores are not reused.
SCORES_VERSION = 1


class RetrainRunning(RuntimeError):
    """Another retrain holds the lock."""


# -- pure parts: scores, comparison, report, table ---------------------------------------


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> Dict[str, Any]:
    """Accuracy and macro-F1 (over the gold intents) of one labelled set."""
    from rasa_ext.nlu.evaluate import f1_report

    report = f1_report(gold, predicted, sorted(set(gold)))
    return {"examples": len(gold), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def read_right(kind: str, gold: str, predicted: str) -> bool:
    """Whether an outside message was read as `make eval` counts it right."""
    from rasa_ext.nlu.evaluate import SOCIAL_INTENTS

    if kind == "complaint":
        return predicted == "complain"
    if kind == "out_of_scope":
        return predicted == "out_of_scope"
    if kind == "chat":
        return predicted in SOCIAL_INTENTS
    return predicted == gold  # questions: the right ask_* intent


def outside_scores(records: Sequence[Mapping[str, Any]], predicted: Sequence[str]) -> Dict[str, Any]:
    """Share read right overall and per kind, and its mean over kinds (the main score:
    122 complaints must not outweigh 48 chats)."""
    by_kind: Dict[str, List[bool]] = {}
    for record, intent in zip(records, predicted):
        by_kind.setdefault(record["kind"], []).append(
            read_right(record["kind"], record.get("intent", ""), intent))
    shares = {kind: round(sum(hits) / len(hits), 4) for kind, hits in sorted(by_kind.items())}
    right = sum(sum(hits) for hits in by_kind.values())
    return {
        "examples": len(records),
        "accuracy": round(right / len(records), 4) if records else 0.0,
        "kind_macro": round(sum(shares.values()) / len(shares), 4) if shares else 0.0,
        "by_kind": shares,
    }


def compare(candidate: Mapping[str, Optional[Mapping[str, Any]]],
            current: Optional[Mapping[str, Optional[Mapping[str, Any]]]],
            tolerance: float = 0.0) -> Dict[str, Any]:
    """The per-set comparison and the verdict.

    `candidate` and `current` map a set name to its scores (None or no examples: the set
    is skipped). `current` None means no model is in service yet: nothing to fall below.
    Refused when a set's main score is below the current model's by more than
    `tolerance`; the reasons name each such set."""
    sets: Dict[str, Any] = {}
    reasons: List[str] = []
    for name in [n for n in SET_ORDER if n in candidate] + sorted(set(candidate) - set(SET_ORDER)):
        mine = candidate.get(name)
        theirs = (current or {}).get(name)
        metric = MAIN_METRIC.get(name, "macro_f1")
        if not mine or not mine.get("examples"):
            sets[name] = {"main": metric, "skipped": "no examples"}
            continue
        entry: Dict[str, Any] = {"main": metric, "candidate": dict(mine),
                                 "current": dict(theirs) if theirs else None, "delta": {}}
        if theirs and theirs.get("examples"):
            entry["delta"] = {key: round(mine[key] - theirs[key], 4)
                              for key in ("accuracy", metric) if key in mine and key in theirs}
            if mine[metric] < theirs[metric] - tolerance:
                reasons.append(f"{name}: {metric} {mine[metric]:.4f} is below the current "
                               f"model's {theirs[metric]:.4f}")
        sets[name] = entry
    return {"sets": sets, "tolerance": tolerance,
            "verdict": REFUSED if reasons else PUBLISHABLE, "reasons": reasons}


def build_report(comparison: Mapping[str, Any], *, candidate: Path, candidate_sha256: str,
                 current: Optional[Path], current_sha256: Optional[str],
                 created_at: Optional[str] = None) -> Dict[str, Any]:
    """The report JSON that publishing reads: which two files were compared (by sha256,
    so a changed file or a since-replaced current model invalidates it) and the result."""
    return {
        "created_at": created_at or utc_iso(),
        "candidate": str(candidate),
        "candidate_sha256": candidate_sha256,
        "current": str(current) if current else None,
        "current_sha256": current_sha256,
        **comparison,
    }


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_table(report: Mapping[str, Any]) -> str:
    """The comparison as the console shows it, one row per set, then the verdict."""
    lines = [f"{'set':<10}{'examples':>9}  {'score':<11}{'current':>9}{'candidate':>11}{'delta':>9}"]
    for name, entry in report["sets"].items():
        if entry.get("skipped"):
            lines.append(f"{name:<10}{'0':>9}  skipped ({entry['skipped']})")
            continue
        mine, theirs = entry["candidate"], entry.get("current") or {}
        for key in (entry["main"], "accuracy"):
            delta = entry["delta"].get(key)
            mark = "  <- below" if key == entry["main"] and delta is not None \
                and delta < -report.get("tolerance", 0.0) else ""
            label = key + ("*" if key == entry["main"] else "")
            lines.append(f"{name if key == entry['main'] else '':<10}"
                         f"{mine['examples'] if key == entry['main'] else '':>9}  {label:<11}"
                         f"{_number(theirs.get(key)):>9}{_number(mine.get(key)):>11}"
                         f"{('-' if delta is None else f'{delta:+.4f}'):>9}{mark}")
    lines.append("(* the score that decides; tolerance "
                 f"{report.get('tolerance', 0.0)})")
    verdict = f"verdict: {report['verdict']}"
    if report.get("reasons"):
        verdict += "\n  " + "\n  ".join(report["reasons"])
    lines.append(verdict)
    return "\n".join(lines)


# -- files: timestamps, digests, status, lock --------------------------------------------


def utc_iso(ts: Optional[float] = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_stamp(ts: Optional[float] = None) -> str:
    """A file-name timestamp that sorts as time does (20261205T184400Z)."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc) \
        .strftime("%Y%m%dT%H%M%SZ")


def digest_of_files(paths: Sequence[Path]) -> str:
    """One digest over several files' names and contents (a set's identity for the cache)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    """Written whole or not at all (a reader never sees half a status or report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=1))


class Status:
    """The status file the desk reads; each change rewrites it whole."""

    def __init__(self, path: Optional[Path]):
        self.path = path
        self.data: Dict[str, Any] = {}

    def set(self, **fields: Any) -> None:
        self.data.update(fields, updated_at=utc_iso())
        if self.path:
            write_json(self.path, self.data)


@contextmanager
def retrain_lock(path: Path) -> Iterator[None]:
    """Holds the retrain lock or raises RetrainRunning at once (never waits: a second
    button press must be told, not queued). flock is released when the process ends,
    however it ends, so no stale lock outlives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise RetrainRunning(f"a retrain is already running ({handle.read().strip() or path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utc_iso()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


# -- Rasa: training and evaluation ---------------------------------------------------------


def train_candidate(candidates: Path, stamp: str, log: Path) -> Path:
    """Trains into a scratch directory beside the candidates and renames the model in:
    models/candidates/<stamp>.tar.gz appears whole or not at all."""
    candidates.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=candidates, prefix=".training-"))
    try:
        with open(log, "w", encoding="utf-8") as out:
            done = subprocess.run(
                [sys.executable, "-m", "rasa_ext.train", "--fixed-model-name", stamp,
                 "--out", str(scratch), *TRAIN_ARGS],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise RuntimeError(f"training failed (exit {done.returncode}); see {log}")
        target = candidates / f"{stamp}.tar.gz"
        os.replace(scratch / f"{stamp}.tar.gz", target)
        return target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def evaluation_sets(reviewed: Path = REVIEWED) -> Dict[str, Dict[str, Any]]:
    """Each set's texts, gold and digest. The reviewed examples are read as Rasa training
    data (data/nlu/reviewed/*.yml); none written yet means the set is skipped."""
    from rasa_ext.nlu.evaluate import load_examples

    heldout = load_examples(str(HELDOUT))
    outside = [json.loads(line) for line in OUTSIDE.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets = {
        "heldout": {"texts": [e.get("text") for e in heldout], "gold": [e.get("intent") for e in heldout],
                    "digest": digest_of_files([HELDOUT])},
        "outside": {"texts": [r["text"] for r in outside], "records": outside,
                    "digest": digest_of_files([OUTSIDE])},
    }
    files = sorted(reviewed.glob("*.yml")) + sorted(reviewed.glob("*.yaml")) if reviewed.is_dir() else []
    examples = [e for f in files for e in load_examples(str(f))]
    sets["reviewed"] = {"texts": [e.get("text") for e in examples], "gold": [e.get("intent") for e in examples],
                        "digest": digest_of_files(files)}
    return sets


def score_sets(sets: Mapping[str, Mapping[str, Any]], predictions: Mapping[str, Sequence[str]]
               ) -> Dict[str, Optional[Dict[str, Any]]]:
    """Scores of every set from the intents a model predicted (None: empty set)."""
    scores: Dict[str, Optional[Dict[str, Any]]] = {}
    for name, data in sets.items():
        if not data["texts"]:
            scores[name] = None
        elif "records" in data:
            scores[name] = outside_scores(data["records"], predictions[name])
        else:
            scores[name] = intent_scores(data["gold"], predictions[name])
    return scores


def predict(model: Path, sets: Mapping[str, Mapping[str, Any]]) -> Dict[str, List[str]]:
    """The intent (after the fallback) for every text of every set, from one model load."""
    import asyncio

    from rasa_ext.nlu.evaluate import _run

    results = asyncio.run(_run(str(model), {name: data["texts"] for name, data in sets.items()}))
    return {name: [r["intent"]["name"] for r in rows] for name, rows in results.items()}


def cached_scores(reports: Path, model: Path, sha: str, sets: Mapping[str, Mapping[str, Any]]
                  ) -> Dict[str, Optional[Dict[str, Any]]]:
    """The model's scores, evaluated only for the sets (by digest) not yet in its cache
    file models/reports/<sha256>.json."""
    cache_file = reports / f"{sha}.json"
    cache: Dict[str, Any] = {}
    if cache_file.exists():
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if cache.get("version") != SCORES_VERSION:
            cache = {}
    known = cache.get("sets", {})
    missing = {name: data for name, data in sets.items()
               if known.get(name, {}).get("digest") != data["digest"]}
    if missing:
        fresh = score_sets(missing, predict(model, missing) if any(d["texts"] for d in missing.values())
                           else {name: [] for name in missing})
        for name, data in missing.items():
            known[name] = {"digest": data["digest"], "scores": fresh[name]}
        write_json(cache_file, {"version": SCORES_VERSION, "model": str(model), "sha256": sha, "sets": known})
    return {name: known[name]["scores"] for name in sets}


def retrain(*, models: Path = MODELS, status: Optional[Status] = None, tolerance: float = 0.0,
            candidate: Optional[Path] = None) -> Dict[str, Any]:
    """Trains (unless `candidate` is given), compares and writes the report; returns it."""
    status = status or Status(None)
    candidates, reports = models / "candidates", models / "reports"
    current = models / CURRENT_NAME
    with retrain_lock(models / ".retrain.lock"):
        stamp = utc_stamp()
        status.data = {}
        status.set(state="training" if candidate is None else "evaluating", started_at=utc_iso(),
                   candidate=str(candidate) if candidate else None, verdict=None, error=None)
        try:
            # Read before training starts: the reviewed examples scored are the ones the
            # candidate learned, even if a supervisor labels more meanwhile.
            sets = evaluation_sets()
            if candidate is None:
                candidate = train_candidate(candidates, stamp, candidates / f"{stamp}.log")
                status.set(state="evaluating", candidate=str(candidate))
            candidate_sha = sha256_of(candidate)
            candidate_scores = cached_scores(reports, candidate, candidate_sha, sets)
            current_sha = sha256_of(current) if current.exists() else None
            current_scores = cached_scores(reports, current, current_sha, sets) if current_sha else None
            report = build_report(compare(candidate_scores, current_scores, tolerance),
                                  candidate=candidate, candidate_sha256=candidate_sha,
                                  current=current if current_sha else None, current_sha256=current_sha)
            write_json(report_path(candidate), report)
            status.set(state="done", verdict=report["verdict"], report=str(report_path(candidate)))
            return report
        except BaseException as error:
            status.set(state="failed", error=str(error) or type(error).__name__)
            raise


def report_path(candidate: Path) -> Path:
    """models/candidates/<ts>.tar.gz → models/candidates/<ts>.json"""
    name = candidate.name[: -len(".tar.gz")] if candidate.name.endswith(".tar.gz") else candidate.stem
    return candidate.with_name(name + ".json")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--status-file", type=Path, default=MODELS / "retrain-status.json",
                        help="JSON the desk reads: state, started_at, candidate, verdict")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="how far below the current model a main score may fall and still "
                             "publish (default 0: any drop refuses)")
    parser.add_argument("--candidate", type=Path,
                        help="compare this existing candidate again instead of training one")
    parser.add_argument("--models", type=Path, default=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import logging

    from rasa_ext.patches.training_warnings import silence_library_deprecations

    # As rasa_ext.train does: Sanic turns every library's deprecations on at import.
    silence_library_deprecations()
    import sanic.app  # noqa: F401

    silence_library_deprecations()
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    try:
        report = retrain(models=args.models, status=Status(args.status_file),
                         tolerance=args.tolerance, candidate=args.candidate)
    except RetrainRunning as error:
        print(error, file=sys.stderr)
        return 2
    print(format_table(report))
    print(f"\ncandidate: {report['candidate']}\nreport:    {report_path(Path(report['candidate']))}")
    if report["verdict"] == PUBLISHABLE:
        print("publish it with: make publish")
    return 0 if report["verdict"] == PUBLISHABLE else 1


if __name__ == "__main__":
    sys.exit(main())
