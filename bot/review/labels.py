"""Supervisors' labels as what the NLU learns next: reviewed training examples and
reviewed matter aliases.

A message labelled with an intent becomes an example in data/nlu/reviewed/<intent>.yml,
Rasa 3's YAML training format in its long form, so that each example carries where it
came from (the miss, who labelled it, when, on which channel) and can be traced or taken
back. What a labeller cannot see is checked here:

- an evaluation message (held-out, dev, outside sets) is never trained on, nor one a
  character away: the rule and the comparison of tests/nlu/test_leakage.py
  (bot/same_text.py), so labelling can never make that test fail;
- a text already trained with this intent is skipped, and one trained with another
  intent is a conflict for a person to settle, not a second truth;
- personal numbers left in a text are masked (bot.privacy.mask_personal), as at capture;
- entity annotations are kept only for the NLU contract's entity types and only when
  they line up with the tokenizer's words (bot/alignment.py); DIET learns nothing from the
  rest and training would warn, so they are dropped and reported.

Writers take a lock on the directory and replace the file in one rename (bot/files.py):
two web app processes labelling at once lose nothing, and training never reads half a
file. No Rasa here (the web app runs without it); Rasa's reader checks the result in the
tests.

A matter alias ("社保卡丢了" → 社会保障卡补换) goes to the catalog database, where search
finds it at once (bot/catalog/store.py), and to data/reference/reviewed_aliases.yml, from
which the next training learns it (bot/catalog/reviewed.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import yaml

from bot.alignment import DICTIONARY, misaligned_spans
from bot.catalog.reviewed import FILE_NAME as ALIASES_FILE_NAME
from bot.catalog.reviewed import add_to_file
from bot.catalog.store import CatalogStore
from bot.files import directory_lock, write_atomically
from bot.privacy import mask_personal
from bot.review.training_data import (
    DOMAIN, EVALUATION_FILES, ROOT, domain_intents, evaluation_texts, training_examples,
)
from bot.same_text import TrainingIndex, canonical
from bot.text import MAX_NLU_CHARS, normalize_text

REVIEWED_DIR = ROOT / "data" / "nlu" / "reviewed"
REFERENCE_ALIASES = ROOT / "data" / "reference" / ALIASES_FILE_NAME
#: The entity types of the NLU contract (../shared/spec/nlu-contract.md).
ENTITY_TYPES = ("matter", "application_number", "industry", "district")
#: Intents no example may teach: Rasa's fallback is what a miss already is.
REFUSED_INTENTS = frozenset({"nlu_fallback"})
#: rasa_ext/nlu/alignment.py judges long examples on their first 400 characters,
#: training on MAX_NLU_CHARS: a kept span lines up under both.
_ALIGNMENT_LENGTHS = (MAX_NLU_CHARS, 400)

HEADER = """\
# Examples labelled by supervisors in the desk's review of missed messages.
# Written by bot/review/labels.py (one rename at a time); each example's metadata says
# where it came from. Never copy evaluation messages here (tests/nlu/test_leakage.py).
"""


class LabelRefused(ValueError):
    """A label that cannot be written at all (an intent the domain does not know)."""


@dataclass(frozen=True)
class Example:
    """One labelled message: its (masked) text and entity spans over that text, and its
    provenance."""

    text: str
    entities: Sequence[Mapping] = ()
    miss_id: Optional[int] = None
    labelled_by: str = ""
    labelled_at: Union[float, str, None] = None  # epoch seconds or ISO 8601
    channel: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("an example needs a text")


@dataclass
class WriteResult:
    path: Path
    written: List[str] = field(default_factory=list)
    skipped_duplicates: List[str] = field(default_factory=list)
    refused_evaluation: List[str] = field(default_factory=list)
    conflicts: List[Tuple[str, List[str]]] = field(default_factory=list)  # text, other intents
    dropped_annotations: List[dict] = field(default_factory=list)  # text, entity …, reason


# -- one example ---------------------------------------------------------------------


def _iso(value: Union[float, str, None]) -> str:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).isoformat()
    return value or datetime.now(timezone.utc).isoformat()


def _one_line(text: str) -> Tuple[str, int]:
    """The text on one line without outer spaces, and how far offsets move (left)."""
    flat = "".join(" " if ch in "\r\n\t\v\f" else ch for ch in text)
    return flat.strip(), len(flat) - len(flat.lstrip())


def _escaped(text: str) -> str:
    """Square brackets a citizen typed, made full-width: Rasa would read "[x](y)" in
    plain text as an annotation. The normaliser turns them back before tokenising."""
    return text.replace("[", "［").replace("]", "］")


def _prepared(example: Example) -> Tuple[str, List[dict], List[dict]]:
    """The text on one line and masked, its entity spans moved with it, and the spans
    that masking made meaningless (dropped). Texts come masked from capture; this makes
    sure no personal number reaches training data however a label was made."""
    text, shift = _one_line(example.text)
    entities = [{**e, "start": int(e["start"]) - shift, "end": int(e["end"]) - shift}
                for e in example.entities]
    masked = mask_personal(text)
    if len(masked) == len(text):
        return masked, entities, []  # spans over masked digits go in kept_entities
    return masked, [], [
        {"text": masked, **{k: e.get(k) for k in ("entity", "start", "end", "value")},
         "reason": "masked"} for e in entities]


def kept_entities(
    text: str, entities: Iterable[Mapping], dictionary: Path = DICTIONARY
) -> Tuple[List[dict], List[dict]]:
    """(kept, dropped with a reason) of the entity spans over `text`."""
    kept: List[dict] = []
    dropped: List[dict] = []

    def drop(entity: Mapping, reason: str) -> None:
        dropped.append({"text": text, **{k: entity.get(k) for k in ("entity", "start", "end", "value")},
                        "reason": reason})

    for entity in sorted(entities, key=lambda e: (int(e.get("start", 0)), -int(e.get("end", 0)))):
        start, end = int(entity.get("start", -1)), int(entity.get("end", -1))
        if entity.get("entity") not in ENTITY_TYPES:
            drop(entity, "not an entity type of the NLU contract")
        elif not 0 <= start < end <= len(text) or not text[start:end].strip():
            drop(entity, "span outside the text")
        elif "*" in text[start:end]:
            drop(entity, "masked")
        elif any(start < k["end"] and k["start"] < end for k in kept):
            drop(entity, "overlaps another annotation")
        elif any(misaligned_spans(text, [entity], n, dictionary) for n in _ALIGNMENT_LENGTHS):
            drop(entity, "misaligned with the tokenizer's words")
        else:
            kept.append({"entity": entity["entity"], "start": start, "end": end})
    return kept, dropped


def annotated(text: str, entities: Sequence[Mapping]) -> str:
    """Rasa's inline form: [社保卡](matter)丢了. The span's own text is the value (no
    synonyms: the pipeline has no synonym mapper; search resolves names)."""
    out, at = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        out.append(_escaped(text[at:e["start"]]))
        out.append(f"[{_escaped(text[e['start']:e['end']])}]({e['entity']})")
        at = e["end"]
    out.append(_escaped(text[at:]))
    return "".join(out)


# -- the file ------------------------------------------------------------------------


def _load(path: Path) -> dict:
    if not path.exists():
        return {"version": "3.1", "nlu": []}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("version", "3.1")
    data["nlu"] = data.get("nlu") or []
    return data


def _block(data: dict, intent: str) -> List:
    for block in data["nlu"]:
        if isinstance(block, dict) and block.get("intent") == intent:
            if not isinstance(block.get("examples"), list):
                block["examples"] = []
            return block["examples"]
    block = {"intent": intent, "examples": []}
    data["nlu"].append(block)
    return block["examples"]


def _dump(data: dict) -> str:
    return HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False,
                                   default_flow_style=False, width=1000)


def _trained(training_dir: Path) -> Dict[str, Set[str]]:
    """canonical text → the intents it is trained with, anywhere under training_dir."""
    out: Dict[str, Set[str]] = {}
    if training_dir.exists():
        for intent, text, _ in training_examples(training_dir):
            out.setdefault(canonical(text), set()).add(intent)
    return out


def write_examples(
    intent: str,
    examples: Sequence[Example],
    directory: Path = REVIEWED_DIR,
    *,
    training_dir: Optional[Path] = None,
    evaluation_files: Sequence[Path] = EVALUATION_FILES,
    domain: Path = DOMAIN,
    dictionary: Path = DICTIONARY,
) -> WriteResult:
    """Adds labelled examples of `intent` to `directory`/<intent>.yml.

    Duplicates, conflicts (checked against every file under `training_dir`, by default
    the directory's parent, data/nlu) and evaluation messages are reported, not written.
    Raises LabelRefused for an intent the domain does not declare, and nlu_fallback.
    """
    if intent in REFUSED_INTENTS or intent not in domain_intents(domain):
        raise LabelRefused(f"not an intent examples may teach: {intent!r}")
    path = directory / f"{intent}.yml"
    result = WriteResult(path=path)
    evaluation = TrainingIndex((canonical(t), t, "evaluation") for t in evaluation_texts(evaluation_files))
    with directory_lock(directory):
        trained = _trained(training_dir or directory.parent)
        data = _load(path)
        items = _block(data, intent)
        for example in examples:
            text, entities, unmasked = _prepared(example)
            result.dropped_annotations.extend(unmasked)
            key = canonical(text)
            if evaluation.find(text) is not None:
                result.refused_evaluation.append(text)
                continue
            intents = trained.get(key, set())
            if intent in intents:
                result.skipped_duplicates.append(text)
                continue
            if intents:
                result.conflicts.append((text, sorted(intents)))
                continue
            kept, dropped = kept_entities(text, entities, dictionary)
            result.dropped_annotations.extend(dropped)
            items.append({"text": annotated(text, kept), "metadata": {
                "source": "review",
                "miss_id": example.miss_id,
                "labelled_by": example.labelled_by,
                "labelled_at": _iso(example.labelled_at),
                "channel": example.channel,
            }})
            trained.setdefault(key, set()).add(intent)
            result.written.append(text)
        if result.written:
            write_atomically(path, _dump(data))
    return result


# -- matter aliases ------------------------------------------------------------------


def add_alias(
    store: CatalogStore, code: str, alias: str, by: str, mirror: Path = REFERENCE_ALIASES
) -> bool:
    """Adds a reviewed alias to matter `code`: in the catalog database (every process's
    search knows it within its recheck; call the own Catalog's refresh() to know it now)
    and in the mirror file training reads. False when the code is unknown or the matter
    already has the alias."""
    at = datetime.now(timezone.utc)
    if not store.add_alias(code, alias, by, at=at):
        return False
    add_to_file(mirror, code, normalize_text(alias).strip(), by, at.isoformat())
    return True
