"""Property-based tests of the strict form body reader (django_par.push.form)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from django_par.errors import OAuthError
from django_par.push import resources
from django_par.push.form import FORM_CONTENT_TYPE, read_form_parameters

factory = RequestFactory()

# Text a form field can carry: any Unicode scalar value but NUL (refused) and surrogates (not UTF-8).
field_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
# The names of single-valued parameters: all but resource (RFC 8707 §2).
single_name = field_text.filter(lambda name: name != resources.NAME)


def form_request(body: bytes, content_type: str = FORM_CONTENT_TYPE) -> object:
    # CONTENT_TYPE given again: RequestFactory leaves it out for an empty body.
    return factory.generic("POST", "/o/par/", body, content_type=content_type, CONTENT_TYPE=content_type)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_body_gives_single_valued_parameters_or_an_oauth_error(body: bytes) -> None:
    try:
        params = read_form_parameters(form_request(body))  # type: ignore[arg-type]
    except OAuthError as error:
        assert error.status in (400, 413)
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in params.items())
    assert all(value != "" and "\x00" not in value and "\x00" not in name for name, value in params.items())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(single_name, field_text, max_size=8))
def test_an_encoded_form_reads_back_as_it_was_sent(fields: dict[str, str]) -> None:
    body = urlencode(fields).encode("ascii")
    assert read_form_parameters(form_request(body)) == fields  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(single_name, field_text, min_size=1, max_size=5), st.data())
def test_a_repeated_parameter_is_always_refused(fields: dict[str, str], data: st.DataObject) -> None:
    repeated = data.draw(st.sampled_from(sorted(fields)))
    body = (urlencode(fields) + "&" + urlencode({repeated: "again"})).encode("ascii")
    try:
        read_form_parameters(form_request(body))  # type: ignore[arg-type]
    except OAuthError as error:
        assert error.status == 400 and "more than once" in error.description
    else:
        raise AssertionError(f"{repeated!r} sent twice was accepted")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(single_name, field_text, max_size=5), st.lists(field_text, min_size=1, max_size=5))
def test_resource_may_repeat_and_keeps_every_value_in_order(fields: dict[str, str], values: list[str]) -> None:
    # RFC 8707 §2: resource is the one parameter a client may send several times.
    body = (urlencode(fields) + "&" + urlencode([(resources.NAME, value) for value in values])).encode("ascii")
    params = read_form_parameters(form_request(body))  # type: ignore[arg-type]
    assert params == {**fields, resources.NAME: resources.encode(values)}


def test_empty_resource_values_count_as_omitted() -> None:
    assert read_form_parameters(form_request(b"resource=&resource=&a=b")) == {"a": "b"}  # type: ignore[arg-type]
