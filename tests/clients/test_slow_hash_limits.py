"""The slow password hash is not a CPU lever (django_par.limits, docs/security.md).

A wrong secret for a client whose verified-secret cache is cold costs a PBKDF2
run. Over the limits (failed checks per client and address, slow hashes per
client and per address) the answer is 429 with Retry-After, and nothing is
hashed; a legitimate client with the right secret keeps working meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from hypothesis import given
from hypothesis import strategies as st

from django_par import limits
from django_par.limits import Rate, parse_rate
from tests.clients.test_validator import counting_slow_hashes, forget_verified_secrets
from tests.conftest import FORM_CONTENT_TYPE, assert_oauth_error, basic_auth, code_request, par_url
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ConfidentialApplicationFactory
from tests.helpers.jwt_helpers import assertion_validator  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
LEGITIMATE = "198.51.100.7"
WRONG = "not-the-secret"
NO_LIMITS = {"AUTH_FAILURE_RATE": None, "SLOW_HASH_RATE_PER_CLIENT": None, "SLOW_HASH_RATE_PER_ADDRESS": None}


def push_from(address: str, application: Any, secret: str, how: str = "basic", url: str | None = None) -> Any:
    """A push (or, with ``url``, a bare form POST) from ``address`` with the client's secret."""
    body: dict[str, str] = code_request(application) if url is None else {**FORM_OF[url]}
    headers = {}
    if how == "basic":
        headers["authorization"] = basic_auth(application.client_id, secret)
    else:
        body.update(client_id=application.client_id, client_secret=secret)
    return Client().post(
        url or par_url(), urlencode(body), content_type=FORM_CONTENT_TYPE, headers=headers, REMOTE_ADDR=address
    )


def assert_429(response: Any) -> None:
    body = assert_oauth_error(response, 429, "invalid_request", "retry later")
    assert 1 <= int(response["Retry-After"]) <= 60, body
    assert "WWW-Authenticate" not in response  # not an authentication failure: the client is not told to retry now


@pytest.mark.parametrize("how", ["basic", "post"])
@override_settings(DJANGO_PAR={**NO_LIMITS, "AUTH_FAILURE_RATE": "3/60"})
def test_failures_per_client_and_address_end_in_429_without_hashing(how: str) -> None:
    application = ConfidentialApplicationFactory()
    with counting_slow_hashes() as hashes:
        for _ in range(3):
            assert_oauth_error(push_from(ATTACKER, application, WRONG, how), 401, "invalid_client")
        for _ in range(5):
            assert_429(push_from(ATTACKER, application, WRONG, how))
    assert hashes.count == 3


@override_settings(DJANGO_PAR={**NO_LIMITS, "AUTH_FAILURE_RATE": "3/60"})
def test_a_legitimate_client_keeps_working_during_a_flood() -> None:
    # Both at once: the attacker's wrong secrets interleaved with the client's pushes, the cache cold at first.
    application = ConfidentialApplicationFactory()
    answers: list[int] = []
    with counting_slow_hashes() as hashes:
        for round_ in range(30):
            answers.append(push_from(ATTACKER, application, WRONG).status_code)
            if round_ % 10 == 7:
                assert push_from(LEGITIMATE, application, CLIENT_SECRET).status_code == 201
    # Cold cache: three slow failures, then 429. Once the client's secret is cached, a wrong one is a cheap 401.
    assert answers[:8] == [401] * 3 + [429] * 5 and set(answers[8:]) == {401}
    assert hashes.count == 3 + 1  # the attacker's three, the client's one


@override_settings(DJANGO_PAR={**NO_LIMITS, "SLOW_HASH_RATE_PER_CLIENT": "4/60"})
def test_the_right_secret_in_the_warm_cache_passes_an_exhausted_client_budget() -> None:
    application = ConfidentialApplicationFactory()
    assert push_from(LEGITIMATE, application, CLIENT_SECRET).status_code == 201  # 1 of 4; the cache is warm
    forget_verified_secrets()  # cold again: the attackers pay the hash until the budget is spent
    with counting_slow_hashes() as hashes:
        statuses = [push_from(f"203.0.113.{n}", application, WRONG).status_code for n in range(10)]
    assert statuses == [401] * 3 + [429] * 7 and hashes.count == 3
    assert push_from(LEGITIMATE, application, CLIENT_SECRET).status_code == 201  # known address: hashed once more
    with counting_slow_hashes() as hashes:
        # Warm again: the right secret from anywhere needs no hash, wrong ones are refused for free.
        assert push_from("192.0.2.1", application, CLIENT_SECRET).status_code == 201
        assert_oauth_error(push_from("192.0.2.2", application, WRONG), 401, "invalid_client")
    assert hashes.count == 0


