"""What each of django_par's speed tricks saves, measured in-process.

    benchmarks/.venv/bin/python benchmarks/micro.py                       # SQLite
    BENCH_DB=postgresql benchmarks/.venv/bin/python benchmarks/micro.py   # PostgreSQL

Each figure is the median over 5 runs of the CPU time of this process per call
(``time.process_time``), in µs; a push costs about 800–1,000 µs of server CPU
(benchmarks/README.md), so a trick worth keeping saves tens of µs. On a fresh
temporary SQLite file (WAL, as the load benchmark), or PostgreSQL with
BENCH_DB=postgresql (it creates and drops the database BENCH_PG_NAME, default
django_par_bench_micro). Needs Redis on 127.0.0.1:6379 for the shared-cache
figures (BENCH_REDIS_URL), as benchmarks/run.sh does. Run benchmarks/run.sh
once first: it creates benchmarks/.venv.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from benchmarks.scratch import scratch_database  # noqa: E402

RUNS = 5


def per_call(function: Callable[[], Any], calls: int, prepare: Callable[[], Any] | None = None) -> float:
    """Median over RUNS of the CPU µs per call; ``prepare`` runs untimed before each run."""
    results = []
    for _ in range(RUNS):
        if prepare is not None:
            prepare()
        started = time.process_time()
        for _ in range(calls):
            function()
        results.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(results)


def report(name: str, micros: float, baseline: float | None = None) -> None:
    saving = f"   saves {baseline - micros:7.1f} µs/call" if baseline is not None else ""
    print(f"  {name:60s} {micros:9.1f} µs{saving}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per run (default 2000)")
    parser.add_argument("sections", nargs="*", choices=[[], *SECTIONS], help="what to measure (default: all)")
    args = parser.parse_args()

    with scratch_database("micro"):
        measure(args.calls, args.sections or list(SECTIONS))


def measure(calls: int, sections: list[str]) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"django_par micro-benchmarks on {connection.vendor}: CPU of this process per call, median of {RUNS} runs")
    for section in sections:
        SECTIONS[section](calls)


def measure_inserts(calls: int) -> None:
    """django_par.statements.insert() against save(force_insert=True), autocommit as on a push."""
    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    from django_par.flow.request_uri import new_request_uri, request_uri_digest
    from django_par.models import PushedRequest, UsedAssertion
    from django_par.statements import insert

    application = get_application_model().objects.create(
        client_id="micro-insert", client_type="public", authorization_grant_type="authorization-code"
    )
    parameters = {
        "response_type": "code",
        "client_id": "micro-insert",
        "redirect_uri": "https://client.example.org/cb",
        "scope": "openid read",
        "state": "af0ifjsldkj",
        "nonce": "n-0S6_WzA2Mj",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    rows: list[Any] = []

    def new_rows() -> None:
        PushedRequest.objects.all().delete()
        UsedAssertion.objects.all().delete()
        now = timezone.now()
        rows[:] = [
            PushedRequest(
                request_uri_digest=request_uri_digest(new_request_uri()),
                application=application,
                parameters=parameters,
                created_at=now,
                expires_at=now + timedelta(seconds=90),
            )
            for _ in range(calls)
        ]

    def next_row() -> Any:
        return rows.pop()

    print("inserts (one pushed request row)")
    saved = per_call(lambda: next_row().save(force_insert=True), calls, new_rows)
    report("PushedRequest.save(force_insert=True)", saved)
    report("django_par.statements.insert(pushed)", per_call(lambda: insert(next_row()), calls, new_rows), saved)


def measure_statements(calls: int) -> None:
    """DatabaseStore's lookup and two moves: django_par.statements against the ORM code they replace."""
    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    from django_par.flow.request_uri import new_request_uri, request_uri_digest
    from django_par.models import PushedRequest
    from django_par.statements import select_one, update_where

    State = PushedRequest.State
    application = get_application_model().objects.create(
        client_id="micro-statements", client_type="public", authorization_grant_type="authorization-code"
    )
    parameters = {"response_type": "code", "client_id": "micro-statements", "scope": "openid read", "state": "xyz"}
    now = timezone.now()
    PushedRequest.objects.all().delete()
    PushedRequest.objects.bulk_create(
        PushedRequest(
            request_uri_digest=request_uri_digest(new_request_uri()),
            application=application,
            parameters=parameters,
            created_at=now,
            expires_at=now + timedelta(days=1),
        )
        for _ in range(1000)
    )
    digest = PushedRequest.objects.values_list("request_uri_digest", flat=True)[500]

    def orm_find() -> Any:
        found = list(PushedRequest.objects.filter(request_uri_digest=digest)[:1])  # the code find() replaced
        return found[0] if found else None

    print("statements (DatabaseStore: the pushed row's lookup, a row among 1,000)")
    orm = per_call(orm_find, calls)
    report("ORM: filter(request_uri_digest=...)[:1]", orm)
    report(
        "django_par.statements.select_one(...)",
        per_call(lambda: select_one(PushedRequest, "request_uri_digest", digest), calls),
        orm,
    )

    ids: list[int] = []

    def rows_in(state: str) -> Callable[[], None]:
        def prepare() -> None:
            PushedRequest.objects.update(state=state, expires_at=timezone.now() + timedelta(days=1))
            ids[:] = PushedRequest.objects.values_list("pk", flat=True)[:calls]

        return prepare

    def orm_start() -> Any:
        moment = timezone.now()
        return PushedRequest.objects.filter(pk=ids.pop(), state=State.PUSHED, expires_at__gt=moment).update(
            state=State.IN_USE, used_at=moment, expires_at=moment + timedelta(minutes=30)
        )

    def prepared_start() -> Any:
        moment = timezone.now()
        return update_where(
            PushedRequest,
            ids.pop(),
            where={"state": State.PUSHED},
            later={"expires_at": moment},
            values={"state": State.IN_USE, "used_at": moment, "expires_at": moment + timedelta(minutes=30)},
        )

    def orm_consume() -> Any:
        moment = timezone.now()
        return PushedRequest.objects.filter(pk=ids.pop(), state=State.IN_USE, expires_at__gt=moment).update(
            state=State.CONSUMED, consumed_at=moment
        )

    def prepared_consume() -> Any:
        moment = timezone.now()
        return update_where(
            PushedRequest,
            ids.pop(),
            where={"state": State.IN_USE},
            later={"expires_at": moment},
            values={"state": State.CONSUMED, "consumed_at": moment},
        )

    moves = min(calls, 1000)
    print(f"statements (the state moves: a conditional UPDATE, autocommit, {moves} rows per run)")
    orm = per_call(orm_start, moves, rows_in(State.PUSHED))
    report("ORM: start_flow's filter(...).update(...)", orm)
    report("update_where(...) for start_flow", per_call(prepared_start, moves, rows_in(State.PUSHED)), orm)
    orm = per_call(orm_consume, moves, rows_in(State.IN_USE))
    report("ORM: consume's filter(...).update(...)", orm)
    report("update_where(...) for consume", per_call(prepared_consume, moves, rows_in(State.IN_USE)), orm)


