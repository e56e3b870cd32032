"""Whether an entity annotation lines up with the words the NLU's tokenizer makes.

DIET learns an entity only from a span that starts and ends on a token boundary once the
text is normalised (bot/text.py) and segmented by jieba with the catalog's user
dictionary (build/jieba/userdict.txt, `make build/jieba/userdict.txt`); Rasa only warns
"Misaligned entity annotation" and learns nothing from the rest. The check lives here,
without Rasa, so the training-data checker (rasa_ext/nlu/alignment.py) and the writer of
reviewed examples (bot/review/labels.py) judge a span the same way.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

from bot.text import normalize

DICTIONARY = Path(__file__).resolve().parents[1] / "build" / "jieba" / "userdict.txt"

_cache: dict = {}
_cache_lock = threading.Lock()


def segmenter(dictionary: Path = DICTIONARY):
    """A jieba tokenizer with the user dictionary training uses (when built), made once
    per process and dictionary version: loading it takes about a second."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    stamp = dictionary.stat().st_mtime_ns if dictionary.exists() else None
    key = (str(dictionary), stamp)
    with _cache_lock:
        if key not in _cache:
            tokenizer = jieba.Tokenizer()
            if stamp is not None:
                tokenizer.load_userdict(str(dictionary))
            _cache.clear()
            _cache[key] = tokenizer
        return _cache[key]


def tokens(text: str, max_chars: Optional[int] = None, dictionary: Path = DICTIONARY
           ) -> Tuple[str, List[Tuple[int, int]]]:
    """The normalised text and its tokens' (start, end) spans."""
    result = normalize(text, max_chars)
    spans = [(start, end) for _, start, end in segmenter(dictionary).tokenize(result.text)]
    return result.text, spans


def misaligned_spans(
    text: str,
    entities: Sequence[Mapping],
    max_chars: Optional[int] = None,
    dictionary: Path = DICTIONARY,
) -> List[Mapping]:
    """The entities of `text` (offsets into the text as written) whose span, once the
    text is normalised, does not start and end on a token boundary, or is removed."""
    if not entities:
        return []
    result = normalize(text, max_chars)
    spans = [(start, end) for _, start, end in segmenter(dictionary).tokenize(result.text)]
    starts, ends = {s for s, _ in spans}, {e for _, e in spans}
    bad = []
    for entity in entities:
        span = result.span(int(entity["start"]), int(entity["end"]))
        if span is None or span[0] not in starts or span[1] not in ends:
            bad.append(entity)
    return bad
