"""The bounded JSON parser (django_par.bounded_json): its value or its error, never anything else."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_par.bounded_json import InvalidJson, JsonLimitExceeded, JsonSyntaxError, loads, nesting_depth

# JSON values: scalars (NaN and infinities aside: they never equal themselves) inside lists and objects.
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30,
)
# Text made mostly of JSON's structural characters, quotes and escapes: the scanner's hard cases.
json_like_text = st.text(st.sampled_from('[]{}",:\\ 0123456789.eE+-tfnaulrsu'), max_size=300)


def depth(value: Any) -> int:
    """How deep lists and dicts nest in ``value``, computed from the value itself."""
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


def size(text: str) -> int:
    return len(text.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_depth_is_enforced_exactly(value: Any, compact: bool) -> None:
    text = json.dumps(value, separators=(",", ":") if compact else None)
    deepest = depth(value)

    assert nesting_depth(text, 1000) == deepest
    assert loads(text, max_bytes=size(text), max_depth=deepest, what="v") == value
    if deepest > 0:
        with pytest.raises(JsonLimitExceeded, match="v is nested more than"):
            loads(text, max_bytes=size(text), max_depth=deepest - 1, what="v")


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_size_is_enforced_exactly_in_utf8_bytes(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for given_text in (text, text.encode("utf-8")):
        assert loads(given_text, max_bytes=size(text), max_depth=100, what="v") == value
        with pytest.raises(JsonLimitExceeded, match="v is larger than"):
            loads(given_text, max_bytes=size(text) - 1, max_depth=100, what="v")


@settings(max_examples=500, deadline=None)
@given(st.one_of(json_like_text, st.text(max_size=200)), st.integers(0, 8), st.integers(0, 400))
def test_any_text_gives_a_value_or_invalid_json(text: str, max_depth: int, max_bytes: int) -> None:
    try:
        value = loads(text, max_bytes=max_bytes, max_depth=max_depth, what="v")
    except InvalidJson:
        return
    assert size(text) <= max_bytes
    assert depth(value) <= max_depth
    json.dumps(value).encode("utf-8")  # re-serialisable, with no lone surrogate


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 8))
def test_any_bytes_give_a_value_or_invalid_json(data: bytes, max_depth: int) -> None:
    try:
        value = loads(data, max_bytes=300, max_depth=max_depth, what="v")
    except InvalidJson:
        return
    assert depth(value) <= max_depth
    data.decode("utf-8")  # only UTF-8 is read (RFC 8259 §8.1)


@settings(max_examples=200, deadline=None)
@given(json_like_text)
def test_on_json_like_text_the_scan_agrees_with_the_parser(text: str) -> None:
    deepest = nesting_depth(text, 10_000)
    try:
        value = json.loads(text)
    except ValueError:
        return
    assert depth(value) == deepest


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '[{"a":' * 20_000,
        "[" * 1000 + '"' + "]" * 1000,
    ],
    ids=["open", "balanced", "objects", "mixed", "unterminated string"],
)
def test_hostile_nesting_is_refused_without_recursion(text):
    with pytest.raises(JsonLimitExceeded, match="nested more than 32 deep"):
        loads(text, max_bytes=10**6, max_depth=32, what="v")


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 40_000,  # a quadratic regular expression would take minutes here
        '["' + "\\\\" * 40_000,
        "[" + '"a",' * 20_000,
        '"' + "a" * 100_000,
    ],
    ids=["escaped quotes", "escaped backslashes", "many strings", "long unterminated string"],
)
def test_the_scan_takes_linear_time(text):
    started = time.perf_counter()
    with pytest.raises(InvalidJson):
        loads(text, max_bytes=10**6, max_depth=32, what="v")
    assert time.perf_counter() - started < 0.5


def test_size_is_refused_before_reading():
    with pytest.raises(JsonLimitExceeded, match="larger than 10 bytes"):
        loads("[" * 11, max_bytes=10, max_depth=100, what="v")
    with pytest.raises(JsonLimitExceeded, match="larger than 10 bytes"):
        loads('"éééééé"', max_bytes=10, max_depth=100, what="v")  # 8 characters, 14 bytes


@pytest.mark.parametrize(
    "text",
    ['"\\ud800"', '{"\\udfff": 1}', '[1, ["\\uDBFF x"]]', '"\\ud83d\\ud83d"'],
    ids=["str", "key", "nested", "two highs"],
)
def test_a_lone_surrogate_is_refused(text):
    with pytest.raises(InvalidJson, match="not Unicode text"):
        loads(text, max_bytes=100, max_depth=4, what="v")


def test_a_surrogate_pair_and_an_escaped_backslash_are_text():
    assert loads('"\\ud83d\\ude00"', max_bytes=100, max_depth=1, what="v") == "\U0001f600"
    assert loads('"\\\\ud800"', max_bytes=100, max_depth=1, what="v") == "\\ud800"


@pytest.mark.parametrize(
    "data", [b"\xff\xfe[\x001\x00]\x00", b'"\xe9"', b"\xef\xbb\xbf[1]"], ids=["utf-16", "latin-1", "bom"]
)
def test_bytes_other_than_utf8_json_are_refused(data):
    with pytest.raises(JsonSyntaxError, match="v is not valid JSON"):
        loads(data, max_bytes=100, max_depth=4, what="v")


def test_non_finite_numbers_are_left_to_the_caller():
    # Python's json module reads them; the JWT claim checks refuse them by name (django_par.jose.jwt).
    value = loads("[NaN, Infinity, 1e400]", max_bytes=100, max_depth=1, what="v")
    assert math.isnan(value[0]) and value[1] == value[2] == math.inf


def test_an_integer_too_long_for_python_is_invalid_json():
    with pytest.raises(JsonSyntaxError):
        loads("1" * 5000, max_bytes=10_000, max_depth=1, what="v")