def measure_client_cache(calls: int) -> None:
    """load_application: a cache hit (in process, or Redis) against the query it replaces."""
    from django.conf import settings
    from oauth2_provider.models import get_application_model

    from django_par.models import ClientMetadata

    model = get_application_model()
    public = model.objects.create(
        client_id="micro-public", client_type="public", authorization_grant_type="authorization-code"
    )
    with_keys = model.objects.create(
        client_id="micro-pkjwt", client_type="confidential", authorization_grant_type="authorization-code"
    )
    jwk = {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "e": "AQAB", "n": "x" * 342}
    ClientMetadata.objects.create(
        application=with_keys, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]}
    )
    base = dict(getattr(settings, "DJANGO_PAR", {}))

    print("client cache (load_application)")
    measure_client(with_keys.client_id, "metadata with a one-key jwks", calls, base)
    measure_client(public.client_id, "no metadata row", calls, base)


def measure_client(client_id: str, label: str, calls: int, base: dict[str, Any]) -> None:
    from django.test.utils import override_settings

    from django_par.clients import registry
    from django_par.clients.cache import IN_PROCESS_CACHE

    def load() -> Any:
        return registry.load_application(client_id)

    with override_settings(DJANGO_PAR={**base, "CLIENT_CACHE_TTL": 0}):
        query = per_call(load, calls)
    report(f"{label}: no cache (one query)", query)
    with override_settings(DJANGO_PAR={**base, "CLIENT_CACHE_ALIAS": None}):
        load()
        report(f"{label}: in-process hit", per_call(load, calls), query)
        # Of which the instances of its own (before, every caller got one shared object).
        snapshot = IN_PROCESS_CACHE.get(registry._application_cache_key(client_id))
        report(f"{label}: of which building its own instances", per_call(lambda: registry._rebuild(snapshot), calls))
    with override_settings(DJANGO_PAR={**base, "CLIENT_CACHE_ALIAS": "default"}):
        load()
        report(f"{label}: Redis hit", per_call(load, calls), query)


