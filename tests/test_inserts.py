"""django_par.inserts writes the rows Model.save() would write, on every database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, models
from django.utils import timezone

from django_par import inserts
from django_par.flow.request_uri import new_request_uri, request_uri_digest
from django_par.inserts import insert
from django_par.models import PushedRequest, UsedAssertion
from tests.helpers.factories import PublicApplicationFactory

pytestmark = pytest.mark.django_db


def pushed_request() -> PushedRequest:
    now = timezone.now()
    return PushedRequest(
        request_uri_digest=request_uri_digest(new_request_uri()),
        application=PublicApplicationFactory(),
        parameters={"response_type": "code", "state": "état-✓-\U0001f512", "claims": '{"id_token": {"acr": null}}'},
        created_at=now,
        expires_at=now + timedelta(seconds=90),
    )


def used_assertion() -> UsedAssertion:
    return UsedAssertion(key_digest=request_uri_digest(new_request_uri()), expires_at=timezone.now())


def column_values(instance: models.Model) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


UNIQUE_COLUMN = {PushedRequest: "request_uri_digest", UsedAssertion: "key_digest"}


@pytest.mark.parametrize("new", [pushed_request, used_assertion], ids=["pushed request", "used assertion"])
def test_the_row_is_the_one_save_writes(new: Any) -> None:
    inserted = new()
    model = type(inserted)
    unique = UNIQUE_COLUMN[model]
    saved = model(**{**column_values(inserted), unique: "saved"})  # the same values, its own unique key

    insert(inserted)
    saved.save(force_insert=True)

    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding and inserted._state.db == "default"
    stored = model.objects.in_bulk([inserted.pk, saved.pk])
    assert column_values(stored[inserted.pk]) == column_values(inserted)
    assert {**column_values(stored[inserted.pk]), unique: ""} == {**column_values(stored[saved.pk]), unique: ""}


def test_a_duplicate_raises_integrity_error_as_save_does() -> None:
    first = used_assertion()
    insert(first)
    duplicate = UsedAssertion(key_digest=first.key_digest, expires_at=first.expires_at)

    with pytest.raises(IntegrityError):
        insert(duplicate)


@pytest.mark.parametrize("path", ["returning", "lastrowid", "save"])
def test_every_path_sets_the_id_of_the_new_row(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "lastrowid":
        if connection.vendor == "postgresql":
            pytest.skip("PostgreSQL always returns the id")
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    elif path == "save":  # a database without the fast path
        monkeypatch.setattr(inserts, "FAST_PATH_VENDORS", frozenset())
    elif not connection.features.can_return_columns_from_insert:
        pytest.skip("this database has no INSERT ... RETURNING")
    earlier = used_assertion()
    insert(earlier)
    inserted = used_assertion()

    insert(inserted)

    assert inserted.pk is not None and inserted.pk != earlier.pk
    assert UsedAssertion.objects.get(pk=inserted.pk).key_digest == inserted.key_digest


def test_the_inserted_instance_is_a_stored_one() -> None:
    """The two _state flags insert() sets: a later save() updates the row, validation sees it as itself."""
    inserted = used_assertion()
    insert(inserted)
    inserted.expires_at += timedelta(seconds=30)

    inserted.validate_unique()
    inserted.save()

    assert UsedAssertion.objects.get().expires_at == inserted.expires_at
