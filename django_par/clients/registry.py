"""Loading clients (DOT applications with their PAR metadata), and the client cache."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models.signals import pre_save
from oauth2_provider.models import get_application_model

from ..conf import par_settings
from .cache import get_cache

CLIENT_ID_MAX_LENGTH = 255


def load_application(client_id: str) -> Any | None:
    """The usable application with this client_id (with its PAR metadata), or None.

    Found applications are kept in ``CLIENT_CACHE_ALIAS`` for ``CLIENT_CACHE_TTL``
    seconds; saving or deleting an application or its metadata evicts it.
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


def _application_cache_key(client_id: str) -> str:
    return "django_par.client." + hashlib.sha256(client_id.encode()).hexdigest()


def _cached_application(client_id: str) -> Any | None:
    ttl = par_settings.CLIENT_CACHE_TTL
    cache = get_cache(par_settings.CLIENT_CACHE_ALIAS)
    key = _application_cache_key(client_id)
    if ttl:
        cached = cache.get(key)
        if cached is not None:
            return cached
    # client_id is unique: a slice, not first(), which would add an ORDER BY.
    found = list(get_application_model().objects.select_related("par_metadata").filter(client_id=client_id)[:1])
    if not found:
        return None
    if ttl:
        cache.set(key, found[0], ttl)  # with its metadata, or the absence of a row
    return found[0]


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
    get_cache(par_settings.CLIENT_CACHE_ALIAS).delete_many([_application_cache_key(client_id) for client_id in client_ids])