def measure_secret_cache(calls: int) -> None:
    """verify_client_secret of a hashed secret: the cache hit against the hasher it replaces."""
    from django.conf import settings
    from django.contrib.auth.hashers import check_password, make_password
    from django.test.utils import override_settings
    from oauth2_provider.models import get_application_model

    from django_par.clients.secrets import verify_client_secret

    application = get_application_model()(pk=10**9, client_secret=make_password("micro-secret"))
    base = dict(getattr(settings, "DJANGO_PAR", {}))
    print("verified-secret cache (verify_client_secret, hashed secret)")
    hashed = per_call(lambda: check_password("micro-secret", application.client_secret), 3)
    report("no cache: the password hasher (3 calls per run)", hashed)
    for alias, label in ((None, "in-process hit"), ("default", "Redis hit")):
        with override_settings(DJANGO_PAR={**base, "SECRET_CACHE_ALIAS": alias}):
            verify_client_secret(application, "micro-secret")
            report(label, per_call(lambda: verify_client_secret(application, "micro-secret"), calls), hashed)


def measure_key_sets(calls: int) -> None:
    """jose.keys: the lru_cache of parsed key sets against parsing the client's jwks each time."""
    import json

    from jwcrypto import jwk

    from django_par.jose import keys

    document = {"keys": [jwk.JWK.generate(kty="RSA", size=2048, kid="k1").export_public(as_dict=True)]}
    print("parsed key sets (jose.keys, a one-key RSA jwks)")
    parse = per_call(lambda: jwk.JWKSet.from_json(json.dumps(document, sort_keys=True)), calls)
    report("parsed every time (JWKSet.from_json)", parse)
    report("lru_cache hit (_key_set)", per_call(lambda: keys._key_set(document), calls), parse)


def measure_reverse(calls: int) -> None:
    """clients.assertions: the memo of reverse() against reverse() itself, for the two audience URLs."""
    from django.urls import reverse

    from django_par.clients import assertions

    names = ("oauth2_provider:token", "django_par:par")
    print("reverse() memo (clients.assertions.endpoint_urls, two URL names)")
    plain = per_call(lambda: [reverse(name) for name in names], calls)
    report("reverse() each time", plain)
    report(
        "memo hit (endpoint_urls)",
        per_call(lambda: assertions.endpoint_urls("https://idp.example/o", *names), calls),
        plain,
    )