@override_settings(DJANGO_PAR={**NO_LIMITS, "SLOW_HASH_RATE_PER_CLIENT": "2/60"})
def test_over_the_client_budget_a_cold_cache_and_a_new_address_get_429() -> None:
    # The residual risk (docs/security.md): a distributed flood can delay a client's first check from a new address.
    application = ConfidentialApplicationFactory()
    for n in range(2):
        push_from(f"203.0.113.{n}", application, WRONG)
    with counting_slow_hashes() as hashes:
        assert_429(push_from(LEGITIMATE, application, CLIENT_SECRET))
    assert hashes.count == 0


@override_settings(DJANGO_PAR={**NO_LIMITS, "SLOW_HASH_RATE_PER_ADDRESS": "2/60"})
def test_one_address_spraying_many_clients_is_bounded() -> None:
    applications = [ConfidentialApplicationFactory() for _ in range(4)]
    with counting_slow_hashes() as hashes:
        statuses = [push_from(ATTACKER, application, WRONG).status_code for application in applications]
    assert statuses == [401, 401, 429, 429] and hashes.count == 2
    assert push_from(LEGITIMATE, applications[3], CLIENT_SECRET).status_code == 201


def test_the_defaults_bound_a_flood() -> None:
    application = ConfidentialApplicationFactory()
    with counting_slow_hashes() as hashes:
        statuses = [push_from(ATTACKER, application, WRONG).status_code for _ in range(15)]
    assert statuses == [401] * 10 + [429] * 5 and hashes.count == 10
    assert push_from(LEGITIMATE, application, CLIENT_SECRET).status_code == 201


@override_settings(DJANGO_PAR={**NO_LIMITS, "AUTH_FAILURE_RATE": "2/60"})
def test_an_unreachable_limits_cache_lets_requests_through_with_a_warning(caplog: Any) -> None:
    application = ConfidentialApplicationFactory()
    broken = mock.Mock(**{f"{name}.side_effect": ConnectionError("down") for name in ("add", "incr", "get", "set")})
    with (
        mock.patch.object(limits, "_cache", return_value=broken),
        caplog.at_level(logging.WARNING, "django_par.limits"),
    ):
        statuses = [push_from(ATTACKER, application, WRONG).status_code for _ in range(4)]
        assert push_from(LEGITIMATE, application, CLIENT_SECRET).status_code == 201
    assert statuses == [401] * 4
    assert "The limits cache failed" in caplog.text


# -- DOT's token endpoint, through django_par's validator -------------------------------------


TOKEN_URL = "/o/token/"
REVOCATION_URL = "/o/revoke_token/"
FORM_OF = {
    TOKEN_URL: {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": REDIRECT_URI},
    REVOCATION_URL: {"token": "no-such-token"},
}


@pytest.mark.usefixtures("assertion_validator")
@pytest.mark.parametrize("how", ["basic", "post"])
@override_settings(DJANGO_PAR={**NO_LIMITS, "AUTH_FAILURE_RATE": "2/60"})
def test_the_token_endpoint_answers_429_without_hashing(how: str) -> None:
    application = ConfidentialApplicationFactory()
    with counting_slow_hashes() as hashes:
        statuses = [push_from(ATTACKER, application, WRONG, how, url=TOKEN_URL).status_code for _ in range(2)]
        over = push_from(ATTACKER, application, WRONG, how, url=TOKEN_URL)
        legitimate = push_from(LEGITIMATE, application, CLIENT_SECRET, how, url=TOKEN_URL)
    assert statuses == [401, 401]
    assert_429(over)
    # Authenticated, then refused for the unknown code: 400, not 401 or 429.
    assert legitimate.status_code == 400 and legitimate.json()["error"] == "invalid_grant", legitimate.content
    assert hashes.count == 3


@pytest.mark.usefixtures("assertion_validator")
@override_settings(DJANGO_PAR={**NO_LIMITS, "AUTH_FAILURE_RATE": "1/60"})
def test_revocation_over_the_limit_is_an_authentication_failure_not_a_500() -> None:
    # DOT's revocation view is not django_par's: it cannot answer 429, so it answers 401, still without hashing.
    application = ConfidentialApplicationFactory()
    with counting_slow_hashes() as hashes:
        statuses = [push_from(ATTACKER, application, WRONG, url=REVOCATION_URL).status_code for _ in range(3)]
    assert statuses == [401, 401, 401] and hashes.count == 1


# -- the rate syntax ------------------------------------------------------------------------------


@given(st.one_of(st.text(max_size=30), st.none(), st.integers(), st.from_regex(r"\A[0-9]{1,10}/[0-9]{1,6}\Z")))
def test_parse_rate_accepts_n_per_s_and_refuses_the_rest_cleanly(value: Any) -> None:
    try:
        rate = parse_rate(value)
    except ValueError:
        return
    if rate is None:
        assert value in (None, "")
    else:
        assert isinstance(rate, Rate) and rate.count >= 1 and 1 <= rate.period <= limits.MAX_PERIOD
        assert str(rate) == value


@pytest.mark.parametrize("value", ["0/60", "10/0", "10/86401", " 10/60", "10/60\n", "10/m", "10", "1e3/60", "-1/60"])
def test_parse_rate_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(value)
