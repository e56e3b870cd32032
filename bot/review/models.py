"""Publishing a retrained model to every Rasa instance, and taking it back.

    python -m bot.review.models publish [--candidate P]   # the newest candidate unless P
    python -m bot.review.models rollback [--to P]         # the newest history model unless P
    python -m bot.review.models list

Why it is safe:
- **Only a better model.** `publish` reads the candidate's report (rasa_ext/retrain.py,
  models/candidates/<ts>.json) and refuses unless its verdict is 'publishable', the
  candidate file is the one evaluated (sha256) and the comparison was made against the
  model still in service (a rollback or another publish since makes it stale).
- **No half file, no gap.** The model in service moves to models/history/ (a hard link:
  govbot.tar.gz is never missing), and the candidate becomes models/govbot.tar.gz by one
  rename: a Rasa that starts meanwhile reads the old file or the new one, whole.
- **No downtime.** Each Rasa instance is asked to load the file with `PUT /model` and the
  API credential (Authorization: Bearer RASA_API_TOKEN, rasa_ext/api_guard.py). Rasa
  builds the new agent beside the old one and swaps it in when it is ready: turns go on
  being answered by the old model during the load, and conversations keep their context
  because trackers live in the tracker store, not in the model. Instances are asked one
  after another, so the others serve at full speed while one loads (a load briefly holds
  two models). Each answer must be 204, and `GET /status` must then report the new
  model's id (metadata.json's model_id inside the archive); the result says which
  instances loaded it and which did not.
- **One step back.** `rollback` puts the newest history model back the same way and
  keeps the replaced one in history, so a rollback can itself be undone.

Every publish and rollback appends a line to models/published.jsonl (who, when, which
sha256 and model id, the verdict, each instance's answer). All instances must read the
same path (a shared models directory); RASA_URLS lists them (comma-separated; default
RASA_URL). No Rasa import here: files and HTTP only (bot/ runs without Rasa).
"""
from __future__ import annotations

import argparse
import fcntl
import getpass
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from bot import settings
from bot.files import sha256_of

MODELS = settings.ROOT / "models"
CURRENT_NAME = "govbot.tar.gz"
PUBLISHABLE = "publishable"
#: How long one instance may take to load a model (a cold load here takes about a minute).
LOAD_TIMEOUT = 600.0


class PublishRefused(Exception):
    """The candidate may not be published (no report, refused, stale or changed)."""


@dataclass(frozen=True)
class InstanceResult:
    """One Rasa instance's answer to a load."""

    url: str
    loaded: bool
    status: Optional[int] = None  # the PUT /model answer's HTTP status
    model_id: Optional[str] = None  # what GET /status reported afterwards
    detail: str = ""