def measure_resources(calls: int) -> None:
    """A protected-resource request (the example's /api/me/): a bearer token, then a DPoP-bound one.

    The DPoP figure includes making the proof (client side, ES256), measured apart
    and also shown, so that the server's share is the difference.
    """
    import hashlib
    import json
    import uuid

    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.utils import timezone
    from jwcrypto import jwk, jws
    from jwcrypto.common import base64url_encode
    from oauth2_provider.models import get_access_token_model, get_application_model

    from django_par.dpop.binding import bind_access_token
    from example_project.demo.api import MeView

    application = get_application_model().objects.create(
        client_id="micro-resources", client_type="public", authorization_grant_type="authorization-code"
    )
    user = get_user_model().objects.create(username="micro-resources")
    expires = timezone.now() + timedelta(hours=1)
    token_model = get_access_token_model()
    bearer = token_model.objects.create(
        user=user, application=application, token="b" * 40, scope="read", expires=expires
    )
    bound = token_model.objects.create(
        user=user, application=application, token="d" * 40, scope="read", expires=expires
    )
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    bind_access_token(bound, key.thumbprint())
    ath = base64url_encode(hashlib.sha256(bound.token.encode()).digest())
    header = json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": json.loads(key.export_public())})
    url = "http://127.0.0.1/api/me/"

    def proof() -> str:
        claims = {"jti": str(uuid.uuid4()), "htm": "GET", "htu": url, "iat": int(time.time()), "ath": ath}
        signed = jws.JWS(json.dumps(claims).encode())
        signed.add_signature(key, alg="ES256", protected=header)
        return str(signed.serialize(compact=True))

    view = MeView.as_view()
    factory = RequestFactory()

    def call(authorization: str, dpop: str | None = None) -> None:
        headers = {"authorization": authorization} | ({"dpop": dpop} if dpop else {})
        response = view(factory.get("/api/me/", headers=headers, SERVER_NAME="127.0.0.1"))
        assert response.status_code == 200, response.content

    print("protected resources (django_par.views.resources, the example's /api/me/)")
    plain = per_call(lambda: call(f"Bearer {bearer.token}"), calls)
    report("Bearer token", plain)
    making = per_call(proof, calls)
    report("making an ES256 proof (client side)", making)
    dpop = per_call(lambda: call(f"DPoP {bound.token}", proof()), calls)
    report("DPoP-bound token with a proof (proof making included)", dpop)
    report("  server's DPoP share (difference, proof making excluded)", dpop - plain - making)


def measure_id_token(calls: int) -> None:
    """dot.SignedIdTokenMixin: the ID token of the exchange at hand, against DOT reading it back."""
    import json
    import uuid

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from jwcrypto import jwt
    from oauth2_provider.models import get_application_model, get_id_token_model

    from django_par import dot
    from django_par.clients.validator import OAuth2Validator

    user = get_user_model().objects.create(username="micro-id-token")
    application = get_application_model().objects.create(
        client_id="micro-id-token",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        algorithm="RS256",
    )
    jti = str(uuid.uuid4())
    row = get_id_token_model().objects.create(
        user=user, application=application, jti=jti, expires=timezone.now() + timedelta(hours=1), scope="openid"
    )
    claims = {"aud": application.client_id, "jti": jti, "sub": str(user.pk), "exp": int(time.time()) + 3600}
    token = jwt.JWT(header={"alg": "RS256", "kid": application.jwk_key.thumbprint()}, claims=json.dumps(claims))
    token.make_signed_token(application.jwk_key)
    signed = token.serialize()
    validator = OAuth2Validator()

    def at_hand() -> Any:
        reset = dot._signed_id_token.set((signed, row))
        try:
            return validator._load_id_token(signed)
        finally:
            dot._signed_id_token.reset(reset)

    assert validator._load_id_token(signed) is not None and at_hand() is row
    print("ID token of a code exchange (dot.SignedIdTokenMixin, RS256)")
    dots = per_call(lambda: validator._load_id_token(signed), calls)
    report("DOT: parse, client query, verify, IDToken query", dots)
    report("the row finalize_id_token just saved", per_call(at_hand, calls), dots)


