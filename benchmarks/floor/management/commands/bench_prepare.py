"""Create the benchmark's own clients and a logged-in session; print them as JSON.

Run after migrate and setup_demo (which creates the demo user and clients):

* ``bench-pkjwt``: a confidential client that must authenticate with
  private_key_jwt, its public key registered in ClientMetadata.jwks;
* ``bench-jar``: a public client that pushes signed request objects, with the
  same kind of registered key;
* ``bench-plain``: a confidential client whose secret DOT stores unhashed
  (``hash_client_secret`` off), secret ``bench-plain-secret``, for the full-flow
  benchmark's comparison with DOT's default hashed secret;
* a session of the demo user, for the authorization endpoint scenarios.
"""

import json
import secrets

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

from django_par.models import ClientMetadata

Application = get_application_model()

PKJWT_CLIENT_ID = "bench-pkjwt"
JAR_CLIENT_ID = "bench-jar"
PLAIN_CLIENT_ID = "bench-plain"
PLAIN_SECRET = "bench-plain-secret"


class Command(BaseCommand):
    help = "Create the benchmark clients (private_key_jwt, request objects) and a session of user demo."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, required=True, help="Port of the benchmark server.")
        parser.add_argument("--jwks", required=True, help="File holding the clients' public JWK Set.")

    def handle(self, *args, port, jwks, **options):
        with open(jwks) as jwks_file:
            key_set = json.load(jwks_file)
        redirect_uris = " ".join(f"http://{host}:{port}/demo/callback/" for host in ("127.0.0.1", "localhost"))
        self.create_client(
            PKJWT_CLIENT_ID,
            Application.CLIENT_CONFIDENTIAL,
            redirect_uris,
            key_set,
            auth_method=ClientMetadata.AuthMethod.PRIVATE_KEY_JWT,
        )
        self.create_client(JAR_CLIENT_ID, Application.CLIENT_PUBLIC, redirect_uris, key_set)
        self.create_client(
            PLAIN_CLIENT_ID, Application.CLIENT_CONFIDENTIAL, redirect_uris, key_set, plain_secret=PLAIN_SECRET
        )
        result = {
            "pkjwt_client_id": PKJWT_CLIENT_ID,
            "jar_client_id": JAR_CLIENT_ID,
            "plain_client_id": PLAIN_CLIENT_ID,
            "plain_secret": PLAIN_SECRET,
            "session_cookie_name": settings.SESSION_COOKIE_NAME,
            "session_key": self.demo_session_key(),
        }
        self.stdout.write(json.dumps(result))

    def create_client(self, client_id, client_type, redirect_uris, key_set, auth_method="", plain_secret=""):
        application = Application.objects.filter(client_id=client_id).first() or Application(client_id=client_id)
        application.name = f"Benchmark client {client_id}"
        application.client_type = client_type
        application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        application.redirect_uris = redirect_uris
        application.algorithm = Application.RS256_ALGORITHM
        if plain_secret:
            # Stored as given: DOT compares it in plain text, no password hasher.
            application.client_secret = plain_secret
            application.hash_client_secret = False
        elif client_type == Application.CLIENT_CONFIDENTIAL:
            # DOT wants a secret for a confidential client; this one never uses it.
            application.client_secret = secrets.token_urlsafe(32)
            application.hash_client_secret = True
        else:
            application.client_secret = ""
        application.full_clean()
        application.save()
        ClientMetadata.objects.update_or_create(
            application=application,
            defaults={"jwks": key_set, "token_endpoint_auth_method": auth_method},
        )

    def demo_session_key(self):
        """A session in which user demo is logged in, as django.contrib.auth.login leaves it."""
        from importlib import import_module

        user = get_user_model().objects.get(username="demo")
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key
