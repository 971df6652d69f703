"""What a code exchange reads with django_par's validator (django_par.dot).

SignedIdTokenMixin: DOT links the new access token to its ID token by parsing,
verifying and querying the JWT it signed a moment earlier; django_par's validator
hands it the row it has just saved instead. Every other ID token is still loaded
and verified DOT's way.

GrantReadOnceMixin: oauthlib's OpenID check, validate_code, PKCE, redirect_uri and
nonce questions are answered from one read of the grant (with the rows django_par keeps
beside it), where DOT reads the row for each; the answers (and so the refusals) are
DOT's. The spent grant is deleted by its key, with those rows, unless something else
(a delete signal, another model) needs Django's collector.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from django_par import dot
from django_par.models import AuthorizationDetails, DPoPBinding
from tests.helpers.flow_helpers import (
    NONCE,
    Browser,
    authorization_response,
    authorize_url,
    exchange_code,
    jwt_claims,
    push_request,
)
from tests.helpers.jwt_helpers import assertion_validator, dot_validator  # noqa: F401  (fixture)

pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("assertion_validator")]


def code_for(browser: Browser, application: Any) -> str:
    url = authorize_url(application, push_request(application, scope="openid read"))
    assert browser.get(url).status_code == 200
    return authorization_response(browser.consent(url))["code"]


def exchange(browser: Browser, application: Any, **overrides: str) -> Any:
    code = code_for(browser, application)
    with CaptureQueriesContext(connection) as queries:
        response = exchange_code(application, code, **overrides)
    if overrides:
        return response, queries
    assert response.status_code == 200, response.content
    return response.json(), queries


def selects_from(queries: Any, model: Any) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)  # "…" or `…` (MariaDB)
    return [query["sql"] for query in queries if query["sql"].startswith("SELECT") and f"FROM {table}" in query["sql"]]


def grant_reads(queries: Any) -> int:
    return len(selects_from(queries, get_grant_model()))


def test_the_access_token_is_linked_to_the_id_token_without_reading_it_back(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    tokens, queries = exchange(logged_in_browser, confidential_app)

    id_token = get_id_token_model().objects.get(jti=jwt_claims(tokens["id_token"])["jti"])
    access_token = get_access_token_model().objects.get(token=tokens["access_token"])
    assert access_token.id_token_id == id_token.pk
    assert id_token.application_id == confidential_app.pk
    assert selects_from(queries, get_id_token_model()) == []
    assert selects_from(queries, get_access_token_model())  # the log holds the exchange's reads


def test_an_id_token_outside_its_own_exchange_is_loaded_and_checked_as_dot_does(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    tokens, _ = exchange(logged_in_browser, confidential_app)
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()

    assert str(validator._load_id_token(tokens["id_token"]).jti) == jwt_claims(tokens["id_token"])["jti"]
    # Revoked after the exchange: the row it signed is not remembered past it.
    get_id_token_model().objects.all().delete()
    assert validator._load_id_token(tokens["id_token"]) is None


def test_the_grant_is_read_once_for_pkce_redirect_uri_and_nonce(
    logged_in_browser: Browser, confidential_app: Any, settings: Any
) -> None:
    tokens, queries = exchange(logged_in_browser, confidential_app)
    assert jwt_claims(tokens["id_token"])["nonce"] == NONCE  # the nonce, from the row read once
    ours = grant_reads(queries)  # now: Django empties its query log at the next request
    with dot_validator(settings, "oauth2_provider.oauth2_validators.OAuth2Validator"):
        _, dots = exchange(logged_in_browser, confidential_app)

    # DOT reads the row again for validate_code, the code challenge, its method, the
    # redirect_uri, the nonce and to delete it (DOT 3.4 also for the resource check, both ways).
    assert ours == grant_reads(dots) - 6


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"verifier": "a-wrong-code-verifier-of-the-right-length-0123456789abcdef"}, "invalid_grant"),
        ({"redirect_uri": "https://other.example.org/cb"}, "invalid_request"),
    ],
)
def test_pkce_and_redirect_uri_are_still_checked(
    logged_in_browser: Browser, confidential_app: Any, overrides: dict[str, str], error: str
) -> None:
    response, _ = exchange(logged_in_browser, confidential_app, **overrides)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == error
    assert not get_access_token_model().objects.exists()


# -- the grant's deletion ---------------------------------------------------------------------


def validated(application: Any, code: str) -> tuple[Any, Any]:
    """DOT's validator (django_par's) after validate_code of ``code``: it keeps the grant."""
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    request = OAuthlibRequest("https://testserver/o/token/")
    request.client = application
    assert validator.validate_code(application.client_id, code, application, request)
    return validator, request


def test_the_spent_grant_goes_in_one_delete_with_the_rows_beside_it(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    code = code_for(logged_in_browser, confidential_app)
    grant = get_grant_model().objects.get(code=code)
    DPoPBinding.objects.create(grant=grant, jkt="k" * 43)
    AuthorizationDetails.objects.create(grant=grant, details=[{"type": "payment_initiation"}])
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    request = OAuthlibRequest("https://testserver/o/token/")
    request.client = confidential_app
    dot.exchange_grant(request, code)  # as validate_code reads it (which would want a DPoP proof)

    with CaptureQueriesContext(connection) as queries:
        validator.invalidate_authorization_code(confidential_app.client_id, code, request)

    assert not get_grant_model().objects.filter(pk=grant.pk).exists()
    assert not DPoPBinding.objects.exists()
    assert not AuthorizationDetails.objects.exists()
    statements = [query["sql"].split()[0] for query in queries]
    assert statements == ["DELETE", "DELETE", "DELETE"]  # no SELECT: the rows were read with the grant


def test_a_grant_without_rows_beside_it_is_one_delete(logged_in_browser: Browser, confidential_app: Any) -> None:
    code = code_for(logged_in_browser, confidential_app)
    validator, request = validated(confidential_app, code)

    with CaptureQueriesContext(connection) as queries:
        validator.invalidate_authorization_code(confidential_app.client_id, code, request)

    assert [query["sql"].split()[0] for query in queries] == ["DELETE"]
    assert not get_grant_model().objects.filter(code=code).exists()


def test_a_grant_deleted_meanwhile_is_invalid_grant(logged_in_browser: Browser, confidential_app: Any) -> None:
    code = code_for(logged_in_browser, confidential_app)
    validator, request = validated(confidential_app, code)
    get_grant_model().objects.filter(code=code).delete()  # a concurrent exchange spent it

    with pytest.raises(InvalidGrantError):
        validator.invalidate_authorization_code(confidential_app.client_id, code, request)


def test_a_delete_signal_listener_gets_dots_deletion(logged_in_browser: Browser, confidential_app: Any) -> None:
    code = code_for(logged_in_browser, confidential_app)
    validator, request = validated(confidential_app, code)
    deleted: list[str] = []

    def listener(sender: Any, instance: Any, **kwargs: Any) -> None:
        deleted.append(instance.code)

    signals.post_delete.connect(listener, sender=get_grant_model())
    try:
        validator.invalidate_authorization_code(confidential_app.client_id, code, request)
    finally:
        signals.post_delete.disconnect(listener, sender=get_grant_model())

    assert deleted == [code]


def test_another_model_referring_to_grants_gets_dots_deletion(
    logged_in_browser: Browser, confidential_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = code_for(logged_in_browser, confidential_app)
    validator, request = validated(confidential_app, code)
    beside, _ = dot._grant_relations()
    monkeypatch.setattr(dot, "_grant_relations", lambda: (beside, False))  # as if another model referred to grants

    with CaptureQueriesContext(connection) as queries:
        validator.invalidate_authorization_code(confidential_app.client_id, code, request)

    assert not get_grant_model().objects.filter(code=code).exists()
    assert grant_reads(queries) == 1  # Django's collector reads what it deletes (DOT's way)


def test_only_django_pars_rows_refer_to_grants_here() -> None:
    assert dot._grant_relations()[1]


def test_an_expired_code_is_refused_from_the_row_read_once(logged_in_browser: Browser, confidential_app: Any) -> None:
    code = code_for(logged_in_browser, confidential_app)
    get_grant_model().objects.filter(code=code).update(expires=timezone.now() - timedelta(seconds=1))

    response = exchange_code(confidential_app, code)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_grant"
    assert get_grant_model().objects.filter(code=code).exists()  # not spent