def measure_consent(calls: int) -> None:
    """The consent step of a pushed request: the client query oauthlib skips, the hidden fields not rendered."""
    from oauth2_provider.forms import AllowForm
    from oauth2_provider.models import get_application_model

    model = get_application_model()
    model.objects.create(client_id="micro-consent", client_type="public", authorization_grant_type="authorization-code")
    print("consent step of a pushed request")
    report(
        "client query of DOT's validator (_load_application)",
        per_call(lambda: model.objects.get(client_id="micro-consent"), calls),
    )

    def hidden_fields(only_client_id: bool) -> Callable[[], Any]:
        form = AllowForm(initial={"client_id": "micro-consent"})
        if only_client_id:
            form.fields = {"client_id": form.fields["client_id"]}
        return lambda: [str(field) for field in form if field.is_hidden]

    every = per_call(hidden_fields(False), calls // 4)
    report("consent page: DOT's form, every hidden field rendered", every)
    report("consent page: client_id only (pushed request)", per_call(hidden_fields(True), calls // 4), every)


def measure_grant(calls: int) -> None:
    """dot.GrantReadOnceMixin: the grant reads and the deletion of a code exchange, against DOT's."""
    import itertools

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from oauth2_provider.models import get_application_model, get_grant_model
    from oauth2_provider.oauth2_validators import OAuth2Validator as DotOAuth2Validator
    from oauthlib.common import Request

    from django_par.clients.validator import OAuth2Validator

    application = get_application_model().objects.create(
        client_id="micro-grant",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://client.example.org/cb",
    )
    user = get_user_model().objects.create(username="micro-grant")
    numbers = itertools.count()

    def new_grant() -> str:
        code = f"micro-grant-code-{next(numbers)}"
        get_grant_model().objects.create(
            application=application,
            user=user,
            code=code,
            expires=timezone.now() + timedelta(minutes=5),
            redirect_uri="https://client.example.org/cb",
            scope="openid",
            code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            code_challenge_method="S256",
            nonce="n-0S6_WzA2Mj",
        )
        return code

    code = new_grant()
    validator = OAuth2Validator()

    from django.db import connection

    table = connection.ops.quote_name(get_grant_model()._meta.db_table)

    def on_a_cursor() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} WHERE code = %s LIMIT 1", [code])
            return cursor.fetchone()

    print("one grant row by its code: what the ORM adds to the SQL (compiling the query, building the row)")
    orm = per_call(lambda: list(get_grant_model().objects.filter(code=code)[:1]), calls)
    report("the ORM: filter(code=...)[:1]", orm)
    report("its SQL on a cursor", per_call(on_a_cursor, calls), orm)

    def asking(instance: Any, code: str) -> Request:
        request = Request("/o/token/")
        instance.get_authorization_code_scopes("micro-grant", code, "https://client.example.org/cb", request)
        request.client = application
        assert instance.validate_code("micro-grant", code, application, request)
        instance.get_code_challenge(code, request)
        instance.get_code_challenge_method(code, request)
        instance.confirm_redirect_uri("micro-grant", code, "https://client.example.org/cb", application, request)
        instance.get_authorization_code_nonce("micro-grant", code, "", request)
        return request

    def questions(instance: Any) -> Callable[[], Any]:
        return lambda: asking(instance, code)

    print("grant reads of a code exchange (dot.GrantReadOnceMixin: OpenID scopes, validate_code, challenge,")
    print("method, redirect_uri, nonce; with django_par's DPoP and details checks on the row read once)")
    dots = per_call(questions(DotOAuth2Validator()), calls)
    report("DOT: six reads of the grant (and its user)", dots)
    report("one prepared read of each row, kept on the oauthlib request", per_call(questions(validator), calls), dots)

    def exchange(instance: Any) -> Callable[[], Any]:
        def run() -> None:
            code = new_grant()
            with transaction.atomic():
                request = asking(instance, code)
                instance.invalidate_authorization_code("micro-grant", code, request)

        return run

    print("the same, with the grant's creation and its deletion (invalidate_authorization_code)")
    dots = per_call(exchange(DotOAuth2Validator()), calls // 4)
    report("DOT: the reads, then Django's collector", dots)
    report("one read, then one DELETE by key", per_call(exchange(validator), calls // 4), dots)


SECTIONS: dict[str, Callable[[int], None]] = {
    "inserts": measure_inserts,
    "statements": measure_statements,
    "client-cache": measure_client_cache,
    "secret-cache": measure_secret_cache,
    "key-sets": measure_key_sets,
    "reverse": measure_reverse,
    "resources": measure_resources,
    "id-token": measure_id_token,
    "consent": measure_consent,
    "grant": measure_grant,
}

if __name__ == "__main__":
    main()
