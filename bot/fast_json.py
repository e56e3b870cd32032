"""JSON for the per-turn hot paths: stored events (rasa_ext/tracker_store.py) and the calls to
the action server (rasa_ext/patches/endpoint_sessions.py).

orjson reads and writes these event dicts several times faster than the standard
library; profiling a loaded Rasa server put a tenth of a turn into `json` there. Output
differs only in spelling (UTF-8 instead of \\u escapes, no spaces), which every JSON
reader accepts. What orjson refuses (non-string keys, integers over 64 bits, NaN
literals written by an older version) falls back to the standard library, so nothing
the old code handled fails now.
"""
from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(obj)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. NaN, which the standard library wrote
        return json.loads(text)
