"""One DPoP proof raced by several requests at once is accepted once (RFC 9449 §11.1), on PostgreSQL and MariaDB.

Each request runs in its own thread with its own database connection, as separate
processes would: only the database's unique key on the replay store decides.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from django_par.models import PushedRequest, UsedAssertion
from tests.conftest import code_request, push
from tests.dpop.helpers import proof
from tests.flow.test_single_use_concurrency import race, racing_on_a_server_database
from tests.helpers.factories import PublicApplicationFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator

RACERS = 6


@racing_on_a_server_database
def test_one_proof_raced_at_the_par_endpoint_is_accepted_once(settings: Any) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        race_one_proof()


def race_one_proof() -> None:
    application = PublicApplicationFactory()
    once = proof()

    def attempt() -> Any:
        response = push(Client(), code_request(application), DPoP=once)
        return response.status_code, response.json().get("error")

    results = race(*([attempt] * RACERS))

    assert sorted(results, key=str) == [(201, None)] + [(400, "invalid_dpop_proof")] * (RACERS - 1)
    assert PushedRequest.objects.count() == 1
    assert UsedAssertion.objects.count() == 1
