"""Checking a client secret against DOT's stored (usually hashed) value."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.utils.crypto import constant_time_compare
from oauth2_provider.settings import oauth2_settings


def verify_client_secret(application: Any, secret: str) -> bool:
    """True when ``secret`` is the application's client secret.

    An empty secret never matches and never reaches a password hasher.
    """
    stored = application.client_secret or ""
    if not secret or not stored:
        return False
    try:
        identify_hasher(stored)
    except ValueError:  # stored unhashed (hash_client_secret=False)
        return constant_time_compare(secret, stored)
    return check_password(secret, stored)


def spend_hasher_time(secret: str) -> None:
    """Run the secret hasher once for a client that does not exist.

    An unknown client_id then costs what a wrong secret costs, so response
    times do not tell which client ids exist (as Django's ModelBackend does).
    """
    if secret:
        make_password(secret, hasher=oauth2_settings.CLIENT_SECRET_HASHER)
