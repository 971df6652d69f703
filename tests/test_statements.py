"""django_par.statements writes and reads the rows the ORM would, and moves them as its UPDATE would, on every database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, models
from django.utils import timezone

from django_par import statements
from django_par.flow.request_uri import new_request_uri, request_uri_digest
from django_par.models import PushedRequest, UsedAssertion
from django_par.statements import insert, select_one, update_where
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
        monkeypatch.setattr(statements, "FAST_PATH_VENDORS", frozenset())
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


# select_one and update_where: the fast path and the ORM path (a database without the fast path).
PATHS = ["prepared", "orm"]


def use_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "orm":
        monkeypatch.setattr(statements, "FAST_PATH_VENDORS", frozenset())


def every_field(instance: models.Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.parametrize("path", PATHS)
def test_select_one_reads_the_row_the_orm_reads(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = pushed_request()
    stored.parameters = {**stored.parameters, "max_age": 0, "nested": {"list": [1, 2.5, None, True]}}
    stored.used_at = stored.created_at + timedelta(microseconds=123457)
    insert(stored)
    insert(pushed_request())  # another row, not to be read
    use_path(path, monkeypatch)

    found = select_one(PushedRequest, "request_uri_digest", stored.request_uri_digest)

    orm = PushedRequest.objects.get(request_uri_digest=stored.request_uri_digest)
    assert found is not None
    assert every_field(found) == every_field(orm)
    assert found.parameters == stored.parameters
    assert found.used_at == stored.used_at and found.used_at.tzinfo is not None
    assert found.consumed_at is None
    assert found.state == PushedRequest.State.PUSHED
    assert not found._state.adding and found._state.db == "default"
    assert found.application == stored.application  # the foreign key's id, loaded on demand


@pytest.mark.parametrize("path", PATHS)
def test_select_one_finds_nothing_for_an_unknown_value(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    insert(pushed_request())
    use_path(path, monkeypatch)

    assert select_one(PushedRequest, "request_uri_digest", "0" * 64) is None


def move(pushed: PushedRequest, now: Any, state: str) -> int:
    return update_where(
        PushedRequest,
        pushed.pk,
        where={"state": state},
        later={"expires_at": now},
        values={"state": PushedRequest.State.IN_USE, "used_at": now, "expires_at": now + timedelta(minutes=5)},
    )


@pytest.mark.parametrize("path", PATHS)
def test_update_where_moves_a_live_row_in_the_expected_state_once(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pushed = pushed_request()
    insert(pushed)
    other = pushed_request()
    insert(other)
    use_path(path, monkeypatch)
    now = timezone.now()

    assert move(pushed, now, PushedRequest.State.PUSHED) == 1
    assert move(pushed, now, PushedRequest.State.PUSHED) == 0  # no longer in that state

    moved = PushedRequest.objects.get(pk=pushed.pk)
    assert moved.state == PushedRequest.State.IN_USE
    assert moved.used_at == now and moved.expires_at == now + timedelta(minutes=5)
    assert every_field(PushedRequest.objects.get(pk=other.pk)) == every_field(other)  # only its row


@pytest.mark.parametrize("path", PATHS)
def test_update_where_refuses_a_wrong_state_or_an_expired_row(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pushed = pushed_request()
    insert(pushed)
    use_path(path, monkeypatch)

    assert move(pushed, timezone.now(), PushedRequest.State.IN_USE) == 0  # wrong state
    assert move(pushed, pushed.expires_at, PushedRequest.State.PUSHED) == 0  # expires_at is not later
    assert move(pushed, pushed.expires_at + timedelta(seconds=1), PushedRequest.State.PUSHED) == 0

    assert every_field(PushedRequest.objects.get(pk=pushed.pk)) == every_field(pushed)
