"""Publishing a model and rolling it back while citizens talk loses no turn (issue 17).

Two conversations send REST turns without pause while bot/review/models.py publishes a
candidate into the running Rasa (`PUT /model` with the API credential) and then rolls it
back. Every turn must be answered (no error, no 5xx, no empty answer) and each answer
must still be about the matter the citizen named before the reloads: the conversation's
context lives in the tracker store, not in the model.

The candidate is the trained model with another model id in its metadata (so `GET
/status` shows which one is loaded); both files live in a temporary models directory,
never in models/ (publishing tells Rasa the absolute path to load, whatever it started
with). Its report is written here by hand: retraining is not what this test measures.
"""
from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import List, Optional

import pytest

from bot.review.models import CURRENT_NAME, model_id_of, publish, rollback, sha256_of
from tests.stack import CREDENTIALS, ROOT, rasa_api

pytestmark = pytest.mark.slow

MATTER = "上海市居住证申领"
FIRST = "居住证要什么材料"
FOLLOW_UPS = ("那要多久？", "要钱吗")
#: Between a citizen's turns: continuous, but leaving the 2-core machine time to load.
PAUSE = 0.1


def with_model_id(source: Path, target: Path, model_id: str) -> Path:
    """A copy of a Rasa model archive whose metadata.json names another model id."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz", compresslevel=1) as new:
        for member in old:
            data = old.extractfile(member) if member.isfile() else None
            if member.name.lstrip("./") == "metadata.json":
                metadata = json.load(data)
                metadata["model_id"] = model_id
                content = json.dumps(metadata).encode("utf-8")
                member.size = len(content)
                data = io.BytesIO(content)
            new.addfile(member, data)
    return target


class Conversation(threading.Thread):
    """A citizen asking about one matter, then following up on it until stopped."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.url = stack["RASA_PORT"] + "/webhooks/rest/webhook"
        self.sender = f"publish-{uuid.uuid4().hex[:12]}"
        self.turns: List[dict] = []
        self.stopping = threading.Event()

    def say(self, text: str) -> dict:
        turn = {"text": text, "sent": time.monotonic(), "status": None, "answer": "", "error": None}
        request = urllib.request.Request(
            self.url, data=json.dumps({"sender": self.sender, "message": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                turn["status"] = response.status
                turn["answer"] = "\n".join(r.get("text", "") for r in json.loads(response.read()))
        except urllib.error.HTTPError as error:
            turn["status"] = error.code
        except OSError as error:  # refused, reset, timed out
            turn["error"] = f"{type(error).__name__}: {error}"
        turn["answered"] = time.monotonic()
        self.turns.append(turn)
        return turn

    def run(self) -> None:
        self.say(FIRST)
        n = 0
        while not self.stopping.is_set():
            self.say(FOLLOW_UPS[n % len(FOLLOW_UPS)])
            n += 1
            self.stopping.wait(PAUSE)

    def turns_after(self, count: int, timeout: float = 300) -> None:
        """Waits until `count` more turns were answered."""
        goal = len(self.turns) + count
        deadline = time.monotonic() + timeout
        while len(self.turns) < goal and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.2)


def in_flight_during(turns: List[dict], start: float, end: float) -> int:
    """Turns sent before a reload ended and answered after it started."""
    return sum(1 for t in turns if t["sent"] < end and t["answered"] > start)


def status_model_id(stack) -> Optional[str]:
    return rasa_api(stack, "/status")["model_id"]


def test_publish_and_rollback_during_conversations_lose_no_turn(stack, tmp_path):
    served = ROOT / "models" / CURRENT_NAME
    models = tmp_path / "models"
    models.mkdir()
    current = models / CURRENT_NAME
    shutil.copyfile(served, current)  # the model in service, as the stack started it
    original_id = model_id_of(current)
    assert original_id and status_model_id(stack) == original_id
    candidate = with_model_id(current, models / "candidates" / "20261205T000000Z.tar.gz",
                              f"candidate-{uuid.uuid4().hex[:8]}")
    (models / "candidates" / "20261205T000000Z.json").write_text(json.dumps({
        "candidate": str(candidate), "candidate_sha256": sha256_of(candidate),
        "current": str(current), "current_sha256": sha256_of(current),
        "verdict": "publishable", "reasons": [], "sets": {}, "tolerance": 0.0}))
    urls, token = [stack["RASA_PORT"]], CREDENTIALS["RASA_API_TOKEN"]

    citizens = [Conversation(stack), Conversation(stack)]
    for citizen in citizens:
        citizen.start()
    try:
        for citizen in citizens:
            citizen.turns_after(3)
        started = time.monotonic()
        published = publish(candidate, rasa_urls=urls, token=token, models=models, by="e2e")
        published_at = time.monotonic()
        assert published.ok, published.message
        assert status_model_id(stack) == model_id_of(candidate) != original_id
        for citizen in citizens:
            citizen.turns_after(3)

        rolled_from = time.monotonic()
        back = rollback(rasa_urls=urls, token=token, models=models, by="e2e")
        rolled_at = time.monotonic()
        assert back.ok, back.message
        assert status_model_id(stack) == original_id
        assert sha256_of(current) == sha256_of(served)
        for citizen in citizens:
            citizen.turns_after(3)
    finally:
        for citizen in citizens:
            citizen.stopping.set()
        for citizen in citizens:
            citizen.join(300)

    turns = [t for citizen in citizens for t in citizen.turns]
    lost = [t for t in turns if t["status"] != 200 or t["error"] or not t["answer"].strip()]
    assert lost == [], lost
    # every answer, before, during and after the reloads, is about the matter named first
    off_topic = [t for t in turns if MATTER not in t["answer"]]
    assert off_topic == [], off_topic
    assert in_flight_during(turns, started, published_at) >= 1
    assert in_flight_during(turns, rolled_from, rolled_at) >= 1
    print(f"\n{len(turns)} turns answered; in flight during the publish "
          f"{in_flight_during(turns, started, published_at)}, during the rollback "
          f"{in_flight_during(turns, rolled_from, rolled_at)}; publish took "
          f"{published_at - started:.1f} s, rollback {rolled_at - rolled_from:.1f} s")
