"""Purging expired pushed requests, and the migrations being in step with the models."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_par.flow.purge import purge_expired
from django_par.models import PushedRequest
from tests.helpers.factories import PushedRequestFactory

pytestmark = pytest.mark.django_db

TABLE = PushedRequest._meta.db_table


def pushed_request_deletes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("DELETE") and TABLE in q["sql"]
    ]


def run_purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_pushed_requests", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


class TestPurgeExpired:
    def test_deletes_only_expired_rows_in_every_state(self):
        live = [PushedRequestFactory() for _ in range(2)]
        live.append(PushedRequestFactory(state=PushedRequest.State.IN_USE))
        PushedRequestFactory(expired=True)
        PushedRequestFactory(expired=True, state=PushedRequest.State.IN_USE)
        PushedRequestFactory(expired=True, state=PushedRequest.State.CONSUMED)

        assert purge_expired() == 3
        assert set(PushedRequest.objects.all()) == set(live)

    def test_nothing_expired_deletes_nothing(self):
        PushedRequestFactory()
        assert purge_expired() == 0
        assert PushedRequest.objects.count() == 1


class TestPurgeCommand:
    def test_deletes_in_batches_of_batch_size(self):
        for _ in range(25):
            PushedRequestFactory(expired=True)
        live = [PushedRequestFactory() for _ in range(5)]

        with CaptureQueriesContext(connection) as queries:
            output = run_purge("--batch-size", "10")

        assert len(pushed_request_deletes(queries)) == 3  # 10 + 10 + 5
        assert "Deleted 25" in output
        assert set(PushedRequest.objects.all()) == set(live)

    def test_default_batch_size_deletes_in_one_statement(self):
        for _ in range(5):
            PushedRequestFactory(expired=True)

        with CaptureQueriesContext(connection) as queries:
            output = run_purge()

        assert len(pushed_request_deletes(queries)) == 1
        assert "Deleted 5" in output
        assert not PushedRequest.objects.exists()

    def test_nothing_to_purge(self):
        PushedRequestFactory()
        with CaptureQueriesContext(connection) as queries:
            output = run_purge("--batch-size", "10")
        assert pushed_request_deletes(queries) == []
        assert "Deleted 0" in output
        assert PushedRequest.objects.count() == 1

    @pytest.mark.parametrize("batch_size", ["0", "-5"])
    def test_batch_size_below_one_is_refused(self, batch_size):
        PushedRequestFactory(expired=True)
        with pytest.raises(CommandError, match="at least 1"):
            run_purge("--batch-size", batch_size)
        assert PushedRequest.objects.count() == 1


def test_migrations_match_the_models():
    # makemigrations --check exits non-zero (SystemExit) when a change is missing.
    out = StringIO()
    call_command("makemigrations", "django_par", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()
