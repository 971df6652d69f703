"""Settings of the example identity provider. For local trials only: DEBUG is on
and the secret key is public."""

import os
from pathlib import Path

from jwcrypto import jwk

BASE_DIR = Path(__file__).resolve().parent


def oidc_signing_key(path: Path) -> str:
    """An RSA private key in PEM, created on first run (the files are gitignored)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    pem = jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(pem)
    return pem.decode()


SECRET_KEY = "example-project-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "example_project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"  # the admin shows times with their zone; Django's default is America/Chicago

INSTALLED_APPS = [
    "example_project.demo",  # first, so its registration/login.html is the one used
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "django_par",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "example_project.demo.csp.ContentSecurityPolicyMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django_par.flow.session.login_hint",
                "example_project.demo.csp.csp_nonce",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}

STATIC_URL = "static/"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    # Clients authenticate at /o/token/ through django_par's pipeline, as at /o/par/: JWT
    # assertions too, and a hashed secret checked the slow way once, then cached.
    "OAUTH2_VALIDATOR_CLASS": "django_par.clients.validator.OAuth2Validator",
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": oidc_signing_key(BASE_DIR / "oidc.key"),
    "SCOPES": {
        "openid": "Sign you in (OpenID Connect)",
        "profile": "See your profile",
        "read": "Read your data",
        "write": "Change your data",
    },
}

DJANGO_PAR = {
    # Longer than the default 90 seconds: time to copy the request_uri into a browser.
    "REQUEST_URI_LIFETIME": 300,
    # RFC 9396: the one authorization_details type the example accepts (demo-confidential may push it).
    "AUTHORIZATION_DETAILS_TYPES": {"payment_initiation": "example_project.demo.details.payment_initiation"},
}

# The demo relying party's own key (client demo-private-key-jwt): signs its client
# assertions and request objects. Created on first run; setup_demo registers its public half.
DEMO_RP_PRIVATE_KEY = oidc_signing_key(BASE_DIR / "demo-rp.key")
