"""bot.fast_json reads and writes what the standard library does, and falls back to it."""
from __future__ import annotations

import json
import math

from hypothesis import given, strategies as st

from bot import fast_json

_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
              st.floats(allow_nan=False, allow_infinity=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


@given(_json_values)
def test_round_trips_like_the_standard_library(value):
    text = fast_json.dumps(value)
    assert json.loads(text) == value
    assert fast_json.loads(text) == value
    assert fast_json.loads(json.dumps(value)) == value  # rows stored before it


def test_chinese_is_written_as_utf8_text():
    assert fast_json.dumps({"text": "居住证要什么材料"}) == '{"text":"居住证要什么材料"}'


def test_what_orjson_refuses_goes_to_the_standard_library():
    assert json.loads(fast_json.dumps({1: "a"})) == {"1": "a"}
    assert json.loads(fast_json.dumps({"big": 2**70})) == {"big": 2**70}
    assert math.isnan(fast_json.loads('{"x": NaN}')["x"])
    assert fast_json.loads(b'{"a": [1, 2]}') == {"a": [1, 2]}
