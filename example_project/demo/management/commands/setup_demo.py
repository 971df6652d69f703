"""Create (or refresh) the demo user and clients and print how to try a push."""

import base64
import hashlib
import secrets
import shlex

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

from django_par.conf import par_settings
from django_par.models import ClientMetadata
from example_project.demo.rp import client_public_jwks

Application = get_application_model()

DEMO_USERNAME = DEMO_PASSWORD = "demo"
CONFIDENTIAL_SECRET = "demo-confidential-secret"
TRUSTED_SECRET = "demo-trusted-secret"


class Command(BaseCommand):
    help = "Create or refresh the demo user and OAuth clients, then print how to try them."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port of the dev server (default 8000).")

    def handle(self, *args, port, **options):
        redirect_uris = [f"http://{host}:{port}/demo/callback/" for host in ("127.0.0.1", "localhost")]
        self.create_user()
        confidential = self.create_client(
            "demo-confidential", "Demo confidential client", redirect_uris, CONFIDENTIAL_SECRET
        )
        # RFC 9396: it may push payments as authorization_details (the home page's flow).
        ClientMetadata.objects.update_or_create(
            application=confidential, defaults={"authorization_details_types": ["payment_initiation"]}
        )
        self.create_client("demo-public", "Demo public client", redirect_uris)
        self.create_client(
            "demo-trusted", "Demo trusted client", redirect_uris, TRUSTED_SECRET, skip_authorization=True
        )
        # The home page's private_key_jwt and signed request object flows: no usable secret,
        # the public half of settings.DEMO_RP_PRIVATE_KEY registered as its JWK Set.
        key_client = self.create_client(
            "demo-private-key-jwt", "Demo private_key_jwt client", redirect_uris, secrets.token_urlsafe(32)
        )
        ClientMetadata.objects.update_or_create(
            application=key_client,
            defaults={
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": client_public_jwks(settings.DEMO_RP_PRIVATE_KEY),
            },
        )
        # A public client whose access tokens are always DPoP-bound (RFC 9449), as AT Protocol clients are.
        dpop = self.create_client("demo-dpop", "Demo DPoP client", redirect_uris)
        ClientMetadata.objects.update_or_create(application=dpop, defaults={"dpop_bound_access_tokens": True})
        self.print_instructions(f"http://127.0.0.1:{port}", redirect_uris)

    def create_user(self):
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = True
        user.save()

    def create_client(self, client_id, name, redirect_uris, secret=None, skip_authorization=False):
        """A client of the authorization-code grant; confidential when it has a secret."""
        fields = {
            "name": name,
            "client_type": Application.CLIENT_CONFIDENTIAL if secret else Application.CLIENT_PUBLIC,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": " ".join(redirect_uris),
            "algorithm": Application.RS256_ALGORITHM,
            "skip_authorization": skip_authorization,
        }
        if secret:
            # Given in plain text; with hash_client_secret DOT stores only a hash.
            fields.update(client_secret=secret, hash_client_secret=True)
        application = Application.objects.filter(client_id=client_id).first() or Application(client_id=client_id)
        for field, value in fields.items():
            setattr(application, field, value)
        application.full_clean()
        application.save()
        return application

    def print_instructions(self, base_url, redirect_uris):
        # A fresh PKCE pair (RFC 7636, S256), state and nonce on every start.
        code_verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(code_verifier.encode()).digest()
        code_challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        credentials = f"demo-confidential:{CONFIDENTIAL_SECRET}"
        push = curl_post(
            f"{base_url}/o/par/",
            credentials,
            response_type="code",
            redirect_uri=redirect_uris[0],
            scope="openid read",
            state=secrets.token_urlsafe(12),
            nonce=secrets.token_urlsafe(12),
            code_challenge=code_challenge,
            code_challenge_method="S256",
        )
        exchange = curl_post(
            f"{base_url}/o/token/",
            credentials,
            grant_type="authorization_code",
            code="CODE",
            redirect_uri=redirect_uris[0],
            code_verifier=code_verifier,
        )
        self.stdout.write(
            f"""
django-par example identity provider: {base_url}/

  Open {base_url}/ to start any kind of flow with one click (the demo relying party),
  or push by hand as below.

  Demo user      demo / demo  (a superuser too: try {base_url}/admin/)
  Clients        demo-confidential  secret {CONFIDENTIAL_SECRET}
                 demo-public        public: no secret, send -d client_id=demo-public instead of -u
                 demo-trusted       secret {TRUSTED_SECRET}, skips the consent page
                 demo-private-key-jwt  private_key_jwt with the key in example_project/demo-rp.key
                 demo-dpop          public, DPoP-bound tokens (RFC 9449): push and redeem with a DPoP proof
  Protected API  {base_url}/api/me/  (scope read; Bearer, or DPoP with a proof for a bound token)
  Redirect URIs  {"  ".join(redirect_uris)}

1. Push an authorization request; the answer is 201 with a request_uri:

{push}

2. Within {par_settings.REQUEST_URI_LIFETIME} seconds, open this in a browser with REQUEST_URI replaced
   by the request_uri of the answer, and sign in as demo / demo:

{base_url}/o/authorize/?client_id=demo-confidential&request_uri=REQUEST_URI

3. Exchange the code shown on the callback page (replace CODE) for tokens:

{exchange}
"""
        )


def curl_post(url, credentials, **fields):
    """A curl command posting form fields with HTTP Basic auth, quoted for a POSIX shell."""
    lines = [f"curl -s -u {shlex.quote(credentials)}"]
    lines += [f"  -d {shlex.quote(f'{name}={value}')}" for name, value in fields.items()]
    lines.append(f"  {url}")
    return " \\\n".join(lines)
