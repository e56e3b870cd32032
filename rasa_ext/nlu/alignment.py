"""Which entity annotations DIET cannot learn: spans that do not start and end on a
token boundary once the text is normalised and segmented as in training.

    python -m rasa_ext.nlu.alignment data/nlu [more files or folders]

Rasa says "Misaligned entity annotation" during training for each such example (and
learns nothing from its entity); this lists them at once, with the tokens, so a writer
of training data can move the span to whole words (e.g. [社保卡](matter)补办, not
[社保](matter)卡补办). Exit status 1 when any is found.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, List, Tuple

from bot.text import normalize

DICTIONARY = Path(__file__).resolve().parents[2] / "build" / "jieba" / "userdict.txt"


def _segmenter():
    import jieba

    tokenizer = jieba.Tokenizer()
    if DICTIONARY.exists():
        tokenizer.load_userdict(str(DICTIONARY))
    return tokenizer


def misaligned(paths: List[str]) -> Iterator[Tuple[str, str, List[Tuple[int, int, str]], list]]:
    """(intent, normalised text, bad spans, tokens) of every misaligned example."""
    from rasa.shared.nlu.training_data.loading import load_data

    segmenter = _segmenter()
    for path in paths:
        for example in load_data(path).training_examples:
            entities = example.get("entities") or []
            if not entities:
                continue
            result = normalize(example.get("text"), 400)
            tokens = [(start, end) for _, start, end in segmenter.tokenize(result.text)]
            starts, ends = {s for s, _ in tokens}, {e for _, e in tokens}
            bad = []
            for entity in entities:
                span = result.span(entity["start"], entity["end"])
                if span is None or span[0] not in starts or span[1] not in ends:
                    bad.append((entity["start"], entity["end"], str(entity.get("value"))))
            if bad:
                yield example.get("intent"), result.text, bad, [
                    result.text[s:e] for s, e in tokens]


def main(argv: List[str]) -> int:
    found = 0
    for intent, text, bad, tokens in misaligned(argv or ["data/nlu"]):
        found += 1
        print(f"{intent}: {text}\n  spans {bad}\n  tokens {' | '.join(tokens)}")
    print(f"{found} misaligned entity annotation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
