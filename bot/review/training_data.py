"""What the NLU is trained and judged on, read without Rasa (the review runs in the web
app, which never loads Rasa): the intent examples of Rasa 3 YAML files, the evaluation
sets' texts and the domain's intents.

Only what a labeller must check against is read: (intent, plain text) pairs. Rasa's own
reader stays the judge of the files' validity (tests/bot/review/test_labels.py loads what
is written with it).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINING_DIR = ROOT / "data" / "nlu"
DOMAIN = ROOT / "domain.yml"
#: The sets the NLU is judged on; never trained on (tests/nlu/README.md). The same list
#: as tests/nlu/test_leakage.py's EVALUATION_SETS.
EVALUATION_FILES = (
    ROOT / "tests" / "nlu" / "heldout.yml",
    ROOT / "tests" / "nlu" / "dev.yml",
    ROOT / "tests" / "nlu" / "outside" / "messages.jsonl",
    ROOT / "tests" / "nlu" / "outside" / "followups.jsonl",
)

# Rasa's inline annotations: [text](entity), [text](entity:value), [text]{"entity": …}
# and [text][{…}, {…}] (rasa/shared/nlu/training_data/entities_parser.py's ENTITY_REGEX).
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+?)\](?:\([^)]*?\)|\{[^}]+?\}|\[.*?\])")


def plain_text(annotated: str) -> str:
    """The example's text without its entity annotations."""
    return _ANNOTATION.sub(lambda m: m.group("text"), annotated)


def _example_texts(examples) -> Iterator[str]:
    if isinstance(examples, str):  # the short form: a block of "- text" lines
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip()
    elif isinstance(examples, list):  # the long form: items with text (and metadata)
        for item in examples:
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                yield text.strip()


def intent_examples(path: Path) -> List[Tuple[str, str]]:
    """(intent, plain text) of every intent example in one Rasa YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    blocks = data.get("nlu") if isinstance(data, dict) else None
    out: List[Tuple[str, str]] = []
    for block in blocks or []:
        if isinstance(block, dict) and isinstance(block.get("intent"), str):
            out.extend((block["intent"], plain_text(t)) for t in _example_texts(block.get("examples")))
    return out


def training_files(directory: Path = TRAINING_DIR) -> List[Path]:
    """The YAML files under `directory` (recursively), as `rasa train --data` finds them."""
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def training_examples(directory: Path = TRAINING_DIR) -> Iterator[Tuple[str, str, Path]]:
    """(intent, plain text, file) of every intent example under `directory`."""
    for path in training_files(directory):
        for intent, text in intent_examples(path):
            yield intent, text, path


def evaluation_texts(files: Iterable[Path] = EVALUATION_FILES) -> List[str]:
    """Every text of the evaluation sets (YAML training format or JSON lines)."""
    texts: List[str] = []
    for path in files:
        if not path.exists():
            continue
        if path.suffix == ".jsonl":
            texts.extend(json.loads(line)["text"] for line in
                         path.read_text(encoding="utf-8").splitlines() if line.strip())
        else:
            texts.extend(text for _, text in intent_examples(path))
    return texts


def domain_intents(domain: Path = DOMAIN) -> List[str]:
    """The intents domain.yml declares (plain names or one-key mappings)."""
    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    names = []
    for item in data.get("intents") or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            names.append(next(iter(item)))
    return names
