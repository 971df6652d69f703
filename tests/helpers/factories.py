"""factory-boy factories for the users, DOT applications and PAR rows of the tests."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, get_application_model

from django_par.flow.request_uri import request_uri_digest
from django_par.models import ClientMetadata, PushedRequest

# The plain-text secret every confidential test client is given.
CLIENT_SECRET = "s3cr3t-Pa55w0rd-for-tests-only"
REDIRECT_URI = "https://client.example.org/callback"
OTHER_REDIRECT_URI = "https://client.example.org/other-callback"

# Hashed once for the whole run: the hasher is deliberately slow, and DOT's
# ClientSecretField leaves a value it recognises as hashed untouched.
HASHED_CLIENT_SECRET = make_password(CLIENT_SECRET)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.LazyFunction(lambda: make_password(None))  # unusable password


class ConfidentialApplicationFactory(factory.django.DjangoModelFactory):
    """A confidential authorization-code client whose secret is stored hashed."""

    class Meta:
        model = get_application_model()

    name = factory.Sequence(lambda n: f"Confidential client {n}")
    client_id = factory.Sequence(lambda n: f"confidential-client-{n}")
    client_secret = HASHED_CLIENT_SECRET
    hash_client_secret = True
    client_type = AbstractApplication.CLIENT_CONFIDENTIAL
    authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
    redirect_uris = f"{REDIRECT_URI} {OTHER_REDIRECT_URI}"
    user = factory.SubFactory(UserFactory)
    algorithm = AbstractApplication.RS256_ALGORITHM


class PlainSecretApplicationFactory(ConfidentialApplicationFactory):
    """A confidential client created with hash_client_secret=False: the secret is stored as is."""

    client_id = factory.Sequence(lambda n: f"plain-secret-client-{n}")
    client_secret = CLIENT_SECRET
    hash_client_secret = False


class PublicApplicationFactory(ConfidentialApplicationFactory):
    """A public client: it authenticates with its client_id alone (RFC 6749 §2.1)."""

    client_id = factory.Sequence(lambda n: f"public-client-{n}")
    client_type = AbstractApplication.CLIENT_PUBLIC


class ClientMetadataFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientMetadata

    application = factory.SubFactory(ConfidentialApplicationFactory)


class PushedRequestFactory(factory.django.DjangoModelFactory):
    """A stored pushed request; ``expired=True`` makes one whose lifetime is over."""

    class Meta:
        model = PushedRequest

    class Params:
        expired = factory.Trait(expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5)))

    request_uri_digest = factory.Sequence(lambda n: request_uri_digest(f"urn:ietf:params:oauth:request_uri:test-{n}"))
    application = factory.SubFactory(ConfidentialApplicationFactory)
    parameters = factory.LazyAttribute(
        lambda row: {"response_type": "code", "client_id": row.application.client_id, "redirect_uri": REDIRECT_URI}
    )
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=5))
