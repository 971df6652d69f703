"""Property-based tests of the redirect_uri matcher (django_par.push.parameters).

Random URIs around the registered ones never match, unless equal to one of
them, or (for a public client) a registered loopback URI with another port
(RFC 8252 §7.3). Any text gets a match or an InvalidRequest, never another error.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import AbstractApplication

from django_par.errors import InvalidRequest
from django_par.push.parameters import check_redirect_uri_registered

REGISTERED = (
    "https://client.example.org/callback",
    "https://client.example.org:8443/cb?tenant=1",
    "com.example.app:/oauth2redirect",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:8080/native",
    "http://[::1]/cb",
    "http://[::1]:7000/v6",
)
CLIENT_TYPES = (AbstractApplication.CLIENT_PUBLIC, AbstractApplication.CLIENT_CONFIDENTIAL)
# The characters where URI parsers disagree, and some ordinary ones.
ALPHABET = ":@[]/?#%.\\ 0123456789aeflhpstvx:1-_~+=&"
# The oracle of the loopback rule, written from RFC 8252 §7.3: http, a loopback IP literal, any port.
LOOPBACK = re.compile(r"(http://(?:127\.0\.0\.1|\[::1\]))(?::([0-9]*))?((?:[/?#].*)?)", re.DOTALL)


def application(client_type: str) -> Any:
    return SimpleNamespace(redirect_uris=" ".join(REGISTERED), client_type=client_type)


def matches(client_type: str, uri: str) -> bool:
    try:
        check_redirect_uri_registered(application(client_type), uri)
    except InvalidRequest as error:
        assert error.status == 400 and error.description
        return False
    return True


def without_loopback_port(uri: str) -> str | None:
    match = LOOPBACK.fullmatch(uri)
    if match is None or (match[2] and int(match[2]) > 65535):
        return None
    return match[1] + match[3]


def may_match(client_type: str, uri: str) -> bool:
    if uri in REGISTERED:
        return "@" not in uri
    if client_type != AbstractApplication.CLIENT_PUBLIC or without_loopback_port(uri) is None:
        return False
    return any(without_loopback_port(uri) == without_loopback_port(registered) for registered in REGISTERED)


@st.composite
def near_registered(draw: st.DrawFn) -> str:
    """A registered URI with a few characters inserted, deleted or replaced."""
    uri = draw(st.sampled_from(REGISTERED))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(uri)))
        edit = draw(st.sampled_from(("insert", "delete", "replace")))
        text = draw(st.text(ALPHABET, min_size=1, max_size=6))
        if edit == "insert":
            uri = uri[:at] + text + uri[at:]
        elif edit == "delete":
            uri = uri[:at] + uri[at + len(text) :]
        else:
            uri = uri[:at] + text + uri[at + len(text) :]
    return uri


@st.composite
def with_another_port(draw: st.DrawFn) -> str:
    """A registered loopback URI with its port changed."""
    uri = draw(st.sampled_from([uri for uri in REGISTERED if LOOPBACK.fullmatch(uri)]))
    match = LOOPBACK.fullmatch(uri)
    assert match is not None
    return f"{match[1]}:{draw(st.integers(0, 65535))}{match[3]}"


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(CLIENT_TYPES), near_registered())
@example(AbstractApplication.CLIENT_PUBLIC, "http://127.0.0.1:8200@evil.example/cb")
@example(AbstractApplication.CLIENT_PUBLIC, "http://[::1]x:80/cb")
@example(AbstractApplication.CLIENT_PUBLIC, "http://127.0.0.1:99999/cb")
@example(AbstractApplication.CLIENT_PUBLIC, "http://127.0.0.1:80/cb#@evil.example")
@example(AbstractApplication.CLIENT_PUBLIC, "http://127.0.0.1.evil.example/cb")
@example(AbstractApplication.CLIENT_PUBLIC, "HTTP://127.0.0.1:80/cb")
def test_a_uri_near_a_registered_one_matches_only_when_allowed(client_type: str, uri: str) -> None:
    assert matches(client_type, uri) == may_match(client_type, uri), uri


@settings(max_examples=300, deadline=None)
@given(with_another_port())
def test_a_public_client_may_use_any_port_on_its_loopback_uri(uri: str) -> None:
    assert matches(AbstractApplication.CLIENT_PUBLIC, uri), uri


@settings(max_examples=300, deadline=None)
@given(with_another_port())
def test_a_confidential_client_must_use_the_registered_port(uri: str) -> None:
    assert matches(AbstractApplication.CLIENT_CONFIDENTIAL, uri) == (uri in REGISTERED), uri


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(CLIENT_TYPES), st.text(max_size=80) | st.text(ALPHABET, max_size=40).map("http://".__add__))
def test_any_text_matches_or_is_invalid_request(client_type: str, uri: str) -> None:
    assert matches(client_type, uri) == may_match(client_type, uri), uri
