"""Which entity annotations DIET cannot learn: spans that do not start and end on a
token boundary once the text is normalised and segmented as in training.

    python -m rasa_ext.nlu.alignment data/nlu [more files or folders]

Rasa says "Misaligned entity annotation" during training for each such example (and
learns nothing from its entity); this lists them at once, with the tokens, so a writer
of training data can move the span to whole words (e.g. [社保卡](matter)补办, not
[社保](matter)卡补办). Exit status 1 when any is found. The check itself is
bot/alignment.py's, shared with the writer of reviewed examples (bot/review/labels.py).
"""
from __future__ import annotations

import sys
from typing import Iterator, List, Tuple

from bot.alignment import DICTIONARY, misaligned_spans, tokens  # noqa: F401  (DICTIONARY: where it is read)

#: As before bot/alignment.py: long examples are judged on their first 400 characters.
MAX_CHARS = 400


def misaligned(paths: List[str]) -> Iterator[Tuple[str, str, List[Tuple[int, int, str]], list]]:
    """(intent, normalised text, bad spans, tokens) of every misaligned example."""
    from rasa.shared.nlu.training_data.loading import load_data

    for path in paths:
        for example in load_data(path).training_examples:
            entities = example.get("entities") or []
            bad = misaligned_spans(example.get("text"), entities, MAX_CHARS)
            if bad:
                text, spans = tokens(example.get("text"), MAX_CHARS)
                yield example.get("intent"), text, [
                    (e["start"], e["end"], str(e.get("value"))) for e in bad
                ], [text[s:e] for s, e in spans]


def main(argv: List[str]) -> int:
    found = 0
    for intent, text, bad, words in misaligned(argv or ["data/nlu"]):
        found += 1
        print(f"{intent}: {text}\n  spans {bad}\n  tokens {' | '.join(words)}")
    print(f"{found} misaligned entity annotation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