@dataclass(frozen=True)
class PublishResult:
    """What publish or rollback did: `ok` only when the file was installed and every
    instance loaded it."""

    action: str  # 'publish' | 'rollback'
    installed: bool
    message: str
    model: Optional[str] = None  # the file now in service
    sha256: Optional[str] = None
    model_id: Optional[str] = None
    previous: Optional[str] = None  # where the replaced model was kept in history
    verdict: Optional[str] = None
    instances: Tuple[InstanceResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.installed and all(i.loaded for i in self.instances)

    @property
    def failed_instances(self) -> List[str]:
        return [i.url for i in self.instances if not i.loaded]


# -- small pure helpers ----------------------------------------------------------------


def utc_stamp(ts: Optional[float] = None) -> str:
    """A file-name timestamp that sorts as time does (20261205T184400Z)."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc) \
        .strftime("%Y%m%dT%H%M%SZ")


def rasa_urls_from(value: Optional[str], default: str) -> List[str]:
    """RASA_URLS (comma-separated) or the one default, without trailing slashes."""
    urls = [u.strip().rstrip("/") for u in (value or "").split(",") if u.strip()]
    return urls or [default.rstrip("/")]


def configured_rasa_urls() -> List[str]:
    return rasa_urls_from(os.environ.get("RASA_URLS"), settings.load().rasa_url)


def api_token() -> str:
    """RASA_API_TOKEN (bot.settings.rasa_api_token); on a development machine where it is
    unset, the token `make run` gave its Rasa ($BOT_VAR_DIR/dev-secrets.env), as
    bench/stack.py reads it: a `make publish` beside `make run` must use the same one."""
    secrets_file = settings.VAR_DIR / "dev-secrets.env"
    if settings.is_development() and not os.environ.get("RASA_API_TOKEN", "").strip() \
            and secrets_file.exists():
        for line in secrets_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("RASA_API_TOKEN=") and line.partition("=")[2].strip():
                return line.partition("=")[2].strip()
    return settings.rasa_api_token()


def report_path(candidate: Path) -> Path:
    """models/candidates/<ts>.tar.gz → models/candidates/<ts>.json (as retrain writes it)."""
    name = candidate.name[: -len(".tar.gz")] if candidate.name.endswith(".tar.gz") else candidate.stem
    return candidate.with_name(name + ".json")


def refusal(report: Optional[Dict[str, Any]], candidate_sha: str, current_sha: Optional[str]) -> Optional[str]:
    """Why a candidate with this report may not replace the model whose sha256 is
    `current_sha` (None: it may)."""
    if report is None:
        return "the candidate has no report: compare it first (make retrain, or " \
               "python -m rasa_ext.retrain --candidate FILE)"
    if report.get("verdict") != PUBLISHABLE:
        reasons = "; ".join(report.get("reasons") or []) or "no reason given"
        return f"the candidate's verdict is {report.get('verdict')!r}: {reasons}"
    if report.get("candidate_sha256") != candidate_sha:
        return "the candidate file is not the one its report evaluated (sha256 differs)"
    if report.get("current_sha256") != current_sha:
        return "the report compared the candidate with another model than the one in service " \
               "(published or rolled back since): compare again with " \
               "python -m rasa_ext.retrain --candidate FILE"
    return None


# -- files -----------------------------------------------------------------------------


def model_id_of(path: Path) -> Optional[str]:
    """The model_id Rasa reports in GET /status, read from the archive's metadata.json."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("./") == "metadata.json":
                    handle = archive.extractfile(member)
                    return json.load(handle).get("model_id") if handle else None
    except (OSError, tarfile.TarError, ValueError):
        return None
    return None


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` as a new name of `source` (same file system), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def install(source: Path, models: Path) -> Optional[Path]:
    """Makes `source` models/govbot.tar.gz; returns where the replaced model was kept.

    The old file gets a second name in history first, then one rename puts the new one
    in place: at every moment govbot.tar.gz is a whole model."""
    current = models / CURRENT_NAME
    previous = None
    if current.exists():
        history = models / "history"
        history.mkdir(parents=True, exist_ok=True)
        previous = history / f"{utc_stamp()}-{sha256_of(current)[:8]}.tar.gz"
        n = 1
        while previous.exists():  # two steps within one second
            previous = history / f"{utc_stamp()}-{sha256_of(current)[:8]}-{n}.tar.gz"
            n += 1
        _link_or_copy(current, previous)
    fd, tmp = tempfile.mkstemp(dir=models, prefix=".govbot-", suffix=".tar.gz")
    os.close(fd)
    os.unlink(tmp)
    _link_or_copy(source, Path(tmp))
    os.replace(tmp, current)
    return previous


def history_models(models: Path) -> List[Path]:
    """Models taken out of service, newest first."""
    return sorted((models / "history").glob("*.tar.gz"), key=lambda p: p.name, reverse=True)


def candidate_models(models: Path) -> List[Path]:
    """Trained candidates, newest first."""
    return sorted((models / "candidates").glob("*.tar.gz"), key=lambda p: p.name, reverse=True)


def read_json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def append_log(models: Path, result: PublishResult, by: str) -> None:
    """One line per publish or rollback in models/published.jsonl."""
    line = {"at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "by": by,
            **{k: v for k, v in asdict(result).items() if k != "instances"},
            "ok": result.ok,
            "instances": [{"url": i.url, "loaded": i.loaded, "status": i.status, "detail": i.detail}
                          for i in result.instances]}
    with open(models / "published.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(line, ensure_ascii=False) + "\n")


@contextmanager
def publish_lock(models: Path) -> Iterator[None]:
    """One publish or rollback at a time (waits for the other: both are short)."""
    models.mkdir(parents=True, exist_ok=True)
    with open(models / ".publish.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# -- Rasa's HTTP API ---------------------------------------------------------------------


def _call(method: str, url: str, token: str, body: Optional[Dict[str, Any]] = None,
          timeout: float = 30.0) -> Tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def load_into(url: str, model_file: Path, token: str, expected_model_id: Optional[str],
              timeout: float = LOAD_TIMEOUT) -> InstanceResult:
    """Asks one Rasa to load `model_file` and checks that it did."""
    try:
        status, body = _call("PUT", f"{url}/model", token, {"model_file": str(model_file)}, timeout)
        if status != 204:
            return InstanceResult(url, False, status, detail=body.decode("utf-8", "replace")[:300])
        check, body = _call("GET", f"{url}/status", token, timeout=30.0)
        state = json.loads(body) if check == 200 else {}
        model_id = state.get("model_id")
        if check != 200:
            return InstanceResult(url, False, status, detail=f"GET /status answered {check}")
        if state.get("model_file") != model_file.name or (expected_model_id and model_id != expected_model_id):
            return InstanceResult(url, False, status, model_id,
                                  f"still serving {state.get('model_file')} ({model_id})")
        return InstanceResult(url, True, status, model_id)
    except (OSError, ValueError) as error:  # refused, timed out, not JSON
        return InstanceResult(url, False, detail=f"{type(error).__name__}: {error}")


def load_everywhere(model_file: Path, rasa_urls: Sequence[str], token: str,
                    timeout: float = LOAD_TIMEOUT) -> Tuple[InstanceResult, ...]:
    """One instance after another, so the others keep serving at full speed."""
    expected = model_id_of(model_file)
    return tuple(load_into(url, model_file, token, expected, timeout) for url in rasa_urls)


# -- the two operations ------------------------------------------------------------------


def _done(action: str, models: Path, installed: Path, previous: Optional[Path], verdict: Optional[str],
          rasa_urls: Sequence[str], token: str, by: Optional[str]) -> PublishResult:
    current = models / CURRENT_NAME
    instances = load_everywhere(current.resolve(), rasa_urls, token)
    loaded = sum(i.loaded for i in instances)
    message = (f"{action}: {installed.name} is now {CURRENT_NAME}; loaded by {loaded} of "
               f"{len(instances)} Rasa instance(s)")
    failed = [i for i in instances if not i.loaded]
    if failed:
        message += "; NOT loaded by " + ", ".join(f"{i.url} ({i.detail or i.status})" for i in failed)
    result = PublishResult(action, True, message, str(current), sha256_of(current), model_id_of(current),
                           str(previous) if previous else None, verdict, instances)
    append_log(models, result, by or getpass.getuser())
    return result


def publish(candidate: Optional[Path] = None, *, rasa_urls: Sequence[str], token: str,
            models: Path = MODELS, by: Optional[str] = None) -> PublishResult:
    """Installs a publishable candidate (the newest when None) as the model in service and
    has every instance load it. A refused, unreported, changed or stale candidate changes
    nothing and comes back with `installed=False` and the reason."""
    with publish_lock(models):
        if candidate is None:
            found = candidate_models(models)
            if not found:
                return PublishResult("publish", False, "no candidate in models/candidates: make retrain")
            candidate = found[0]
        candidate = Path(candidate)
        if not candidate.is_file():
            return PublishResult("publish", False, f"no such candidate: {candidate}")
        report = read_json(report_path(candidate))
        current = models / CURRENT_NAME
        reason = refusal(report, sha256_of(candidate), sha256_of(current) if current.exists() else None)
        if reason:
            return PublishResult("publish", False, f"refused to publish {candidate.name}: {reason}",
                                 verdict=(report or {}).get("verdict"))
        previous = install(candidate, models)
        return _done("publish", models, candidate, previous, PUBLISHABLE, rasa_urls, token, by)


def rollback(*, rasa_urls: Sequence[str], token: str, models: Path = MODELS,
             to: Optional[Path] = None, by: Optional[str] = None) -> PublishResult:
    """Puts the newest history model (or `to`) back in service; the model it replaces
    goes to history, so rolling back again undoes this rollback."""
    with publish_lock(models):
        history = history_models(models)
        target = Path(to) if to else (history[0] if history else None)
        if target is None or not target.is_file():
            return PublishResult("rollback", False, "nothing to roll back to: models/history is empty"
                                 if target is None else f"no such model: {target}")
        previous = install(target, models)
        if target.parent == models / "history":
            target.unlink()  # it is in service now; the replaced model took its place in history
        return _done("rollback", models, target, previous, None, rasa_urls, token, by)


def listing(models: Path = MODELS) -> str:
    """The model in service, the candidates with their verdicts, history and the log's tail."""
    current = models / CURRENT_NAME
    lines = [f"in service: {current}" + (f"  sha256 {sha256_of(current)[:12]}" if current.exists() else " (none)")]
    lines.append("candidates (newest first):")
    for path in candidate_models(models)[:10]:
        report = read_json(report_path(path)) or {}
        lines.append(f"  {path.name}  {report.get('verdict', 'no report')}"
                     + (f"  ({'; '.join(report['reasons'])})" if report.get("reasons") else ""))
    lines.append("history (newest first; `rollback` restores the first):")
    lines += [f"  {path.name}" for path in history_models(models)[:10]]
    log = models / "published.jsonl"
    if log.exists():
        lines.append("last publishes and rollbacks:")
        for raw in log.read_text(encoding="utf-8").splitlines()[-5:]:
            entry = json.loads(raw)
            lines.append(f"  {entry['at']} {entry['action']} by {entry['by']}: "
                         f"{(entry.get('sha256') or '')[:12]} ok={entry.get('ok')}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=MODELS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    publish_command = commands.add_parser("publish", help="install and load a publishable candidate")
    publish_command.add_argument("--candidate", type=Path, help="default: the newest in models/candidates")
    rollback_command = commands.add_parser("rollback", help="restore the previous model")
    rollback_command.add_argument("--to", type=Path, help="default: the newest in models/history")
    commands.add_parser("list", help="the model in service, candidates and history")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(listing(args.models))
        return 0
    urls, token = configured_rasa_urls(), api_token()
    if args.command == "publish":
        result = publish(args.candidate, rasa_urls=urls, token=token, models=args.models)
    else:
        result = rollback(rasa_urls=urls, token=token, to=args.to, models=args.models)
    print(result.message)
    if result.previous:
        print(f"the replaced model is kept as {result.previous}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
