"""Loading clients (DOT applications with their PAR metadata), and the client cache."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.contrib.auth.hashers import identify_hasher
from django.db.models.signals import pre_save
from django.utils.crypto import constant_time_compare, salted_hmac
from oauth2_provider.models import get_application_model

from ..conf import par_settings
from ..models import ClientMetadata
from .cache import get_cache

CLIENT_ID_MAX_LENGTH = 255


def load_application(client_id: str) -> Any | None:
    """The usable application with this client_id (with its PAR metadata), or None.

    Found applications are kept in ``CLIENT_CACHE_ALIAS`` for ``CLIENT_CACHE_TTL``
    seconds, and so is the absence of one (an unknown client id must not cost a
    query where a known one costs none: that would tell them apart by time);
    saving or deleting an application or its metadata evicts both.
    """
    if not client_id or len(client_id) > CLIENT_ID_MAX_LENGTH or "\x00" in client_id:
        return None
    application = _cached_application(client_id)
    if application is None:
        return None
    is_usable = getattr(application, "is_usable", None)
    if is_usable is not None and not is_usable(None):
        return None
    return application


# (database alias, the application's column values, the metadata row's or None)
Snapshot = tuple[str, tuple[Any, ...], tuple[Any, ...] | None]
# What the client cache keeps for a client_id that names no application.
UNKNOWN = "unknown"


@functools.cache
def _columns() -> tuple[list[str], list[str], str]:
    """The attnames a snapshot's values belong to, in order, and the cache key prefix.

    The prefix names the column layout: a shared cache never hands a snapshot of
    one layout (another deployment's models) to code expecting another.
    """
    application_names = [field.attname for field in get_application_model()._meta.concrete_fields]
    metadata_names = [field.attname for field in ClientMetadata._meta.concrete_fields]
    layout = hashlib.sha256(repr((application_names, metadata_names)).encode()).hexdigest()[:12]
    return application_names, metadata_names, f"django_par.client.{layout}."


def _application_cache_key(client_id: str) -> str:
    return _columns()[2] + hashlib.sha256(client_id.encode()).hexdigest()


def _cached_application(client_id: str) -> Any | None:
    """A fresh application object with its metadata, from the cache or one query.

    The cache keeps column values, never an object it hands out: every caller
    (request, thread) gets instances of its own, built by ``Model.from_db`` as a
    queryset builds them. Measured with ``benchmarks/micro.py client-cache``
    (client CPU per call, SQLite / PostgreSQL): the query costs 390-410 /
    550-570 µs, an in-process hit 16 / 16 µs, a Redis hit 185-225 / 170-225 µs.
    A push costs 800-1,000 µs, so the cache saves 40-60 % of one. Building each
    caller its own instances is 14-15 µs of the hit in that tight loop (handing
    out one shared object cost 0.2 µs), but 40-60 µs of a whole push (in-process
    A/B of 3,000 pushes through the test client, SQLite: sharing the rebuilt
    object instead took it away), 5 % of one: the price of sharing nothing mutable.
    """
    ttl = par_settings.CLIENT_CACHE_TTL
    cache = get_cache(par_settings.CLIENT_CACHE_ALIAS)
    key = _application_cache_key(client_id)
    if ttl:
        snapshot = cache.get(key)
        if snapshot == UNKNOWN:
            _decoy(client_id)
            return None
        if snapshot is not None:
            return _rebuild(snapshot)
    # client_id is unique: a slice, not first(), which would add an ORDER BY.
    queryset = get_application_model().objects.select_related("par_metadata").filter(client_id=client_id)
    found = list(queryset[:1])
    if not found:
        if ttl:
            cache.set(key, UNKNOWN, ttl)  # evicted when an application with this client_id is saved
        return None
    snapshot = _snapshot(found[0], queryset.db)
    if ttl:
        cache.set(key, snapshot, ttl)  # with its metadata, or the absence of a row
    return _rebuild(snapshot)


@functools.cache
def _decoy_snapshot() -> Snapshot:
    return _snapshot(get_application_model()(), "default")


def _decoy(client_id: str) -> None:
    """The work of a known client's failure: its rebuild and the keyed digest of its secret check.

    A remembered unknown client_id would otherwise be answered some 25 µs sooner
    than a known one (``benchmarks/auth_timing.py``): a timing oracle for client ids.
    """
    _rebuild(_decoy_snapshot())
    try:
        identify_hasher(_DECOY_HASH)
    except ValueError:  # a site without the PBKDF2 hasher: the lookup was paid all the same
        pass
    digest = salted_hmac("django_par.client_lookup", client_id, algorithm="sha256").hexdigest()
    constant_time_compare(digest, _DECOY_HASH)


# Shaped like DOT's stored secrets (Django's default hasher); never compared with a real secret.
_DECOY_HASH = "pbkdf2_sha256$1000000$django-par-decoy$" + "A" * 43 + "="


def _snapshot(application: Any, db: str) -> Snapshot:
    try:
        metadata: ClientMetadata | None = application.par_metadata
    except ClientMetadata.DoesNotExist:
        metadata = None
    return (
        db,  # where the row came from, for from_db
        _column_values(application),
        None if metadata is None else _column_values(metadata),
    )


def _column_values(instance: Any) -> tuple[Any, ...]:
    return tuple(getattr(instance, field.attname) for field in instance._meta.concrete_fields)


def _rebuild(snapshot: Snapshot) -> Any:
    db, application_values, metadata_values = snapshot
    application_names, metadata_names, _ = _columns()
    application = get_application_model().from_db(db, application_names, _own_copies(application_values))
    if metadata_values is None:
        # No row: an unsaved one with the defaults, through the reverse one-to-one
        # accessor, which sets its application_id and both relation caches (no
        # query, nothing saved). ClientMetadata(application=...) would set them twice.
        application.par_metadata = ClientMetadata()
    else:
        application.par_metadata = ClientMetadata.from_db(db, metadata_names, _own_copies(metadata_values))
    return application


def _own_copies(values: tuple[Any, ...]) -> list[Any]:
    return [_own_copy(value) for value in values]


def _own_copy(value: Any) -> Any:
    """A copy of a JSON-like value (a JSONField's dicts and lists): mutable, so never shared."""
    if isinstance(value, dict):
        return {key: _own_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_own_copy(item) for item in value]
    return value


def evict_cached_application(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Signal receiver: an application or its metadata changed; forget the cached copy.

    Before a save the stored client_id is evicted too, in case it is being renamed.
    """
    application_model = get_application_model()
    application = instance if isinstance(instance, application_model) else getattr(instance, "application", None)
    if application is None:
        return
    client_ids = {application.client_id}
    if kwargs.get("signal") is pre_save and application.pk is not None:
        client_ids.update(application_model.objects.filter(pk=application.pk).values_list("client_id", flat=True))
    get_cache(par_settings.CLIENT_CACHE_ALIAS).delete_many(
        [_application_cache_key(client_id) for client_id in client_ids]
    )
