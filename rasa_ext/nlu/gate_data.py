"""Builds the domain gate's negatives (data/gate/) from the outside corpora of
../shared/data, so that training needs nothing outside the repository.

    python -m rasa_ext.nlu.gate_data ../shared/data data/gate

- other.txt: requests to other services: KdConv film/music/travel user turns, CrossWOZ
  user turns of even-numbered dialogues (odd ones are the held-out set's), chatterbot's
  quiz categories;
- social.txt: everyday chat: LCCC short Weibo chat, the rest of chatterbot.

Left out: texts shorter than 4 characters, and any text that holds a question-type cue
(data/reference/question_cues.yml) or a name the NLU knows (catalog matters, districts,
industries, departments): "时长是多少？" or "在哪里？" after a film could be a follow-up
about a matter, and a gate must never learn that such words mean "not ours". Texts of
the evaluation sets (tests/nlu/) are left out too (tests/test_nlu_leakage.py checks).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Dict, Iterable, List

from bot.text import normalize_text

QUIZ = {"history", "science", "politics", "trivia"}
MIN_CHARS = 4


def _lines(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _crosswoz_dialogue(item: dict) -> int:
    match = re.match(r"crosswoz-val-(\d+)-", item.get("id", ""))
    return int(match.group(1)) if match else 1


def corpora(shared: Path) -> Dict[str, List[str]]:
    other = [i["text"] for i in _lines(shared / "kdconv_user_turns.jsonl")]
    other += [i["text"] for i in _lines(shared / "crosswoz_val_user_turns.jsonl")
              if _crosswoz_dialogue(i) % 2 == 0
              and not all(a.startswith("General+") for a in i.get("acts") or [])]
    chatter = list(_lines(shared / "chatterbot_zh.jsonl"))
    other += [i["text"] for i in chatter if i.get("label") in QUIZ]
    social = [i["text"] for i in _lines(shared / "lccc_short_chat.jsonl")]
    social += [i["text"] for i in chatter if i.get("label") not in QUIZ]
    return {"other": other, "social": social}


def _known_words(root: Path) -> "re.Pattern[str]":
    import yaml

    from rasa_ext.nlu.vocabulary import entity_phrases

    phrases = [p for values in entity_phrases(root / "data" / "catalog",
                                              root / "data" / "reference").values() for p in values]
    cues = yaml.safe_load((root / "data" / "reference" / "question_cues.yml").read_text("utf-8"))
    for values in (cues.get("topics") or {}).values():
        phrases.extend(str(v) for v in values)
    words = sorted({normalize_text(p).lower() for p in phrases if len(p) >= 2}, key=len,
                   reverse=True)
    return re.compile("|".join(map(re.escape, words)))


def _evaluation_index(root: Path):
    """The evaluation sets' messages, to leave out what equals one or is one character
    edit away (rasa_ext/nlu/leakage.py, as tests/test_nlu_leakage.py counts them)."""
    from rasa.shared.nlu.training_data.loading import load_data

    from rasa_ext.nlu.leakage import TrainingIndex, canonical

    texts = [e.get("text") for name in ("heldout.yml", "dev.yml")
             for e in load_data(str(root / "tests" / "nlu" / name)).training_examples]
    texts += [i["text"] for i in _lines(root / "tests" / "nlu" / "outside" / "messages.jsonl")]
    return TrainingIndex((canonical(t), t, "evaluation") for t in texts if t)


def _near_evaluation(evaluation, key: str) -> bool:
    """A corpus text one character off a short evaluation message also counts (the test
    looks up evaluation messages in training data, i.e. the other way round)."""
    return key in evaluation.deleted or any(
        key[:i] + key[i + 1:] in evaluation.exact for i in range(len(key)))


def build(shared: Path, root: Path) -> Dict[str, List[str]]:
    from rasa_ext.nlu.leakage import canonical

    known, evaluation = _known_words(root), _evaluation_index(root)
    out: Dict[str, List[str]] = {}
    for name, texts in corpora(shared).items():
        kept, seen = [], set()
        for text in texts:
            clean = normalize_text(text).lower().strip()
            if (len(clean) < MIN_CHARS or clean in seen or known.search(clean)
                    or evaluation.find(text) or _near_evaluation(evaluation, canonical(text))):
                continue
            seen.add(clean)
            kept.append(normalize_text(text).strip())
        out[name] = kept
    return out


def main(argv: List[str]) -> int:
    shared, target = Path(argv[0]), Path(argv[1])
    root = Path(__file__).resolve().parents[2]
    target.mkdir(parents=True, exist_ok=True)
    for name, texts in build(shared, root).items():
        (target / f"{name}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        print(f"{name}.txt: {len(texts)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
