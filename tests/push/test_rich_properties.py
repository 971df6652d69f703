"""Property-based tests of the parsers of richer pushed requests: authorization_details (RFC 9396),
resource (RFC 8707) and the host patterns of unregistered redirect URIs (RFC 9126 §2.4)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_par import dot
from django_par.errors import InvalidAuthorizationDetails, InvalidTarget
from django_par.push import authorization_details, redirect_uris, resources

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
elements = st.fixed_dictionaries(
    {"type": st.text(min_size=1, max_size=20).filter(lambda t: "\x00" not in t)},
    optional={
        "actions": st.lists(st.text(max_size=10).filter(lambda t: "\x00" not in t), max_size=3),
        "identifier": st.text(max_size=10).filter(lambda t: "\x00" not in t),
        "extra": json_values.filter(lambda v: "\\u0000" not in json.dumps(v)),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_any_text_is_an_array_of_typed_objects_or_invalid_authorization_details(text: str) -> None:
    try:
        parsed = authorization_details.parse(text)
    except InvalidAuthorizationDetails as error:
        assert error.status == 400 and error.description
        return
    assert isinstance(parsed, list) and 1 <= len(parsed) <= authorization_details.MAX_ELEMENTS
    assert all(isinstance(element, dict) and isinstance(element["type"], str) and element["type"] for element in parsed)


@settings(max_examples=200, deadline=None)
@given(st.lists(elements, min_size=1, max_size=authorization_details.MAX_ELEMENTS))
def test_a_valid_array_reads_back_as_sent(details: list[dict[str, Any]]) -> None:
    assert authorization_details.parse(json.dumps(details)) == details


@settings(max_examples=200, deadline=None)
@given(st.lists(elements, min_size=1, max_size=5), st.data())
def test_narrowing_accepts_exactly_the_granted_elements(granted: list[dict[str, Any]], data: Any) -> None:
    part = data.draw(st.lists(st.sampled_from(granted), min_size=1, max_size=len(granted)))
    assert authorization_details.narrowed(json.dumps(part), granted) == part
    extra = {"type": "never-granted", "n": len(granted)}
    with pytest.raises(InvalidAuthorizationDetails):
        authorization_details.narrowed(json.dumps([*part, extra]), granted)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"[a-z][a-z0-9+.-]{0,5}:[^\s]{0,40}", fullmatch=True))
def test_any_resource_is_an_absolute_uri_without_fragment_or_invalid_target(value: str) -> None:
    try:
        checked = resources.check_resource(value)
    except InvalidTarget as error:
        assert error.status == 400
        return
    assert checked == value
    assert "#" not in value and not any(char.isspace() for char in value)
    assert urlsplit(value).scheme and value.isascii()


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True)


@pytest.mark.skipif(not dot.supports_resource_indicators(), reason="DOT before 3.4 has no RFC 8707")
@settings(max_examples=200, deadline=None)
@given(st.lists(hosts, min_size=1, max_size=resources.MAX_RESOURCES), st.sampled_from(["", "/", "/api/v1", "/x?y=z"]))
def test_https_resources_are_accepted_without_duplicates(names: list[str], path: str) -> None:
    uris = [f"https://{name}{path}" for name in names]
    assert resources.check_resources(resources.encode(uris)) == list(dict.fromkeys(uris))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_host_patterns_parse_or_raise_value_error(value: str) -> None:
    try:
        patterns = redirect_uris.check_host_patterns(value)
    except ValueError:
        return
    assert patterns == value.split()


@settings(max_examples=300, deadline=None)
@given(hosts, hosts)
def test_a_wildcard_matches_subdomains_only(domain: str, host: str) -> None:
    pattern = ["*." + domain]
    assert not redirect_uris.host_matches(domain, pattern)
    assert redirect_uris.host_matches(f"{host}.{domain}", pattern)
    assert redirect_uris.host_matches(host, pattern) == host.endswith("." + domain)
