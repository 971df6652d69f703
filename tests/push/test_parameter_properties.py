"""Property-based tests of the rules on pushed parameters (django_par.push.parameters)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from django_par.errors import OAuthError
from django_par.push.parameters import check_parameter_rules

NAMES = (
    "response_type",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "claims",
    "login_hint",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
values = (
    st.text(max_size=60)
    | json_values.map(json.dumps)
    | st.sampled_from(
        ["code", "none", "login consent", "query.jwt", "form_post", "S256", "plain", "{", "[]", "1e3", "²", "9" * 20]
    )
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), values, max_size=6))
def test_any_parameters_pass_or_get_an_oauth_error(params: dict[str, str]) -> None:
    try:
        check_parameter_rules(params)
    except OAuthError as error:
        assert error.status == 400 and error.description
