"""Property-based tests of the HTTP Basic client credentials parser (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from django_par.clients.secrets import basic_credentials
from django_par.errors import InvalidClient

factory = RequestFactory()
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_header_gives_credentials_nothing_or_invalid_client(header: str) -> None:
    request = factory.post("/o/par/", HTTP_AUTHORIZATION=header)
    try:
        credentials = basic_credentials(request)
    except InvalidClient as error:
        assert error.status == 401
        return
    assert credentials is None or all(isinstance(part, str) for part in credentials)
    if not header.lower().startswith("basic "):
        assert credentials is None


@settings(max_examples=300, deadline=None)
@given(text, text)
def test_form_encoded_credentials_read_back_as_sent(client_id: str, secret: str) -> None:
    token = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    request = factory.post("/o/par/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert basic_credentials(request) == (client_id, secret)
