"""When two messages count as the same: one normalised form, and a look-up that finds
a text equal to another or one character edit away (insert, delete, substitute) without
comparing every pair ("deletion neighbourhood").

Used by tests/nlu/test_leakage.py (no evaluation message may stand in training data),
by rasa_ext/nlu/gate_data.py (the gate's corpora leave out what the evaluation sets hold)
and by bot/review/labels.py (a reviewed example never repeats an evaluation message), so
all three mean the same by "the same message". Without Rasa: the review runs in the web app.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from bot.text import normalize_text

#: Shorter texts count only when equal ("好的" and "好吗" are different messages).
MIN_FUZZY_CHARS = 4


def canonical(text: str) -> str:
    """The form in which two messages count as the same: normalised, case-folded, with
    punctuation, symbols and whitespace removed."""
    return "".join(
        ch
        for ch in normalize_text(text).casefold()
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZ"
    )


@dataclass(frozen=True)
class Hit:
    text: str  # the evaluation message
    training: str  # the training example it equals or nearly equals
    file: str  # where the training example is
    exact: bool


class TrainingIndex:
    """Exact and one-edit look-up of canonical texts."""

    def __init__(self, items: Iterable[Tuple[str, str, str]]):
        # canonical -> (original text, file)
        self.exact: Dict[str, Tuple[str, str]] = {}
        # (text with one character deleted) -> originals; for insertions into training texts
        self.deleted: Dict[str, List[str]] = defaultdict(list)
        # (text with one character deleted, position) -> originals; for substitutions
        self.deleted_at: Dict[Tuple[str, int], List[str]] = defaultdict(list)
        for key, text, file in items:
            if not key or key in self.exact:
                continue
            self.exact[key] = (text, file)
            for i in range(len(key)):
                shorter = key[:i] + key[i + 1 :]
                self.deleted[shorter].append(key)
                self.deleted_at[(shorter, i)].append(key)

    def __len__(self) -> int:
        return len(self.exact)

    def find(self, text: str) -> Optional[Hit]:
        key = canonical(text)
        if not key:
            return None
        if key in self.exact:
            return self._hit(text, key, exact=True)
        if len(key) < MIN_FUZZY_CHARS:
            return None
        # The training text is this one with one character more.
        for other in self.deleted.get(key, ()):
            return self._hit(text, other, exact=False)
        for i in range(len(key)):
            shorter = key[:i] + key[i + 1 :]
            # The training text is this one with one character less.
            if shorter in self.exact:
                return self._hit(text, shorter, exact=False)
            # The training text has another character at position i.
            for other in self.deleted_at.get((shorter, i), ()):
                return self._hit(text, other, exact=False)
        return None

    def _hit(self, text: str, key: str, exact: bool) -> Hit:
        original, file = self.exact[key]
        return Hit(text=text, training=original, file=file, exact=exact)


